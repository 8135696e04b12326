"""Motion files on disk (.npz, .json, .csv): the contract's formats, written atomically.

The layouts are defined once, in `contract` (shared with the Blender add-on); this module adds the file
system: a failure never leaves a half-written output.
"""

from pathlib import Path

from .contract import MOTION_FORMATS as FORMATS
from .contract import (
    Motion,
    MotionFileError,
    atomic_output,
    motion_from_bytes,
    motion_suffix,
    motion_to_bytes,
)

__all__ = ["FORMATS", "Motion", "MotionFileError", "load_motion", "save_motion"]


def save_motion(motion: Motion, path: str | Path) -> Path:
    """Write `motion` in the format given by the suffix of `path` (.npz, .json or .csv)."""
    path = Path(path)
    content = motion_to_bytes(motion, motion_suffix(path.name))
    with atomic_output(path) as tmp, open(tmp, "xb") as f:
        f.write(content)
    return path


def load_motion(path: str | Path) -> Motion:
    """Read a motion file written by :func:`save_motion` (any of the three formats)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: motion file not found")
    suffix = motion_suffix(path.name)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise MotionFileError(f"{path}: not a valid vconductor motion file ({exc})") from None
    return motion_from_bytes(data, suffix, name=str(path))
