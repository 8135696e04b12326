"""The contract between the backend and the Blender add-on: joints, rates, job states and motion files.

This file is the one definition of each; both sides import it. The add-on ships without the backend, so
`virtual_conductor_addon/contract.py` is a byte copy of this file, made by `python build_addon.py --sync-contract`
and checked by tests/test_contract.py. Only the standard library and numpy (Blender ships both).
docs/architecture.md describes the contract; docs/motion-files.md the file layouts.
"""

from __future__ import annotations

import csv
import enum
import io
import json
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SAMPLE_RATE = 22050  # Hz: mono float32 audio the backend works at; PCM sent at this rate is never resampled
FPS = 30  # motion frames per second
MEL_RATE = 90  # mel frames per second fed to the networks
MEL_FRAMES_PER_MOTION_FRAME = MEL_RATE // FPS
MIN_DURATION_S = 0.5  # shorter audio is refused: there is no gesture to make
MAX_DURATION_S = 3 * 3600.0  # longer audio is refused (the service's and the add-on's bound)

# The first 13 COCO keypoints. Image coordinates, y down; the conductor faces the camera, so left-side joints
# have the larger x. Normalised as the official model: shoulders ~0.2 apart, mean hip centre at (0.5, 0.75).
JOINT_NAMES = (
    "nose",
    "left_eye",
    "right_eye",
    "left_ear",
    "right_ear",
    "left_shoulder",
    "right_shoulder",
    "left_elbow",
    "right_elbow",
    "left_wrist",
    "right_wrist",
    "left_hip",
    "right_hip",
)
NUM_JOINTS = len(JOINT_NAMES)
JOINT = {name: index for index, name in enumerate(JOINT_NAMES)}
NOSE, LEFT_EYE, RIGHT_EYE, LEFT_EAR, RIGHT_EAR = range(5)
LEFT_SHOULDER, RIGHT_SHOULDER, LEFT_ELBOW, RIGHT_ELBOW = range(5, 9)
LEFT_WRIST, RIGHT_WRIST, LEFT_HIP, RIGHT_HIP = range(9, 13)
ARM_JOINTS = (LEFT_ELBOW, RIGHT_ELBOW, LEFT_WRIST, RIGHT_WRIST)


class JobState(str, enum.Enum):
    """A generation job's state, as the service reports it (its value is what goes over the wire)."""

    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def __str__(self) -> str:  # the wire string in messages, on every Python version
        return self.value

    @property
    def is_final(self) -> bool:
        return self in (JobState.DONE, JobState.FAILED, JobState.CANCELLED)


MOTION_FORMATS = (".npz", ".json", ".csv")


@contextmanager
def atomic_output(path: str | os.PathLike) -> Iterator[Path]:
    """A temp path beside `path`, moved into place on success and deleted on any failure: every file either
    side writes (motion files, bone maps, checkpoints, reports) is whole or absent.

    Not mkstemp: the writer creates the file itself, with the user's usual permissions rather than 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def missing_folders(paths) -> list[Path]:
    """The folders that writing `paths` will create (those above them that do not exist yet), deepest first:
    what a failed write removes again with `remove_empty_folders`."""
    missing: set[Path] = set()
    for path in paths:
        folder = Path(path).parent
        while not folder.exists() and folder != folder.parent:
            missing.add(folder)
            folder = folder.parent
    return sorted(missing, key=lambda p: len(p.parts), reverse=True)


def remove_empty_folders(folders: list[Path]) -> None:
    """Remove those of `folders` (deepest first) that are empty; others stay (something was written there)."""
    for folder in folders:
        with suppress(OSError):  # not empty, or already gone
            folder.rmdir()


class MotionFileError(ValueError):
    """Content that is not a valid motion: wrong shape, non-finite values, unknown format, bad file."""


@dataclass
class Motion:
    """A generated performance: keypoints (frames, 13, 2) float32 at `fps`, and what made them.

    `keypoints3d` (frames, 13, 3) and `baton_tip` (frames, 3) are optional authored 3D in the body frame that
    docs/motion-files.md defines; files carry them only when present.
    """

    keypoints: np.ndarray
    duration_s: float
    model: str
    seed: int
    fps: int = FPS
    source: str = ""
    joint_names: tuple[str, ...] = field(default=JOINT_NAMES)
    keypoints3d: np.ndarray | None = None
    baton_tip: np.ndarray | None = None

    def __post_init__(self) -> None:
        self.keypoints = _checked_array(self.keypoints, (NUM_JOINTS, 2), "keypoints")
        frames = len(self.keypoints)
        if self.keypoints3d is not None:
            self.keypoints3d = _checked_array(self.keypoints3d, (NUM_JOINTS, 3), "keypoints3d", frames)
        if self.baton_tip is not None:
            self.baton_tip = _checked_array(self.baton_tip, (3,), "baton_tip", frames)
        self.joint_names = tuple(str(name) for name in self.joint_names)

    @property
    def num_frames(self) -> int:
        return len(self.keypoints)

    def metadata(self) -> dict:
        """Everything but the arrays, in file order."""
        return {
            "fps": int(self.fps),
            "duration_s": float(self.duration_s),
            "model": self.model,
            "seed": int(self.seed),
            "source": self.source,
            "joint_names": list(self.joint_names),
            "num_frames": self.num_frames,
        }

    def optional_arrays(self) -> dict[str, np.ndarray]:
        return {
            name: value
            for name, value in (("keypoints3d", self.keypoints3d), ("baton_tip", self.baton_tip))
            if value is not None
        }


def _checked_array(values, tail: tuple[int, ...], name: str, frames: int | None = None) -> np.ndarray:
    array = np.asarray(values, dtype=np.float32)
    if array.ndim != 1 + len(tail) or array.shape[1:] != tail:
        want = ", ".join(str(n) for n in tail)
        raise MotionFileError(f"{name} must have shape (frames, {want}); got {tuple(array.shape)}")
    if frames is not None and len(array) != frames:
        raise MotionFileError(f"{name} has {len(array)} frames, keypoints have {frames}")
    if not np.isfinite(array).all():  # no path may hand on NaN motion: a rig keyed with NaN is destroyed
        bad = np.flatnonzero(~np.isfinite(array.reshape(len(array), -1)).all(axis=1))
        raise MotionFileError(f"{name} has non-finite values in {len(bad)} frame(s), first {bad[0]}")
    return array


def motion_suffix(name: str) -> str:
    """The motion format of a file name (".npz", ".json" or ".csv"), or MotionFileError."""
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in MOTION_FORMATS:
        raise MotionFileError(f"unsupported motion format {suffix!r}: use one of {', '.join(MOTION_FORMATS)}")
    return suffix


def _rounded(array: np.ndarray) -> list:
    return np.round(array.astype(np.float64), 6).tolist()


def motion_to_bytes(motion: Motion, suffix: str) -> bytes:
    """The file content of `motion` in format `suffix` (".npz", ".json" or ".csv")."""
    suffix = motion_suffix(suffix)
    if suffix == ".npz":
        buffer = io.BytesIO()
        np.savez_compressed(
            buffer,
            keypoints=motion.keypoints,
            fps=np.int64(motion.fps),
            joint_names=np.array(motion.joint_names),
            duration_s=np.float64(motion.duration_s),
            model=np.array(motion.model),
            seed=np.int64(motion.seed),
            source=np.array(motion.source),
            **motion.optional_arrays(),
        )
        return buffer.getvalue()
    if suffix == ".json":
        return b"".join(motion_json_chunks(motion))
    return _csv_text(motion).encode()


def motion_json_chunks(motion: Motion, frames_per_chunk: int = 2000):
    """The .json file in pieces (bounded memory when streamed): metadata, then the arrays block by block."""
    yield json.dumps(motion.metadata(), separators=(",", ":"))[:-1].encode()
    arrays = {"keypoints": motion.keypoints, **motion.optional_arrays()}
    for name, array in arrays.items():
        yield f',"{name}":['.encode()
        for start in range(0, len(array), frames_per_chunk):
            block = json.dumps(_rounded(array[start : start + frames_per_chunk]), separators=(",", ":"))
            yield (b"," if start else b"") + block[1:-1].encode()
        yield b"]"
    yield b"}"


def _csv_header(motion: Motion) -> list[str]:
    header = ["frame", "time_s"] + [f"{joint}_{axis}" for joint in motion.joint_names for axis in "xy"]
    if motion.keypoints3d is not None:
        header += [f"{joint}_3d_{axis}" for joint in motion.joint_names for axis in "xyz"]
    if motion.baton_tip is not None:
        header += [f"baton_tip_{axis}" for axis in "xyz"]
    return header


def _csv_text(motion: Motion) -> str:
    text = io.StringIO()
    meta = motion.metadata()
    text.write(
        "".join(f"# {key}: {json.dumps(value)}\n" for key, value in meta.items() if key != "joint_names")
    )
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(_csv_header(motion))
    columns = [motion.keypoints.reshape(motion.num_frames, -1)]
    columns += [array.reshape(motion.num_frames, -1) for array in motion.optional_arrays().values()]
    for index, row in enumerate(np.concatenate(columns, axis=1)):
        writer.writerow([index, f"{index / motion.fps:.6f}", *(f"{value:.6f}" for value in row)])
    return text.getvalue()


def motion_from_bytes(data: bytes, suffix: str, name: str = "motion") -> Motion:
    """Parse a motion file's content (any of the three formats); MotionFileError names `name` when invalid."""
    suffix = motion_suffix(suffix)
    try:
        if suffix == ".npz":
            return _motion_from_npz(data)
        if suffix == ".json":
            return _motion_from_document(json.loads(data))
        return _motion_from_csv(data.decode())
    except MotionFileError as exc:
        raise MotionFileError(f"{name}: not a valid vconductor motion file ({exc})") from None
    except (KeyError, ValueError, TypeError, OSError, EOFError, UnicodeDecodeError) as exc:
        raise MotionFileError(
            f"{name}: not a valid vconductor motion file ({type(exc).__name__}: {exc})"
        ) from None


