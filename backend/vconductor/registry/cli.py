"""The `vconductor models` subcommand: list, add, pull, remove and show the path of registered models."""

from __future__ import annotations

import argparse
import sys

from .cache import HOW_TO_ADD, OFFICIAL_MODELS, ModelEntry, RegistryError, models_dir, one_line
from .operations import add_model, list_models, pull_model, remove_model


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Add the `models` subcommand (list, add, pull, remove, path) to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "models",
        help="manage registered model checkpoints",
        description=f"Manage model checkpoints registered in the user cache ({models_dir()}).",
    )
    actions = parser.add_subparsers(dest="models_action", metavar="ACTION")
    actions.add_parser("list", help="list registered models (the default)")
    add = actions.add_parser("add", help="register a checkpoint file under a name")
    add.add_argument("name", help=f"model name (official ones: {', '.join(OFFICIAL_MODELS)})")
    add.add_argument("path", help="checkpoint file (.pt)")
    add.add_argument("--force", action="store_true", help="replace an existing model of that name")
    pull = actions.add_parser("pull", help="download a checkpoint and register it")
    pull.add_argument("name", help=f"model name (official ones: {', '.join(OFFICIAL_MODELS)})")
    pull.add_argument("--url", help="download from this URL (needed for non-official names)")
    pull.add_argument("--force", action="store_true", help="replace an existing model of that name")
    remove = actions.add_parser("remove", help="unregister a model and delete its cached file")
    remove.add_argument("name")
    actions.add_parser("path", help="print the model cache folder")
    parser.set_defaults(func=_handle_cli)
    return parser


def _handle_cli(args) -> int:
    action = getattr(args, "models_action", None) or "list"
    try:
        if action == "list":
            _print_table(list_models())
        elif action == "add":
            _print_registered(add_model(args.name, args.path, force=args.force))
        elif action == "pull":
            _print_registered(pull_model(args.name, args.url, force=args.force))
        elif action == "remove":
            remove_model(args.name)
            print(f"removed {args.name}")
        elif action == "path":
            print(models_dir())
        else:
            raise RegistryError(f"unknown models action {action!r}")
    except RegistryError as exc:
        print(f"error: {one_line(exc)}", file=sys.stderr)
        return 1
    return 0


def _print_table(entries: list[ModelEntry]) -> None:
    if not entries:
        print(f"no models registered in {models_dir()}; {HOW_TO_ADD}")
        return
    rows = [("NAME", "KIND", "MD5", "PATH")] + [(e.name, e.kind, e.md5[:8], str(e.path)) for e in entries]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
        )


def _print_registered(entry: ModelEntry) -> None:
    print(f"registered {entry.name} ({entry.kind}, md5 {entry.md5[:8]}) at {entry.path}")
