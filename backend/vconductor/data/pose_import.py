"""Per-frame 2D poses from common pose estimators, reduced to the 13 COCO joints of every detected person.

Readers (``--format auto`` detects which):

- **AlphaPose** results JSON: a list of detections ``{"image_id": "12.jpg", "keypoints": [x, y, score] * K,
  "score": s, "idx": track id, "box": [x, y, w, h]}`` (frames without a person have no entry; the frame index is
  the number in ``image_id``). K = 17 (COCO), 26 (Halpe), 133 (COCO-WholeBody) or 136 (Halpe full body): all
  start with the 17 COCO keypoints.
- **MMPose** predictions: ``{"meta_info": ..., "instance_info": [{"frame_id": f, "instances": [...]}, ...]}``
  (the top-down video demos), a list of such frames or of per-frame instance lists (the inferencer), or a
  folder of per-frame JSONs; an instance is ``{"keypoints": [[x, y]] * K, "keypoint_scores": [s] * K,
  "bbox": [[x1, y1, x2, y2]], "bbox_score": s, "track_id": t}``. One entry per frame, in order.
- **OpenPose**: a folder with one ``*_000000000012_keypoints.json`` per frame, ``people[].pose_keypoints_2d``
  in BODY_25 or COCO-18 order (mapped to COCO), undetected joints as zeros.

vconductor.data.pose_track turns the detections into the conductor's motion.
"""

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..skeleton import NUM_JOINTS

COCO_FIRST = {17: "COCO-17", 26: "Halpe-26", 133: "COCO-WholeBody", 136: "Halpe-136"}
# OpenPose index of each of our 13 COCO joints (nose, eyes, ears, shoulders, elbows, wrists, hips).
OPENPOSE_TO_COCO = {
    25: (0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9),  # BODY_25
    18: (0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8),  # COCO-18
}
FORMATS = ("alphapose", "mmpose", "openpose")
_NUMBER = re.compile(r"(\d+)")


class PoseFormatError(ValueError):
    """Pose files that cannot be read, with a one-line message naming the file."""


@dataclass
class Detections:
    """Every detected person of a recording, flattened: N detections over `num_frames` frames."""

    frame: np.ndarray  # (N,) int frame index
    keypoints: np.ndarray  # (N, 13, 2) float64 pixels (NaN where the estimator gave nothing)
    scores: np.ndarray  # (N, 13) keypoint confidence
    score: np.ndarray  # (N,) person confidence
    track: np.ndarray  # (N,) int track id, -1 when unknown
    num_frames: int
    source_format: str

    @classmethod
    def from_lists(cls, rows: list, num_frames: int, fmt: str) -> "Detections":
        frame, keypoints, scores, score, track = zip(*rows, strict=True) if rows else ([],) * 5
        return cls(
            frame=np.array(frame, int),
            keypoints=np.array(keypoints, float).reshape(-1, NUM_JOINTS, 2),
            scores=np.array(scores, float).reshape(-1, NUM_JOINTS),
            score=np.array(score, float),
            track=np.array(track, int),
            num_frames=num_frames,
            source_format=fmt,
        )


# --- reading -----------------------------------------------------------------------------------------------------


def _load_json(path: Path):
    try:
        with open(path, encoding="utf-8") as f:
            return json.load(f)
    except json.JSONDecodeError as exc:
        raise PoseFormatError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno})") from None
    except UnicodeDecodeError:
        raise PoseFormatError(f"{path}: not a text JSON file") from None
    except OSError as exc:
        raise PoseFormatError(f"{path}: cannot be read ({exc.strerror})") from None


def _frame_number(name: str, path: Path, what: str) -> int:
    numbers = _NUMBER.findall(str(name))
    if not numbers:
        raise PoseFormatError(f"{path}: {what} {name!r} holds no frame number")
    return int(numbers[-1])


def _coco_from_flat(values, path: Path, where: str, stride: int) -> tuple[np.ndarray, np.ndarray]:
    """(13, 2) points and (13,) scores from a flat [x, y, s] * K (stride 3) list of a COCO-first layout."""
    try:
        a = np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        raise PoseFormatError(f"{path}: {where}: keypoints are not numbers") from None
    if a.ndim != 1 or len(a) % stride or len(a) // stride not in COCO_FIRST:
        raise PoseFormatError(
            f"{path}: {where}: expected 17 COCO keypoints as [x, y, score] * 17 (51 numbers; or 26/133/136 "
            f"keypoints of a COCO-first layout), got {a.size} numbers"
        )
    a = a.reshape(-1, stride)[:NUM_JOINTS]
    return a[:, :2], a[:, 2]


