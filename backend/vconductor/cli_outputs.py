"""Where `vconductor generate` writes, decided before any work, and writing it whole or not at all.

`-o OUT` means:
- the file OUT itself when there is one input file and OUT ends in .npz, .json or .csv (the suffix is the format);
- otherwise a folder (made when needed) that gets `<name>.<format>` for each input and each `--format`, where
  `<name>` is the input's stem, or its whole file name when two inputs share a stem (a.wav, a.flac).

Refused with one line before any audio is read: a motion suffix with several inputs or a folder input (unless OUT
is an existing folder), any other suffix with one input file (`-o video.mp4`: video is `vconductor preview`'s
job) unless OUT is an existing folder or ends with a slash, `--format` beside a file OUT of another format, OUT
or a folder above it being a file or not writable, and two inputs that would write the same file (d1/x.wav and
d2/x.wav): a run never overwrites its own results.

The files of one input are written to temp files first and moved into place together, so a failure (a full
disk, a file-size limit) leaves none of them; folders this run made and left empty are removed again.
"""

import os
import re
import sys
from contextlib import ExitStack
from pathlib import Path

from .contract import MOTION_FORMATS, Motion, atomic_output, motion_to_bytes

# The temp name `contract.atomic_output` gives `name`: never shown to the user, who only knows `name`.
_TEMP_NAME = re.compile(r"^\.(?P<name>.+)\.[0-9a-f]{8}\.tmp$")
_PREVIEW_SUFFIXES = (".mp4", ".gif", ".png")  # what `vconductor preview` writes (preview.SUFFIXES)
_CASE_INSENSITIVE_FS = sys.platform in ("darwin", "win32")  # their default file systems ignore case


class OutputError(Exception):
    """A problem with where results go, as one line naming the file."""


def output_formats(spec: str | None, allowed: tuple[str, ...] = MOTION_FORMATS) -> list[str] | None:
    """`--format npz,json` as [".npz", ".json"] (duplicates dropped), or None when not given."""
    if spec is None:
        return None
    formats = list(dict.fromkeys("." + f.strip().lstrip(".").lower() for f in spec.split(",") if f.strip()))
    names = ", ".join(f[1:] for f in allowed)
    if bad := [f[1:] for f in formats if f not in allowed]:
        raise OutputError(f"unknown format(s) {', '.join(bad)}: use {names}")
    if not formats:
        raise OutputError(f"--format is empty: use {names}")
    return formats


def plan_outputs(
    output: str,
    inputs: list[Path],
    single_file: bool,
    formats: list[str] | None,
    allowed: tuple[str, ...] = MOTION_FORMATS,
    tag: str = "",
) -> list[tuple[Path, ...]]:
    """The files each input will write (same order as `inputs`), or OutputError before any work. `allowed` are
    the formats (the first is the default in a folder); `tag` goes before the suffix there (x.beats.json)."""
    out = Path(output)
    suffix = out.suffix.lower()
    names_a_folder = out.is_dir() or output.endswith(("/", os.sep))
    kind = "beats file" if tag == ".beats" else "motion file"
    use = ", ".join(allowed[:-1]) + f" or {allowed[-1]}"
    if single_file and not names_a_folder:
        if suffix in allowed:
            if formats not in (None, [suffix]):
                raise OutputError(
                    f"{out}: --format is for folder output; a file output is written in its suffix's format"
                )
            _check_writable(out.parent)
            return [(out,)]
        if suffix in _PREVIEW_SUFFIXES and allowed == MOTION_FORMATS:
            raise OutputError(
                f"{out}: not a motion file (use .npz, .json or .csv); for {suffix[1:]}, write a .npz and run "
                f"`vconductor preview MOTION -o {out.name}`"
            )
        if suffix:
            raise OutputError(f"{out}: not a {kind} (use {use}, or end it with / for a folder)")
    elif suffix in allowed and not names_a_folder:
        raise OutputError(f"{out}: several inputs (or a folder) need an output folder, not a {suffix} file")
    if out.exists() and not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder")
    _check_writable(out)
    names = _output_names(inputs)
    plan = [tuple(out / f"{name}{tag}{fmt}" for fmt in formats or [allowed[0]]) for name in names]
    _refuse_collisions(inputs, plan)
    return plan


def _output_names(inputs: list[Path]) -> list[str]:
    stems = [f.stem for f in inputs]
    return [f.name if stems.count(f.stem) > 1 else f.stem for f in inputs]


def _refuse_collisions(inputs: list[Path], plan: list[tuple[Path, ...]]) -> None:
    """Two inputs writing one file would keep only the last result while reporting both as written."""
    writer: dict[str, int] = {}  # output path -> index of the input that writes it
    for index, (source, targets) in enumerate(zip(inputs, plan, strict=True)):
        for target in targets:
            key = str(target).casefold() if _CASE_INSENSITIVE_FS else str(target)
            if (first_index := writer.setdefault(key, index)) != index:
                first = inputs[first_index]
                if _same_file(first, source):
                    raise OutputError(f"{source}: given twice")
                raise OutputError(
                    f"{first} and {source} would both be written to {target}: "
                    "rename one, or generate them into different -o folders"
                )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve()
    except OSError:
        return str(a) == str(b)


def _check_writable(folder: Path) -> None:
    """Refuse a folder that cannot be made or written in, from its nearest existing ancestor."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if existing == folder and not existing.is_dir():
        raise OutputError(f"{folder}: exists and is not a folder")
    if not existing.is_dir():
        raise OutputError(f"{existing}: is a file, so the folder {folder} cannot be made")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{existing}: cannot write in this folder (permission denied)")


def write_motion_files(motion: Motion, targets: tuple[Path, ...]) -> None:
    """Write `motion` to every target or to none: all go to temp files first, then are moved into place."""
    current = targets[0]
    try:
        with ExitStack() as stack:
            for current in targets:
                content = motion_to_bytes(motion, current.suffix)
                tmp = stack.enter_context(atomic_output(current))
                with open(tmp, "xb") as f:
                    f.write(content)
    except OSError as exc:
        raise OutputError(os_error_line(exc, current, "cannot write")) from None


def os_error_line(exc: OSError, fallback=None, action: str = "") -> str:
    """'PATH: cannot write (File too large)': the file the user named, never an internal temp path.

    An OSError raised with a message of ours (no errno) already says everything and is returned as it is."""
    if exc.errno is None:
        return str(exc)
    where = exc.filename2 or exc.filename or fallback
    if where is not None:
        where = Path(os.fsdecode(where))
        if match := _TEMP_NAME.match(where.name):
            where = where.with_name(match["name"])
    reason = exc.strerror or str(exc) or type(exc).__name__
    if action:
        reason = f"{action} ({reason})"
    return f"{where}: {reason}" if where is not None else reason
