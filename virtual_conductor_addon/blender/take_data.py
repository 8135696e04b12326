"""The backend's keypoints of a take, kept on the take's action so exports work after saving and reopening.

Stored as custom properties of the action: the keypoints (and the authored 3D joints and baton tip, when the
motion has them) as zlib-compressed float32 bytes (exact; 10 minutes = 18000 x 13 x 2 floats = 1.9 MB raw,
~1.7 MB stored, less after the .blend's own compression) and the backend's metadata as plain values. A take is
an action carrying `vconductor_take`.
"""

import json
import zlib

import numpy as np

from ..contract import NUM_JOINTS, Motion
from ..contract_beats import BeatsFileError, BeatTrack, beats_from_document

TAKE_KEY = "vconductor_take"  # {"fps", "duration_s", "model", "seed", "source", "frame_start", "scene_fps",
#                                "baton": "L" | "R" | "" (the hand holding the baton; "": none)}
KEYPOINTS_KEY = "vconductor_keypoints"  # bytes: zlib(float32 (T, 13, 2), C order)
KEYPOINTS3D_KEY = "vconductor_keypoints3d"  # bytes: zlib(float32 (T, 13, 3)), only when the motion has them
BATON_KEY = "vconductor_baton_tip"  # bytes: zlib(float32 (T, 3)), only when the motion has it
BEATS_KEY = "vconductor_beats"  # str: the backend's beats document (contract.BeatTrack.to_document) as JSON


def is_take(action) -> bool:
    return action is not None and TAKE_KEY in action


def store_take(
    action,
    take: Motion,
    frame_start: float,
    scene_fps: float,
    beats: BeatTrack | None = None,
    baton: str = "R",
) -> None:
    """Attach the keypoints, the audio's beats (when the backend sent them), where audio time 0 sits in the
    scene (the take's key timing) and the hand holding the baton ("L", "R" or "": none)."""
    if beats is not None:
        action[BEATS_KEY] = json.dumps(beats.to_document())
    for key, array in (
        (KEYPOINTS_KEY, take.keypoints),
        (KEYPOINTS3D_KEY, take.keypoints3d),
        (BATON_KEY, take.baton_tip),
    ):
        if array is not None:
            action[key] = _packed(array)
        elif key in action:
            del action[key]
    action[TAKE_KEY] = {
        "fps": int(take.fps),
        "duration_s": float(take.duration_s),
        "model": take.model,
        "seed": int(take.seed),
        "source": take.source,
        "frame_start": float(frame_start),
        "scene_fps": float(scene_fps),
        "baton": baton,
    }


def take_keypoints(action) -> Motion | None:
    """The stored take, or None when the action holds none (a hand-keyed action, or damaged data)."""
    if not is_take(action) or KEYPOINTS_KEY not in action:
        return None
    meta = action[TAKE_KEY]
    try:
        return Motion(
            keypoints=_unpacked(action, KEYPOINTS_KEY, (NUM_JOINTS, 2)),
            duration_s=float(meta["duration_s"]),
            model=str(meta["model"]),
            seed=int(meta["seed"]),
            fps=int(meta["fps"]),
            source=str(meta.get("source", "")),
            keypoints3d=_unpacked(action, KEYPOINTS3D_KEY, (NUM_JOINTS, 3)),
            baton_tip=_unpacked(action, BATON_KEY, (3,)),
        )
    except (zlib.error, ValueError, KeyError, TypeError):
        return None


def _packed(array: np.ndarray) -> bytes:
    return zlib.compress(np.ascontiguousarray(array, np.float32).tobytes(), 6)


def _unpacked(action, key: str, shape: tuple[int, ...]) -> np.ndarray | None:
    """The stored array of that key (frames, *shape), or None when the take has none."""
    if key not in action:
        return None
    raw = zlib.decompress(bytes(action[key]))
    return np.frombuffer(raw, dtype=np.float32).reshape(-1, *shape).copy()


def take_baton(action) -> str | None:
    """The hand holding the baton in a take ("L", "R" or "": none), or None when the take does not say
    (takes stored before the baton followed them)."""
    if not is_take(action):
        return None
    side = action[TAKE_KEY].get("baton")
    return str(side) if side in ("L", "R", "") else None


def take_beats(action) -> tuple[BeatTrack, float, float] | None:
    """(beats, frame of audio time 0, scene fps) stored with a take, or None when it has none."""
    if not is_take(action) or BEATS_KEY not in action:
        return None
    meta = action[TAKE_KEY]
    try:
        beats = beats_from_document(json.loads(str(action[BEATS_KEY])))
        return beats, float(meta["frame_start"]), float(meta["scene_fps"])
    except (BeatsFileError, ValueError, KeyError, TypeError):
        return None


def take_summary(action) -> str:
    """One line for the take list: model, seed and length."""
    if not is_take(action):
        return ""
    meta = action[TAKE_KEY]
    return f"{meta.get('model', '?')} seed {meta.get('seed', '?')}, {float(meta.get('duration_s', 0)):.1f} s"
