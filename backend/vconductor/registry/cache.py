"""Where the registry keeps its models and what it calls them: the cache folder, names, the index, entries."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from ..contract import atomic_output

KINDS = ("generator", "m2snet", "discriminator")
DEFAULT_URL_BASE = "https://github.com/ChenDelong1999/VirtualConductor/raw/main/"
URL_BASE_ENV = "VCONDUCTOR_MODEL_URL_BASE"
HOME_ENV = "VCONDUCTOR_HOME"
INDEX_VERSION = 1
RESERVED_NAMES = ("procedural",)  # models that need no checkpoint

OFFICIAL_MODELS = {
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
NAME_RE = re.compile(r"[a-z0-9][a-z0-9._-]*")
MAX_NAME_LEN = 64
# A name ending like a weights file would be read as a path by resolve_model, so it is refused as a name.
FILE_SUFFIXES = (".pt", ".pth", ".ckpt", ".bin", ".pkl", ".tar", ".zip")
HOW_TO_ADD = (
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
        for known_name, info in OFFICIAL_MODELS.items():
            if info["md5"] == self.md5:
                return known_name
        prefix = "" if self.registered else "file:"
        return f"{prefix}{self.name}@{self.md5[:8]}"


def home() -> Path:
    """The cache folder: $VCONDUCTOR_HOME, else the platform's user cache folder (on Linux
    $XDG_CACHE_HOME/vconductor, else ~/.cache/vconductor)."""
    explicit = os.environ.get(HOME_ENV)
    if explicit:
        return Path(explicit).expanduser()
    return Path(platformdirs.user_cache_dir("vconductor"))


def models_dir() -> Path:
    return home() / "models"


def index_path() -> Path:
    return models_dir() / "index.json"


def known_models() -> dict[str, dict]:
    """The official models: name -> {"path" (in the official repository), "md5", "kind", "url"}."""
    base = url_base()
    return {name: {**info, "url": base + info["path"]} for name, info in OFFICIAL_MODELS.items()}


def url_base() -> str:
    base = os.environ.get(URL_BASE_ENV) or DEFAULT_URL_BASE
    return base if base.endswith("/") else base + "/"


def check_name(name: str) -> str:
    if not isinstance(name, str) or not name:
        raise RegistryError("a model name must be a non-empty string")
    if len(name) > MAX_NAME_LEN:
        raise RegistryError(f"model name is too long ({len(name)} characters, at most {MAX_NAME_LEN})")
    if name in RESERVED_NAMES:
        raise RegistryError(f"{name!r} is the built-in procedural conductor; choose another name")
    if not NAME_RE.fullmatch(name) or name.endswith(FILE_SUFFIXES):
        raise RegistryError(
            f"invalid model name {name!r}: use lowercase letters, digits, '.', '_' and '-', starting with a "
            "letter or digit, and nothing that looks like a file name or path"
        )
    return name


def one_line(text: str) -> str:
    return " ".join(line.strip() for line in str(text).splitlines() if line.strip())


def read_index() -> dict[str, dict]:
    path = index_path()
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


def write_index(models: dict[str, dict]) -> None:
    text = json.dumps({"version": INDEX_VERSION, "models": models}, indent=2) + "\n"
    try:
        with atomic_output(index_path()) as tmp:
            tmp.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise RegistryError(f"cannot write the model index {index_path()}: {exc.strerror or exc}") from None


def entry_from_record(name: str, record: dict) -> ModelEntry:
    return ModelEntry(
        name=name,
        kind=record["kind"],
        path=models_dir() / record["file"],
        md5=record["md5"],
        source=record.get("source", ""),
    )
