"""Reader for the ConductorMotion100 layout: ``<root>/<split>/<name>/{mel.npy, motion.npy}``.

Each sample is ``mel.npy`` (L*90, 128) and ``motion.npy`` (L*30, 13, 2), the paper's L being 60 s. Every sample of
a split must have the same length. Everything is checked when the dataset is opened and a problem raises
:class:`DatasetError` with one line naming the file: shapes and dtypes from the .npy headers for every sample,
finite values for every sample when loaded into memory. Memory-mapped datasets (the full 100 h is ~17 GB) check
values as each sample is first read instead of reading everything at start.

Folders whose name starts with "." are ignored (unfinished samples of ``vconductor data build/synth``).
"""

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..skeleton import FPS, MEL_FRAMES_PER_MOTION_FRAME, NUM_JOINTS

MEL_FILE = "mel.npy"
MOTION_FILE = "motion.npy"
META_FILE = "meta.json"  # optional: what made the sample (ignored by the reader)
N_MELS = 128
MMAP_ABOVE_BYTES = 1 << 30  # in_memory=None loads a split into memory up to this size, memory-maps above


class DatasetError(ValueError):
    """A dataset that cannot be used, with a one-line message naming the file."""


@dataclass(frozen=True)
class Sample:
    """One music/motion pair: mel (T*3, 128) and motion (T, 13, 2), float32, read-only."""

    name: str
    mel: np.ndarray
    motion: np.ndarray


def _natural_key(name: str):
    return [
        (0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name) if part
    ]


def _header(path: Path) -> tuple[tuple[int, ...], np.dtype]:
    """Shape and dtype from a .npy header, without reading the data."""
    if not path.is_file():
        raise DatasetError(f"{path}: missing file")
    try:
        with open(path, "rb") as f:
            version = np.lib.format.read_magic(f)
            if version == (1, 0):
                shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
            else:
                shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
            data_bytes = path.stat().st_size - f.tell()
    except (ValueError, OSError, EOFError) as exc:
        raise DatasetError(f"{path}: not a readable .npy file ({exc})") from None
    if dtype.hasobject:
        raise DatasetError(f"{path}: holds Python objects, expected float32 numbers")
    if data_bytes < int(np.prod(shape)) * dtype.itemsize:
        raise DatasetError(f"{path}: truncated ({data_bytes} bytes of data for shape {shape} {dtype})")
    return tuple(shape), dtype


def _check_header(path: Path, shape: tuple[int, ...], dtype: np.dtype, trailing: tuple[int, ...]) -> int:
    """Number of frames of an array that must be (frames, *trailing) floats."""
    expected = "(frames, " + ", ".join(map(str, trailing)) + ")"
    if len(shape) != 1 + len(trailing):
        raise DatasetError(f"{path}: expected {len(trailing) + 1} dimensions {expected}, got shape {shape}")
    if tuple(shape[1:]) != trailing:
        raise DatasetError(f"{path}: expected shape {expected}, got {shape}")
    if dtype.kind != "f":
        raise DatasetError(f"{path}: expected float32 values, got dtype {dtype}")
    if shape[0] == 0:
        raise DatasetError(f"{path}: has no frames")
    return shape[0]


