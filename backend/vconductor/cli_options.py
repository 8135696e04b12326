"""Command-line options generated from config dataclasses, so that each option is written once: in its field.

A field ``max_steps: int | None = None`` becomes ``--max-steps`` with type int and default None; ``tuple[X, X]``
takes two values, a ``Literal`` gives the choices, and a ``bool`` is a switch away from its default (a True
default needs a ``flags=("--no-...",)``). :func:`option` adds the help and whatever else argparse should hear
(``flags``, ``metavar``, ``required``, ``positional``, ``exclusive`` = the name of a mutually exclusive group);
``cli=False`` keeps a field off the command line. A subclass may override a field's default alone: the help and
settings are then the parent's. Only the standard library is imported here: every command's parser is built
on each start.
"""

import argparse
import dataclasses
import typing
from types import UnionType
from typing import Any


def option(default: Any = dataclasses.MISSING, help: str | None = None, **settings) -> Any:
    """A dataclass field with its command-line help and argparse settings in the field's metadata."""
    return dataclasses.field(default=default, metadata={"help": help, **settings})


def add_options(parser: argparse.ArgumentParser, config_class) -> None:
    """One command-line option per field of the dataclass `config_class`, in field order."""
    hints = typing.get_type_hints(config_class)
    groups: dict[str, Any] = {}
    for field in dataclasses.fields(config_class):
        settings = dict(_metadata(config_class, field.name))
        if not settings.pop("cli", True):
            continue
        target = parser
        if group := settings.pop("exclusive", None):
            target = groups.get(group) or groups.setdefault(group, parser.add_mutually_exclusive_group())
        if settings.pop("positional", False):
            target.add_argument(field.name, **settings)
            continue
        flags = settings.pop("flags", None) or ("--" + field.name.replace("_", "-"),)
        target.add_argument(*flags, dest=field.name, **_value_settings(hints[field.name], field), **settings)


def from_args(config_class, args: argparse.Namespace, **values):
    """The dataclass `config_class` built from what :func:`add_options` parsed (and `values` besides)."""
    for field in dataclasses.fields(config_class):
        if _metadata(config_class, field.name).get("cli", True) and hasattr(args, field.name):
            value = getattr(args, field.name)  # nargs gives a list where the field is a tuple
            values.setdefault(field.name, tuple(value) if isinstance(value, list) else value)
    return config_class(**values)


def _metadata(config_class, name: str):
    """The field's metadata, or that of the nearest parent dataclass that gave the field some."""
    for klass in config_class.__mro__:
        field = getattr(klass, "__dataclass_fields__", {}).get(name)
        if field is not None and field.metadata:
            return field.metadata
    return {}


def _value_settings(hint, field: dataclasses.Field) -> dict:
    """type, default, nargs and choices (or the store action of a switch) from the field's type and default."""
    default = field.default if field.default_factory is dataclasses.MISSING else field.default_factory()
    if typing.get_origin(hint) in (UnionType, typing.Union):  # X | None: an optional value of type X
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    if hint is bool:
        return {"action": "store_false" if default else "store_true"}
    settings: dict[str, Any] = {"default": default}
    if typing.get_origin(hint) is typing.Literal:
        settings["choices"] = list(typing.get_args(hint))
        hint = type(settings["choices"][0])
    elif typing.get_origin(hint) is tuple:
        settings["nargs"] = len(typing.get_args(hint))
        hint = typing.get_args(hint)[0]
    if hint is not str:
        settings["type"] = hint
    return settings