def _motion_from_npz(data: bytes) -> Motion:
    with np.load(io.BytesIO(data), allow_pickle=False) as npz:
        return Motion(
            keypoints=npz["keypoints"],
            fps=int(npz["fps"]),
            duration_s=float(npz["duration_s"]),
            model=str(npz["model"]),
            seed=int(npz["seed"]),
            source=str(npz["source"]) if "source" in npz else "",
            joint_names=tuple(str(n) for n in npz["joint_names"]) if "joint_names" in npz else JOINT_NAMES,
            keypoints3d=npz.get("keypoints3d"),
            baton_tip=npz.get("baton_tip"),
        )


def _motion_from_document(doc: dict) -> Motion:
    return Motion(
        keypoints=np.array(doc["keypoints"], dtype=np.float32),
        fps=int(doc["fps"]),
        duration_s=float(doc["duration_s"]),
        model=str(doc["model"]),
        seed=int(doc["seed"]),
        source=str(doc.get("source", "")),
        joint_names=tuple(doc.get("joint_names", JOINT_NAMES)),
        keypoints3d=np.array(doc["keypoints3d"], dtype=np.float32) if "keypoints3d" in doc else None,
        baton_tip=np.array(doc["baton_tip"], dtype=np.float32) if "baton_tip" in doc else None,
    )


def _motion_from_csv(text: str) -> Motion:
    lines = text.splitlines()
    meta = {}
    for line in lines:
        if not line.startswith("# "):
            break
        key, _, value = line[2:].partition(": ")
        meta[key] = json.loads(value)
    header, *rows = list(csv.reader(lines[len(meta) :]))
    table = np.array([[float(value) for value in row[2:]] for row in rows], dtype=np.float32)
    table = table.reshape(len(rows), len(header) - 2)
    flat_2d = NUM_JOINTS * 2
    has_3d = any(column.endswith("_3d_x") for column in header)
    end_3d = flat_2d + (NUM_JOINTS * 3 if has_3d else 0)
    return Motion(
        keypoints=table[:, :flat_2d].reshape(-1, NUM_JOINTS, 2),
        fps=int(meta["fps"]),
        duration_s=float(meta["duration_s"]),
        model=str(meta["model"]),
        seed=int(meta["seed"]),
        source=str(meta.get("source", "")),
        keypoints3d=table[:, flat_2d:end_3d].reshape(-1, NUM_JOINTS, 3) if has_3d else None,
        baton_tip=table[:, end_3d : end_3d + 3] if "baton_tip_x" in header else None,
    )