def _person_score(entry: dict, scores: np.ndarray, key: str) -> float:
    value = entry.get(key)
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return float(value) if value is not None else float(np.mean(scores))
    except (TypeError, ValueError):
        return float(np.mean(scores))


def _track_id(value) -> int:
    if isinstance(value, list):
        value = value[0] if value else None
    try:
        return int(value) if value is not None else -1
    except (TypeError, ValueError):
        return -1


def read_alphapose(path: Path, data: list) -> Detections:
    rows = []
    for i, det in enumerate(data):
        if not isinstance(det, dict) or "keypoints" not in det or "image_id" not in det:
            raise PoseFormatError(
                f"{path}: entry {i} is not an AlphaPose detection (needs image_id and keypoints)"
            )
        frame = _frame_number(det["image_id"], path, "image_id")
        kp, sc = _coco_from_flat(det["keypoints"], path, f"entry {i}", 3)
        rows.append((frame, kp, sc, _person_score(det, sc, "score"), _track_id(det.get("idx"))))
    num_frames = max(r[0] for r in rows) + 1 if rows else 0
    return Detections.from_lists(rows, num_frames, "alphapose")


def _mmpose_instance(inst, path: Path, where: str):
    if not isinstance(inst, dict) or "keypoints" not in inst:
        raise PoseFormatError(f"{path}: {where} is not an MMPose instance (needs keypoints, keypoint_scores)")
    try:
        kp = np.asarray(inst["keypoints"], dtype=float)
        sc = np.asarray(inst.get("keypoint_scores", np.ones(len(kp))), dtype=float).reshape(-1)
    except (TypeError, ValueError):
        raise PoseFormatError(f"{path}: {where}: keypoints are not numbers") from None
    if kp.ndim == 3 and kp.shape[0] == 1:  # some versions keep a leading instance axis
        kp = kp[0]
    if kp.ndim != 2 or kp.shape[1] not in (2, 3) or kp.shape[0] not in COCO_FIRST or len(sc) != kp.shape[0]:
        raise PoseFormatError(
            f"{path}: {where}: expected 17 COCO keypoints [[x, y]] * 17 with 17 keypoint_scores (or 26/133/136 "
            f"of a COCO-first layout), got keypoints of shape {kp.shape} and {len(sc)} scores"
        )
    return kp[:NUM_JOINTS, :2], sc[:NUM_JOINTS]


def _mmpose_frames(data, path: Path) -> list:
    if isinstance(data, dict) and "instance_info" in data:
        data = data["instance_info"]
    if not isinstance(data, list):
        raise PoseFormatError(f"{path}: not MMPose predictions (expected instance_info or a list of frames)")
    frames = []
    for i, entry in enumerate(data):
        if isinstance(entry, dict) and "instances" in entry:
            frames.append(entry["instances"] or [])
        elif isinstance(entry, list):
            frames.append(entry)
        else:
            raise PoseFormatError(
                f"{path}: frame {i} is not a list of MMPose instances or {{frame_id, instances}}"
            )
    return frames


def read_mmpose(path: Path, frames: list, sources: list[Path] | None = None) -> Detections:
    rows = []
    for f, instances in enumerate(frames):
        src = sources[f] if sources else path
        if not isinstance(instances, list):
            raise PoseFormatError(f"{src}: frame {f}: instances must be a list")
        for j, inst in enumerate(instances):
            kp, sc = _mmpose_instance(inst, src, f"frame {f} instance {j}")
            rows.append((f, kp, sc, _person_score(inst, sc, "bbox_score"), _track_id(inst.get("track_id"))))
    return Detections.from_lists(rows, len(frames), "mmpose")


