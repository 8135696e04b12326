"""A take's keypoints as the files `vconductor generate -o x.json / x.csv` writes (same layout, same rounding).

Kept byte-compatible with the backend's motion_io so that `vconductor.motion_io.load_motion` reads them and
either tool's files can be compared with a diff. No bpy, no backend import: the add-on ships without either.
"""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import MotionError

JOINT_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
)  # fmt: skip
FORMATS = (".json", ".csv")


@dataclass
class KeypointTake:
    """What the backend returned for one take: keypoints (T, 13, 2) float32 at `fps` and what made them."""

    keypoints: np.ndarray
    duration_s: float
    model: str
    seed: int
    fps: int = 30
    source: str = ""

    def __post_init__(self) -> None:
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32)
        if self.keypoints.ndim != 3 or self.keypoints.shape[1:] != (len(JOINT_NAMES), 2):
            raise MotionError(f"Keypoints must have shape (frames, 13, 2); got {self.keypoints.shape}.")

    def metadata(self) -> dict:
        """The backend's metadata keys, in its order."""
        return {
            "fps": int(self.fps),
            "duration_s": float(self.duration_s),
            "model": self.model,
            "seed": int(self.seed),
            "source": self.source,
            "joint_names": list(JOINT_NAMES),
            "num_frames": len(self.keypoints),
        }


def keypoints_text(take: KeypointTake, suffix: str) -> str:
    """The file's content for suffix ".json" or ".csv"."""
    meta = take.metadata()
    if suffix == ".json":
        doc = {**meta, "keypoints": np.round(take.keypoints.astype(np.float64), 6).tolist()}
        return json.dumps(doc, separators=(",", ":"))
    if suffix == ".csv":
        text = io.StringIO()
        text.write("".join(f"# {k}: {json.dumps(v)}\n" for k, v in meta.items() if k != "joint_names"))
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(["frame", "time_s"] + [f"{j}_{c}" for j in JOINT_NAMES for c in "xy"])
        for i, row in enumerate(take.keypoints.reshape(len(take.keypoints), -1)):
            writer.writerow([i, f"{i / take.fps:.6f}", *(f"{v:.6f}" for v in row)])
        return text.getvalue()
    raise MotionError(f"Unsupported keypoint file type '{suffix}': use {' or '.join(FORMATS)}.")


def write_keypoints(take: KeypointTake, path: str | os.PathLike) -> Path:
    """Write the take to `path` (format from its suffix), atomically: a failure leaves no half-written file."""
    path = Path(path)
    text = keypoints_text(take, path.suffix.lower())
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    return path
