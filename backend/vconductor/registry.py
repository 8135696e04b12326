"""A user-side model registry: checkpoints registered by name in a user cache.

The official VirtualConductor weights may not be redistributed, so vconductor never bundles them: a user
registers a file they downloaded (``vconductor models add official PATH``) or pulls it from the official
repository (``vconductor models pull official``). Files live in ``<home>/models/<name>.pt`` with an index in
``<home>/models/index.json``; every write goes to a temporary file in the same folder and is then moved into
place with ``os.replace``, so a crash never leaves a half-written model or index behind.

Only the standard library is imported at module level: the CLI imports this module on every start, and torch
is needed only when a checkpoint is actually inspected.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import secrets
import shutil
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from .files import atomic_output

__all__ = [
    "DEFAULT_URL_BASE",
    "KINDS",
    "ModelEntry",
    "RegistryError",
    "add_cli",
    "add_model",
    "default_model",
    "home",
    "known_models",
    "list_models",
    "pull_model",
    "remove_model",
    "resolve_model",
]

KINDS = ("generator", "m2snet", "discriminator")
DEFAULT_URL_BASE = "https://github.com/ChenDelong1999/VirtualConductor/raw/main/"
URL_BASE_ENV = "VCONDUCTOR_MODEL_URL_BASE"
HOME_ENV = "VCONDUCTOR_HOME"
DOWNLOAD_TIMEOUT_S = 30
MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024  # the official files are under 2 MB; anything huge is not a checkpoint
INDEX_VERSION = 1

_KNOWN = {
    "official": {
        "path": "checkpoints/M2SGAN/M2SGAN_official_pretrained.pt",
        "md5": "3044c029229a81cc7ffb1e6836d61e5d",
        "kind": "generator",
    },
    "m2snet-official": {
        "path": "checkpoints/M2SNet/M2SNet_official_pretrained.pt",
        "md5": "c29ae26cf88b2dc3cce87c6b8175734b",
        "kind": "m2snet",
    },
    "m2snet-test-official": {
        "path": "checkpoints/M2SNet/M2SNet_test_official_pretrained.pt",
        "md5": "f0a3e88d1029ceca3af6ea797531a0c9",
        "kind": "m2snet",
    },
}
# State-dict key prefixes (in vconductor's names) that identify each kind; checked in this order.
_KIND_PREFIXES = (
    ("generator", ("decoder.", "noise_upsampler.")),
    ("m2snet", ("motion_encoder.", "fusion.")),
    ("discriminator", ("conv.", "mlp.")),
)
_NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
_MAX_NAME_LEN = 64
# A name ending like a weights file would be read as a path by resolve_model, so it is refused as a name.
_FILE_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".pkl", ".tar", ".zip")
_HOW_TO_ADD = (
    "register one with `vconductor models add NAME PATH`, or fetch the official generator with "
    "`vconductor models pull official`"
)


class RegistryError(Exception):
    """A registry operation that cannot be done, with a one-line message meant for the user."""


@dataclass(frozen=True)
class ModelEntry:
    """A checkpoint usable by name (registered) or by path (``registered=False``)."""

    name: str
    kind: str  # "generator" | "m2snet" | "discriminator"
    path: Path
    md5: str
    source: str  # where it came from: a file path or a URL
    registered: bool = True

    @property
    def id(self) -> str:
        """A stable id to record in outputs: the official name for a byte-identical official file, else
        ``name@md5[:8]`` (registered) or ``file:stem@md5[:8]`` (used by path)."""
        for known_name, info in _KNOWN.items():
            if info["md5"] == self.md5:
                return known_name
        prefix = "" if self.registered else "file:"
        return f"{prefix}{self.name}@{self.md5[:8]}"


# ---------------------------------------------------------------------------------------------- locations


def home() -> Path:
    """The cache folder: $VCONDUCTOR_HOME, else $XDG_CACHE_HOME/vconductor, else ~/.cache/vconductor."""
    explicit = os.environ.get(HOME_ENV)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    if xdg and Path(xdg).is_absolute():  # the XDG spec says to ignore relative values
        return Path(xdg) / "vconductor"
    return Path.home() / ".cache" / "vconductor"


def _models_dir() -> Path:
    return home() / "models"


def _index_path() -> Path:
    return _models_dir() / "index.json"


def known_models() -> dict[str, dict]:
    """The official models: name -> {"path" (in the official repository), "md5", "kind", "url"}."""
    base = _url_base()
    return {name: {**info, "url": base + info["path"]} for name, info in _KNOWN.items()}


def _url_base() -> str:
    base = os.environ.get(URL_BASE_ENV) or DEFAULT_URL_BASE
    return base if base.endswith("/") else base + "/"


# ------------------------------------------------------------------------------------------------ helpers


RESERVED_NAMES = ("procedural",)  # models that need no checkpoint


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise RegistryError("a model name must be a non-empty string")
    if len(name) > _MAX_NAME_LEN:
        raise RegistryError(f"model name is too long ({len(name)} characters, at most {_MAX_NAME_LEN})")
    if name in RESERVED_NAMES:
        raise RegistryError(f"{name!r} is the built-in procedural conductor; choose another name")
    if not _NAME_RE.fullmatch(name) or name.endswith(_FILE_SUFFIXES):
        raise RegistryError(
            f"invalid model name {name!r}: use lowercase letters, digits, '.', '_' and '-', starting with a "
            "letter or digit, and nothing that looks like a file name or path"
        )
    return name


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _one_line(text: str) -> str:
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


def _detect_kind(path: Path, label: str | None = None) -> str:
    """The checkpoint's kind from its metadata or its state-dict keys (reads the file with torch).

    `label` names the file in messages when `path` is a temporary copy the user never saw."""
    from .models.checkpoints import CheckpointError, read_state_dict

    label = label or str(path)
    try:
        state, meta = read_state_dict(path)
    except CheckpointError as exc:
        reason = _one_line(str(exc).replace(str(path), label))
        raise RegistryError(f"not a vconductor/VirtualConductor checkpoint: {reason}") from None
    if meta.get("kind") in KINDS:
        return meta["kind"]
    for kind, prefixes in _KIND_PREFIXES:
        if any(key.startswith(prefixes) for key in state):
            return kind
    raise RegistryError(f"{label} is not a vconductor/VirtualConductor checkpoint (no known layer names)")


def _verify_loads(path: Path, kind: str, label: str) -> None:
    """Load the file into a fresh model: a registered checkpoint must actually work."""
    from .models import CheckpointError, load_discriminator, load_generator, load_m2snet

    loader = {"generator": load_generator, "m2snet": load_m2snet, "discriminator": load_discriminator}[kind]
    try:
        loader(path, device="cpu")
    except CheckpointError as exc:
        raise RegistryError(_one_line(str(exc).replace(str(path), label))) from None  # names the file


def _check_known_md5(name: str, md5: str, path: Path | str) -> None:
    info = _KNOWN.get(name)
    if info and md5 != info["md5"]:
        raise RegistryError(
            f"{path} is not the official model {name!r} ({Path(info['path']).name}): md5 is {md5}, "
            f"expected {info['md5']}"
        )


# -------------------------------------------------------------------------------------------------- index


def _read_index() -> dict[str, dict]:
    path = _index_path()
    if not path.exists():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        models = data["models"]
        if not isinstance(models, dict):
            raise TypeError("'models' is not an object")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise RegistryError(f"the model index {path} is unreadable ({exc}); fix or delete it") from None
    return models


def _write_index(models: dict[str, dict]) -> None:
    text = json.dumps({"version": INDEX_VERSION, "models": models}, indent=2) + "\n"
    try:
        with atomic_output(_index_path()) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise RegistryError(f"cannot write the model index {_index_path()}: {exc.strerror or exc}") from None


def _temp_file(prefix: str) -> Path:
    """A new empty file in the models folder, so os.replace into place stays on one filesystem.

    Not tempfile.mkstemp: its files are private (0600), and the cache should follow the user's umask."""
    folder = _models_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{prefix}{secrets.token_hex(6)}.tmp"
        path.open("xb").close()
    except OSError as exc:
        raise RegistryError(f"cannot write to the model cache {folder}: {exc.strerror or exc}") from None
    return path