def _load(path: Path, mmap: bool) -> np.ndarray:
    try:
        x = np.load(path, mmap_mode="r" if mmap else None, allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise DatasetError(f"{path}: not a readable .npy file ({exc})") from None
    if x.dtype != np.float32:
        x = x.astype(np.float32)
    x.flags.writeable = False
    return x


def _check_finite(path: Path, x: np.ndarray) -> None:
    if not np.isfinite(x).all():
        bad = int(np.count_nonzero(~np.isfinite(x)))
        raise DatasetError(f"{path}: contains {bad} non-finite values (NaN or infinity)")


class ConductorMotionDataset:
    """The samples of one split, in natural name order ("2" before "10").

    `in_memory`: True loads every sample at start, False memory-maps them (read on access), None decides by
    size (memory-maps splits above 1 GiB). `limit` keeps the first `limit` samples.
    Arrays are float32 and read-only (``np.array(x)`` for a writable copy).
    """

    def __init__(self, root, split: str, *, in_memory: bool | None = None, limit: int | None = None):
        self.root = Path(root)
        self.split = split
        if not self.root.is_dir():
            raise DatasetError(f"{self.root}: dataset folder not found")
        folder = self.root / split
        if not folder.is_dir():
            found = sorted(p.name for p in self.root.iterdir() if p.is_dir() and not p.name.startswith("."))
            raise DatasetError(
                f"{folder}: split {split!r} not found (splits here: {', '.join(found) or 'none'})"
            )
        if limit is not None and limit < 1:
            raise DatasetError(f"limit must be at least 1, got {limit}")
        dirs = sorted(
            (p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")),
            key=lambda p: _natural_key(p.name),
        )
        if not dirs:
            raise DatasetError(
                f"{folder}: no samples (expected sub-folders holding {MEL_FILE} and {MOTION_FILE})"
            )
        dirs = dirs[:limit] if limit is not None else dirs
        self.names = [p.name for p in dirs]
        self._dirs = dirs

        total_bytes = 0
        motion_frames = None
        for d in dirs:
            mel_shape, mel_dtype = _header(d / MEL_FILE)
            mot_shape, mot_dtype = _header(d / MOTION_FILE)
            t_mel = _check_header(d / MEL_FILE, mel_shape, mel_dtype, (N_MELS,))
            t_mot = _check_header(d / MOTION_FILE, mot_shape, mot_dtype, (NUM_JOINTS, 2))
            if t_mel != MEL_FRAMES_PER_MOTION_FRAME * t_mot:
                raise DatasetError(
                    f"{d}: {MEL_FILE} has {t_mel} frames but {MOTION_FILE} has {t_mot}; "
                    f"expected mel frames = {MEL_FRAMES_PER_MOTION_FRAME} x motion frames"
                )
            if motion_frames is None:
                motion_frames = t_mot
            elif t_mot != motion_frames:
                raise DatasetError(
                    f"{d / MOTION_FILE}: {t_mot} frames, but {self._dirs[0] / MOTION_FILE} has {motion_frames}; "
                    "all samples of a split must have the same length"
                )
            total_bytes += (t_mel * N_MELS + t_mot * NUM_JOINTS * 2) * 4
        self.motion_frames: int = motion_frames
        self.mel_frames: int = MEL_FRAMES_PER_MOTION_FRAME * motion_frames
        self.seconds: float = motion_frames / FPS
        self.nbytes = total_bytes
        self.in_memory = total_bytes <= MMAP_ABOVE_BYTES if in_memory is None else bool(in_memory)

        self._cache: list[tuple[np.ndarray, np.ndarray]] | None = None
        self._checked = [False] * len(dirs)
        if self.in_memory:
            self._cache = [self._read(i, mmap=False) for i in range(len(dirs))]

    def _read(self, i: int, mmap: bool) -> tuple[np.ndarray, np.ndarray]:
        d = self._dirs[i]
        mel, motion = _load(d / MEL_FILE, mmap), _load(d / MOTION_FILE, mmap)
        if not self._checked[i]:
            _check_finite(d / MEL_FILE, mel)
            _check_finite(d / MOTION_FILE, motion)
            self._checked[i] = True
        return mel, motion

    def __len__(self) -> int:
        return len(self._dirs)

    def __getitem__(self, i: int) -> Sample:
        if not -len(self) <= i < len(self):
            raise IndexError(f"sample index {i} out of range for {len(self)} samples")
        i %= len(self)
        mel, motion = self._cache[i] if self._cache is not None else self._read(i, mmap=True)
        return Sample(self.names[i], mel, motion)

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        mode = "in memory" if self.in_memory else "memory-mapped"
        return (
            f"ConductorMotionDataset({str(self.root)!r}, {self.split!r}: {len(self)} samples of "
            f"{self.seconds:g} s, {mode})"
        )


def write_sample(folder, mel: np.ndarray, motion: np.ndarray, meta: dict | None = None) -> Path:
    """Write one sample folder (mel.npy, motion.npy, optional meta.json) so that it appears whole or not at all:
    the files go to a hidden folder beside it (ignored by the reader), renamed into place at the end. An
    existing sample of that name is replaced."""
    folder = Path(folder)
    mel = np.asarray(mel, dtype=np.float32)
    motion = np.asarray(motion, dtype=np.float32)
    if mel.ndim != 2 or mel.shape[1] != N_MELS:
        raise DatasetError(f"{folder}: mel must be (frames, {N_MELS}), got {mel.shape}")
    if motion.ndim != 3 or motion.shape[1:] != (NUM_JOINTS, 2):
        raise DatasetError(f"{folder}: motion must be (frames, {NUM_JOINTS}, 2), got {motion.shape}")
    if len(mel) != MEL_FRAMES_PER_MOTION_FRAME * len(motion) or len(motion) == 0:
        raise DatasetError(
            f"{folder}: {len(mel)} mel frames for {len(motion)} motion frames (expected 3 per frame)"
        )
    for name, x in (("mel", mel), ("motion", motion)):
        if not np.isfinite(x).all():
            raise DatasetError(f"{folder}: {name} contains non-finite values")
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        np.save(tmp / MEL_FILE, mel)
        np.save(tmp / MOTION_FILE, motion)
        if meta is not None:
            (tmp / META_FILE).write_text(json.dumps(meta) + "\n")
        if folder.exists():
            old = folder.with_name(f".{folder.name}.{os.getpid()}.old")
            os.replace(folder, old)
            os.replace(tmp, folder)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder
