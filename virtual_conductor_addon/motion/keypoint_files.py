"""A take's keypoints as the files `vconductor generate -o x.json / x.csv` writes: the same bytes, since both
sides write them with the contract's `motion_to_bytes` (so either tool's files can be compared with a diff)."""

from __future__ import annotations

import os
from pathlib import Path

from ..contract import Motion, atomic_output, motion_to_bytes
from .errors import MotionError

FORMATS = (".json", ".csv")


def write_keypoints(take: Motion, path: str | os.PathLike) -> Path:
    """Write the take to `path` (format from its suffix), atomically: a failure leaves no half-written file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise MotionError(f"Unsupported keypoint file type '{suffix}': use {' or '.join(FORMATS)}.")
    content = motion_to_bytes(take, suffix)
    with atomic_output(path) as tmp:
        tmp.write_bytes(content)
    return path