def _entry(name: str, record: dict) -> ModelEntry:
    return ModelEntry(
        name=name,
        kind=record["kind"],
        path=_models_dir() / record["file"],
        md5=record["md5"],
        source=record.get("source", ""),
    )


# ------------------------------------------------------------------------------------------------ the API


def list_models() -> list[ModelEntry]:
    """The registered models, sorted by name."""
    return [_entry(name, record) for name, record in sorted(_read_index().items())]


def add_model(name: str, path, *, force: bool = False) -> ModelEntry:
    """Register a checkpoint file under `name` (copied into the cache after checking that it loads)."""
    _check_name(name)
    _refuse_existing(name, force)
    src = Path(path).expanduser()
    if not src.is_file():
        raise RegistryError(f"no such file: {src}")
    tmp = _temp_file(f".{name}.")
    try:
        try:
            shutil.copyfile(src, tmp)  # check the copy, not the source: the copy is what gets registered
        except OSError as exc:
            raise RegistryError(f"cannot copy {src} into the model cache: {exc.strerror or exc}") from None
        return _register(name, tmp, source=str(src.resolve()))
    finally:
        tmp.unlink(missing_ok=True)


def pull_model(
    name: str, url: str | None = None, *, progress: bool = True, force: bool = False
) -> ModelEntry:
    """Download a checkpoint and register it; official names are checked against their md5."""
    _check_name(name)
    _refuse_existing(name, force)
    if url is None:
        if name not in _KNOWN:
            raise RegistryError(
                f"{name!r} is not an official model ({', '.join(_KNOWN)}): give its URL with --url"
            )
        url = _url_base() + _KNOWN[name]["path"]
    tmp = _temp_file(f".{name}.")
    try:
        _download(url, tmp, name=name, progress=progress)
        return _register(name, tmp, source=url)
    finally:
        tmp.unlink(missing_ok=True)


def remove_model(name: str) -> None:
    """Unregister `name` and delete its cached file."""
    models = _read_index()
    if name not in models:
        raise RegistryError(f"no model named {name!r} is registered{_registered_suffix(models)}")
    record = models.pop(name)
    _write_index(models)  # unregister first: a leftover file is harmless, a dangling entry is not
    (_models_dir() / record["file"]).unlink(missing_ok=True)


def resolve_model(name_or_path, kind: str | None = "generator") -> ModelEntry:
    """A model from a checkpoint path (used in place) or a registered name; `kind` None accepts any kind."""
    if kind is not None and kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    path = Path(str(name_or_path)).expanduser()
    if path.is_file():
        entry = ModelEntry(
            name=path.stem,
            kind=_detect_kind(path),
            path=path.resolve(),
            md5=_md5(path),
            source=str(path.resolve()),
            registered=False,
        )
    elif isinstance(name_or_path, os.PathLike) or _looks_like_path(str(name_or_path)):
        raise RegistryError(f"no such checkpoint file: {path}" + (" (a folder)" if path.is_dir() else ""))
    else:
        entry = _registered(str(name_or_path))
    if kind is not None and entry.kind != kind:
        raise RegistryError(
            f"{_describe(entry)} is {_a(entry.kind)} checkpoint, but {_a(kind)} is needed here"
        )
    return entry


def default_model(kind: str = "generator") -> ModelEntry | None:
    """The official model of `kind` if registered, else the first registered one of `kind`, else None."""
    models = _read_index()
    official = [name for name, info in _KNOWN.items() if info["kind"] == kind]
    for name in [*official, *models]:  # the index keeps registration order
        if name in models and models[name]["kind"] == kind:
            return _entry(name, models[name])
    return None


# ---------------------------------------------------------------------------------- registering, download


def _refuse_existing(name: str, force: bool) -> None:
    if not force and name in _read_index():
        raise RegistryError(
            f"a model named {name!r} is already registered (use --force / force=True to replace it)"
        )


def _register(name: str, tmp: Path, *, source: str) -> ModelEntry:
    """Check the temporary file `tmp`, move it into place and record it in the index."""
    md5 = _md5(tmp)
    _check_known_md5(name, md5, source)
    kind = _detect_kind(tmp, label=source)
    known_kind = _KNOWN.get(name, {}).get("kind", kind)
    if kind != known_kind:  # cannot happen with the right md5; guards against a wrong table entry
        raise RegistryError(f"{source} is {_a(kind)} checkpoint, but {name!r} must be {_a(known_kind)}")
    _verify_loads(tmp, kind, label=source)
    record = {
        "kind": kind,
        "file": f"{name}.pt",
        "md5": md5,
        "source": source,
        "added": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    models = _read_index()
    models[name] = record
    try:
        os.replace(tmp, _models_dir() / record["file"])
        _write_index(models)
    except OSError as exc:
        raise RegistryError(
            f"cannot write to the model cache {_models_dir()}: {exc.strerror or exc}"
        ) from None
    return _entry(name, record)


def _download(url: str, dest: Path, *, name: str, progress: bool) -> None:
    """Stream `url` into `dest` (redirects followed, size bounded); any failure is a RegistryError."""
    from tqdm import tqdm

    offline_hint = (
        f"if you are offline, download the file by other means and run `vconductor models add {name} PATH`"
    )
    request = urllib.request.Request(url, headers={"User-Agent": "vconductor-model-registry"})
    try:
        with urllib.request.urlopen(request, timeout=DOWNLOAD_TIMEOUT_S) as response:
            total = int(response.headers.get("Content-Length") or 0) or None
            if total and total > MAX_DOWNLOAD_BYTES:
                raise RegistryError(f"{url} is {total} bytes, too large for a checkpoint")
            with (
                open(dest, "wb") as out,
                tqdm(
                    total=total,
                    unit="B",
                    unit_scale=True,
                    unit_divisor=1024,
                    desc=f"pull {name}",
                    disable=not progress,
                ) as bar,
            ):
                _copy_bounded(response, out, bar, url)
    except urllib.error.HTTPError as exc:
        raise RegistryError(
            f"could not download {url}: HTTP {exc.code} {exc.reason}; {offline_hint}"
        ) from None
    except urllib.error.URLError as exc:
        raise RegistryError(f"could not download {url}: {exc.reason}; {offline_hint}") from None
    except (OSError, ValueError) as exc:  # timeouts, resets, malformed URLs
        raise RegistryError(f"could not download {url}: {exc}; {offline_hint}") from None


def _copy_bounded(response, out, bar, url: str) -> None:
    size = 0
    for chunk in iter(lambda: response.read(1 << 16), b""):
        size += len(chunk)
        if size > MAX_DOWNLOAD_BYTES:
            raise RegistryError(
                f"{url} is larger than {MAX_DOWNLOAD_BYTES} bytes, too large for a checkpoint"
            )
        out.write(chunk)
        bar.update(len(chunk))


# --------------------------------------------------------------------------------------- resolving names


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or text.startswith(("~", ".")) or text.endswith(_FILE_SUFFIXES)


def _registered(name: str) -> ModelEntry:
    models = _read_index()
    if name not in models:
        if name in _KNOWN:
            raise RegistryError(
                f"the official model {name!r} is not registered: run `vconductor models pull {name}`, or "
                f"download {Path(_KNOWN[name]['path']).name} and run `vconductor models add {name} PATH`"
            )
        raise RegistryError(
            f"{name!r} is neither a checkpoint file nor a registered model{_registered_suffix(models)}; "
            + _HOW_TO_ADD
        )
    entry = _entry(name, models[name])
    if not entry.path.is_file():
        raise RegistryError(
            f"the file of model {name!r} is missing ({entry.path}); add it again with "
            f"`vconductor models add {name} PATH --force` or remove it"
        )
    return entry


def _registered_suffix(models: dict) -> str:
    return f" (registered: {', '.join(sorted(models))})" if models else " (no models are registered)"


def _describe(entry: ModelEntry) -> str:
    return f"model {entry.name!r}" if entry.registered else str(entry.path)


def _a(kind: str) -> str:
    return f"an {kind}" if kind == "m2snet" else f"a {kind}"  # "an em-two-s-net"


# ----------------------------------------------------------------------------------------------------- CLI


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Add the `models` subcommand (list, add, pull, remove, path) to an argparse subparsers object."""
    parser = subparsers.add_parser(
        "models",
        help="manage registered model checkpoints",
        description=f"Manage model checkpoints registered in the user cache ({home() / 'models'}).",
    )
    actions = parser.add_subparsers(dest="models_action", metavar="ACTION")
    actions.add_parser("list", help="list registered models (the default)")
    add = actions.add_parser("add", help="register a checkpoint file under a name")
    add.add_argument("name", help=f"model name (official ones: {', '.join(_KNOWN)})")
    add.add_argument("path", help="checkpoint file (.pt)")
    add.add_argument("--force", action="store_true", help="replace an existing model of that name")
    pull = actions.add_parser("pull", help="download a checkpoint and register it")
    pull.add_argument("name", help=f"model name (official ones: {', '.join(_KNOWN)})")
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
            print(_models_dir())
        else:
            raise RegistryError(f"unknown models action {action!r}")
    except RegistryError as exc:
        print(f"error: {_one_line(exc)}", file=sys.stderr)
        return 1
    return 0


def _print_table(entries: list[ModelEntry]) -> None:
    if not entries:
        print(f"no models registered in {_models_dir()}; {_HOW_TO_ADD}")
        return
    rows = [("NAME", "KIND", "MD5", "PATH")] + [(e.name, e.kind, e.md5[:8], str(e.path)) for e in entries]
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        print(
            "  ".join(cell.ljust(width) for cell, width in zip(row[:3], widths, strict=True)) + "  " + row[3]
        )


def _print_registered(entry: ModelEntry) -> None:
    print(f"registered {entry.name} ({entry.kind}, md5 {entry.md5[:8]}) at {entry.path}")
