"""The registry's operations: list, add, pull, remove and resolve models, and the checks a model passes."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from contextlib import contextmanager, suppress
from datetime import datetime, timezone
from pathlib import Path

from ..contract import atomic_output, missing_folders, remove_empty_folders
from .cache import (
    FILE_SUFFIXES,
    HOW_TO_ADD,
    KINDS,
    OFFICIAL_MODELS,
    ModelEntry,
    RegistryError,
    check_name,
    entry_from_record,
    index_path,
    models_dir,
    one_line,
    read_index,
    url_base,
    write_index,
)

MAX_DOWNLOAD_BYTES = 200 * 1024 * 1024  # the official files are under 2 MB; anything huge is not a checkpoint


def list_models() -> list[ModelEntry]:
    """The registered models, sorted by name."""
    return [entry_from_record(name, record) for name, record in sorted(read_index().items())]


def add_model(name: str, path, *, force: bool = False) -> ModelEntry:
    """Register a checkpoint file under `name` (copied into the cache after checking that it loads)."""
    check_name(name)
    _refuse_existing(name, force)
    src = Path(path).expanduser()
    if not src.is_file():
        raise RegistryError(f"no such file: {src}")
    with _new_folders_removed_on_failure(index_path()):
        return _install(name, src, source=str(src.resolve()))


def pull_model(
    name: str, url: str | None = None, *, progress: bool = True, force: bool = False
) -> ModelEntry:
    """Download a checkpoint and register it; official names are checked against their md5."""
    check_name(name)
    _refuse_existing(name, force)
    if url is None:
        if name not in OFFICIAL_MODELS:
            raise RegistryError(
                f"{name!r} is not an official model ({', '.join(OFFICIAL_MODELS)}): give its URL with --url"
            )
        url = url_base() + OFFICIAL_MODELS[name]["path"]
    with _new_folders_removed_on_failure(index_path()), _download_folder(name) as folder:
        downloaded = _download(url, Path(folder), name=name, progress=progress)
        return _install(name, downloaded, source=url)


def remove_model(name: str) -> None:
    """Unregister `name` and delete its cached file."""
    models = read_index()
    if name not in models:
        raise RegistryError(f"no model named {name!r} is registered{_registered_suffix(models)}")
    record = models.pop(name)
    write_index(models)  # unregister first: a leftover file is harmless, a dangling entry is not
    (models_dir() / record["file"]).unlink(missing_ok=True)


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
        found, needed = _with_article(entry.kind), _with_article(kind)
        raise RegistryError(f"{_describe(entry)} is {found} checkpoint, but {needed} is needed here")
    return entry


def default_model(kind: str = "generator") -> ModelEntry | None:
    """The official model of `kind` if registered, else the first registered one of `kind`, else None."""
    models = read_index()
    official = [name for name, info in OFFICIAL_MODELS.items() if info["kind"] == kind]
    for name in [*official, *models]:  # the index keeps registration order
        if name in models and models[name]["kind"] == kind:
            return entry_from_record(name, models[name])
    return None


# ---------------------------------------------------------------------------------------------- registering


def _refuse_existing(name: str, force: bool) -> None:
    if not force and name in read_index():
        raise RegistryError(
            f"a model named {name!r} is already registered (use --force / force=True to replace it)"
        )


def _install(name: str, src: Path, *, source: str) -> ModelEntry:
    """Copy `src` into the cache as `name` once the copy passes the checks, and record it in the index.

    The copy is what gets checked, not the source: the copy is what gets registered. All or nothing: a
    previous file of that name is set aside, not deleted, until the index is written, and any failure (the
    index write included) removes the new file and puts the previous one back; the index itself is replaced
    whole or not at all. A leftover file is harmless, a dangling entry is not, so the file goes first."""
    target = models_dir() / f"{name}.pt"
    previous: Path | None = None  # the file `name` had before, set aside
    installed = False
    try:
        try:
            with atomic_output(target) as tmp:
                _copy(src, tmp)
                record = _checked_record(name, tmp, source=source)
                previous = _set_aside(target)
            installed = True
        except OSError as exc:
            raise _cache_write_error(exc) from None
        models = read_index()
        models[name] = record
        write_index(models)
    except BaseException:
        with suppress(OSError):  # the first error is the one to report
            if installed:
                target.unlink(missing_ok=True)
            if previous is not None:
                os.replace(previous, target)
        raise
    if previous is not None:
        with suppress(OSError):  # registered already; a leftover hidden file is harmless
            previous.unlink(missing_ok=True)
    return entry_from_record(name, record)


def _copy(src: Path, dst: Path) -> None:
    try:
        shutil.copyfile(src, dst)
    except OSError as exc:
        raise RegistryError(f"cannot copy {src} into the model cache: {exc.strerror or exc}") from None


def _set_aside(path: Path) -> Path | None:
    """Rename an existing `path` to a hidden name beside it (returned), or None when there is none."""
    if not os.path.lexists(path):
        return None
    aside = path.with_name(f".{path.name}.{secrets.token_hex(4)}.previous")
    os.replace(path, aside)
    return aside


@contextmanager
def _new_folders_removed_on_failure(path: Path):
    """On a failure, remove the folders that writing `path` creates, if left empty."""
    made = missing_folders([path])
    try:
        yield
    except BaseException:
        remove_empty_folders(made)  # those left empty: something else may have been written there meanwhile
        raise


def _checked_record(name: str, copy: Path, *, source: str) -> dict:
    """The index record for `copy` once its md5, kind and loading are checked; errors name `source`."""
    md5 = _md5(copy)
    _check_known_md5(name, md5, source)
    kind = _detect_kind(copy, label=source)
    known_kind = OFFICIAL_MODELS.get(name, {}).get("kind", kind)
    if kind != known_kind:  # cannot happen with the right md5; guards against a wrong table entry
        raise RegistryError(
            f"{source} is {_with_article(kind)} checkpoint, but {name!r} must be {_with_article(known_kind)}"
        )
    _verify_loads(copy, kind, label=source)
    return {
        "kind": kind,
        "file": f"{name}.pt",
        "md5": md5,
        "source": source,
        "added": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def _md5(path: Path) -> str:
    import pooch

    return pooch.file_hash(str(path), alg="md5")


def _check_known_md5(name: str, md5: str, source: Path | str) -> None:
    info = OFFICIAL_MODELS.get(name)
    if info and md5 != info["md5"]:
        raise RegistryError(f"{_not_official(name, source)}: md5 is {md5}, expected {info['md5']}")


def _not_official(name: str, source: Path | str) -> str:
    return f"{source} is not the official model {name!r} ({_official_file_name(name)})"


def _official_file_name(name: str) -> str:
    return Path(OFFICIAL_MODELS[name]["path"]).name


def _detect_kind(path: Path, label: str | None = None) -> str:
    """The checkpoint's kind from its metadata or its state-dict keys (reads the file with torch).

    `label` names the file in messages when `path` is a temporary copy the user never saw."""
    from ..models.checkpoints import CheckpointError, checkpoint_kind, read_state_dict

    label = label or str(path)
    try:
        state, meta = read_state_dict(path)
    except CheckpointError as exc:
        reason = one_line(str(exc).replace(str(path), label))
        raise RegistryError(f"not a vconductor/VirtualConductor checkpoint: {reason}") from None
    kind = checkpoint_kind(state, meta)
    if kind is None:
        raise RegistryError(f"{label} is not a vconductor/VirtualConductor checkpoint (no known layer names)")
    return kind


def _verify_loads(path: Path, kind: str, label: str) -> None:
    """Load the file into a fresh model: a registered checkpoint must actually work."""
    from ..models import CheckpointError, load_discriminator, load_generator, load_m2snet

    loader = {"generator": load_generator, "m2snet": load_m2snet, "discriminator": load_discriminator}[kind]
    try:
        loader(path, device="cpu")
    except CheckpointError as exc:
        raise RegistryError(one_line(str(exc).replace(str(path), label))) from None  # names the file


def _cache_write_error(exc: OSError) -> RegistryError:
    return RegistryError(f"cannot write to the model cache {models_dir()}: {exc.strerror or exc}")


# ---------------------------------------------------------------------------------------------- downloading


def _download_folder(name: str) -> tempfile.TemporaryDirectory:
    """A scratch folder in the models folder for one download, removed with everything in it."""
    try:
        models_dir().mkdir(parents=True, exist_ok=True)
        return tempfile.TemporaryDirectory(prefix=f".{name}.", suffix=".download", dir=models_dir())
    except OSError as exc:
        raise _cache_write_error(exc) from None


def _download(url: str, folder: Path, *, name: str, progress: bool) -> Path:
    """Download `url` into `folder`, checked against the official md5 for an official name."""
    from .download import ChecksumMismatch, DownloadError, DownloadTooLarge, download_checkpoint

    official_md5 = OFFICIAL_MODELS.get(name, {}).get("md5")
    try:
        return download_checkpoint(
            url, folder, md5=official_md5, max_bytes=MAX_DOWNLOAD_BYTES, progress=progress
        )
    except ChecksumMismatch:
        raise RegistryError(
            f"{_not_official(name, url)}: its md5 differs from the expected {official_md5}"
        ) from None
    except DownloadTooLarge as exc:
        raise RegistryError(str(exc)) from None
    except DownloadError as exc:
        raise RegistryError(
            f"{exc}; if you are offline, download the file by other means and run "
            f"`vconductor models add {name} PATH`"
        ) from None


# ------------------------------------------------------------------------------------------ resolving names


def _looks_like_path(text: str) -> bool:
    return "/" in text or "\\" in text or text.startswith(("~", ".")) or text.endswith(FILE_SUFFIXES)


def _registered(name: str) -> ModelEntry:
    models = read_index()
    if name not in models:
        if name in OFFICIAL_MODELS:
            raise RegistryError(
                f"the official model {name!r} is not registered: run `vconductor models pull {name}`, or "
                f"download {_official_file_name(name)} and run `vconductor models add {name} PATH`"
            )
        raise RegistryError(
            f"{name!r} is neither a checkpoint file nor a registered model{_registered_suffix(models)}; "
            + HOW_TO_ADD
        )
    entry = entry_from_record(name, models[name])
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


def _with_article(kind: str) -> str:
    return f"an {kind}" if kind == "m2snet" else f"a {kind}"  # "an em-two-s-net"
