"""Motion files: the keypoints of a generated performance with what made them (.npz, .json, .csv).

All three carry the same content: ``keypoints`` float32 (frames, 13, 2) in the official coordinate convention,
``fps`` (30), ``joint_names``, ``duration_s`` of the audio, the ``model`` id and the ``seed``. Files are written
atomically (temp file + rename) so a failure never leaves a half-written output.
"""

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .files import atomic_output
from .skeleton import FPS, JOINT_NAMES, NUM_JOINTS

FORMATS = (".npz", ".json", ".csv")


@dataclass
class Motion:
    keypoints: np.ndarray  # float32 (frames, 13, 2)
    duration_s: float
    model: str
    seed: int
    fps: int = FPS
    source: str = ""
    joint_names: tuple[str, ...] = field(default=JOINT_NAMES)

    def __post_init__(self):
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32)
        if self.keypoints.ndim != 3 or self.keypoints.shape[1:] != (NUM_JOINTS, 2):
            raise ValueError(f"keypoints must be (frames, {NUM_JOINTS}, 2), got {self.keypoints.shape}")

    @property
    def num_frames(self) -> int:
        return len(self.keypoints)

    def metadata(self) -> dict:
        return {
            "fps": self.fps,
            "duration_s": self.duration_s,
            "model": self.model,
            "seed": self.seed,
            "source": self.source,
            "joint_names": list(self.joint_names),
            "num_frames": self.num_frames,
        }


def _csv_header() -> list[str]:
    return ["frame", "time_s"] + [f"{j}_{c}" for j in JOINT_NAMES for c in "xy"]


def save_motion(motion: Motion, path: str | Path) -> Path:
    """Write `motion` in the format given by the suffix of `path` (.npz, .json or .csv)."""
    path = Path(path)
    suffix = path.suffix.lower()
    meta = motion.metadata()
    if suffix == ".npz":

        def write(f):
            np.savez_compressed(
                f,
                keypoints=motion.keypoints,
                fps=np.int64(motion.fps),
                joint_names=np.array(motion.joint_names),
                duration_s=np.float64(motion.duration_s),
                model=np.array(motion.model),
                seed=np.int64(motion.seed),
                source=np.array(motion.source),
            )
    elif suffix == ".json":

        def write(f):
            doc = {**meta, "keypoints": np.round(motion.keypoints.astype(np.float64), 6).tolist()}
            f.write(json.dumps(doc, separators=(",", ":")).encode())
    elif suffix == ".csv":

        def write(f):
            text = io.StringIO()
            text.write("".join(f"# {k}: {json.dumps(v)}\n" for k, v in meta.items() if k != "joint_names"))
            w = csv.writer(text, lineterminator="\n")
            w.writerow(_csv_header())
            flat = motion.keypoints.reshape(motion.num_frames, -1)
            for i, row in enumerate(flat):
                w.writerow([i, f"{i / motion.fps:.6f}", *(f"{v:.6f}" for v in row)])
            f.write(text.getvalue().encode())
    else:
        raise ValueError(f"unsupported motion format {path.suffix!r}: use one of {', '.join(FORMATS)}")
    with atomic_output(path) as tmp, open(tmp, "xb") as f:
        write(f)
    return path


def load_motion(path: str | Path) -> Motion:
    """Read a motion file written by :func:`save_motion` (any of the three formats)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: motion file not found")
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            with np.load(path, allow_pickle=False) as d:
                return Motion(
                    keypoints=d["keypoints"],
                    fps=int(d["fps"]),
                    duration_s=float(d["duration_s"]),
                    model=str(d["model"]),
                    seed=int(d["seed"]),
                    source=str(d["source"]) if "source" in d else "",
                )
        if suffix == ".json":
            doc = json.loads(path.read_text())
            return Motion(
                keypoints=np.array(doc["keypoints"], dtype=np.float32),
                fps=int(doc["fps"]),
                duration_s=float(doc["duration_s"]),
                model=str(doc["model"]),
                seed=int(doc["seed"]),
                source=str(doc.get("source", "")),
            )
        if suffix == ".csv":
            lines = path.read_text().splitlines()
            meta = {}
            for line in lines:
                if not line.startswith("# "):
                    break
                key, _, value = line[2:].partition(": ")
                meta[key] = json.loads(value)
            rows = list(csv.reader(lines[len(meta) + 1 :]))
            flat = np.array([[float(v) for v in r[2:]] for r in rows], dtype=np.float32).reshape(
                -1, NUM_JOINTS, 2
            )
            return Motion(
                keypoints=flat,
                fps=int(meta["fps"]),
                duration_s=float(meta["duration_s"]),
                model=str(meta["model"]),
                seed=int(meta["seed"]),
                source=str(meta.get("source", "")),
            )
    except (KeyError, ValueError, json.JSONDecodeError, OSError) as exc:
        raise ValueError(f"{path}: not a valid vconductor motion file ({exc})") from None
    raise ValueError(f"unsupported motion format {path.suffix!r}: use one of {', '.join(FORMATS)}")