def read_openpose(folder: Path, files: list[Path]) -> Detections:
    rows = []
    for f, path in enumerate(files):
        data = _load_json(path)
        people = data.get("people") if isinstance(data, dict) else None
        if not isinstance(people, list):
            raise PoseFormatError(f"{path}: not an OpenPose frame (expected a 'people' list)")
        for j, person in enumerate(people):
            flat = np.asarray(person.get("pose_keypoints_2d", []) if isinstance(person, dict) else [], float)
            if flat.size % 3 or flat.size // 3 not in OPENPOSE_TO_COCO:
                raise PoseFormatError(
                    f"{path}: person {j}: expected pose_keypoints_2d of BODY_25 (75 numbers) or COCO-18 (54), "
                    f"got {flat.size} numbers"
                )
            a = flat.reshape(-1, 3)[list(OPENPOSE_TO_COCO[flat.size // 3])]
            kp, sc = a[:, :2].copy(), a[:, 2]
            kp[sc <= 0] = np.nan  # OpenPose writes undetected joints as (0, 0, 0)
            rows.append((f, kp, sc, float(np.mean(sc)), _track_id(person.get("person_id"))))
    return Detections.from_lists(rows, len(files), "openpose")


def _openpose_files(folder: Path) -> list[Path]:
    files = list(folder.glob("*_keypoints.json"))
    if not files:
        return []
    return sorted(files, key=lambda p: _frame_number(p.name[: -len("_keypoints.json")], p, "file name"))


def _json_files(folder: Path) -> list[Path]:
    files = [p for p in folder.glob("*.json") if not p.name.startswith(".")]
    return sorted(files, key=lambda p: [int(t) if t.isdigit() else t for t in _NUMBER.split(p.stem)])


def detect_format(path) -> str:
    """'alphapose', 'mmpose' or 'openpose' from the files' structure."""
    path = Path(path)
    if path.is_dir():
        if _openpose_files(path):
            return "openpose"
        files = _json_files(path)
        if not files:
            raise PoseFormatError(f"{path}: no pose JSON files in this folder")
        sample = _load_json(files[0])
        if isinstance(sample, dict) and "people" in sample:
            return "openpose"
        if isinstance(sample, (list, dict)):
            return "mmpose"
        raise PoseFormatError(f"{files[0]}: not a recognised per-frame pose file")
    if not path.is_file():
        raise PoseFormatError(f"{path}: pose file or folder not found")
    return _detect_data(_load_json(path), path)


def _detect_data(data, path: Path) -> str:
    if isinstance(data, dict):
        if "instance_info" in data:
            return "mmpose"
        if "people" in data:
            raise PoseFormatError(
                f"{path}: a single OpenPose frame; give the folder of per-frame *_keypoints.json"
            )
        raise PoseFormatError(f"{path}: not a recognised pose format (AlphaPose, MMPose or OpenPose)")
    if not isinstance(data, list):
        raise PoseFormatError(f"{path}: not a recognised pose format (AlphaPose, MMPose or OpenPose)")
    if not data:
        raise PoseFormatError(f"{path}: holds no detections")
    first = data[0]
    if isinstance(first, dict) and "image_id" in first:
        return "alphapose"
    if isinstance(first, dict) and ("instances" in first or "keypoint_scores" in first):
        return "mmpose"
    if isinstance(first, list):
        return "mmpose"
    raise PoseFormatError(f"{path}: not a recognised pose format (AlphaPose, MMPose or OpenPose)")


def read_detections(path, fmt: str = "auto") -> Detections:
    """Every person of every frame from pose-estimator output at `path` (a file or a folder)."""
    path = Path(path)
    if fmt not in ("auto", *FORMATS):
        raise PoseFormatError(f"unknown pose format {fmt!r}; choose auto, {', '.join(FORMATS)}")
    if not path.exists():
        raise PoseFormatError(f"{path}: pose file or folder not found")
    fmt = detect_format(path) if fmt == "auto" else fmt
    if path.is_dir():
        if fmt == "openpose":
            files = _openpose_files(path) or _json_files(path)
            if not files:
                raise PoseFormatError(f"{path}: no OpenPose *_keypoints.json files in this folder")
            return read_openpose(path, files)
        if fmt == "mmpose":
            files = _json_files(path)
            if not files:
                raise PoseFormatError(f"{path}: no MMPose JSON files in this folder")
            frames = []
            for p in files:
                data = _load_json(p)
                inst = data.get("instances", data.get("instance_info")) if isinstance(data, dict) else data
                if isinstance(inst, list) and inst and isinstance(inst[0], dict) and "instances" in inst[0]:
                    raise PoseFormatError(f"{p}: holds several frames; give this file instead of the folder")
                frames.append(inst if isinstance(inst, list) else [])
            return read_mmpose(path, frames, files)
        raise PoseFormatError(f"{path}: AlphaPose writes one results JSON; give that file, not a folder")
    data = _load_json(path)
    if fmt == "alphapose":
        if not isinstance(data, list):
            raise PoseFormatError(f"{path}: not AlphaPose results (expected a list of detections)")
        return read_alphapose(path, data)
    if fmt == "mmpose":
        return read_mmpose(path, _mmpose_frames(data, path))
    raise PoseFormatError(f"{path}: OpenPose writes one JSON per frame; give the folder")
