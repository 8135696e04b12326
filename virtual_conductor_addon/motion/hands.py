"""The hands of a rig with mapped fingers: the baton hand's grip and the other hand's open, cueing shape.

Each finger segment turns about an axis of its own rest direction x the palm's normal, so a positive angle curls
it towards the palm whatever the rig's bone rolls (rigs disagree on which local axis flexes a finger). The palm
faces the side the index and pinky knuckles and the wrist say (docs/architecture.md, "Hands and baton").
"""

from __future__ import annotations

import numpy as np

from .bone_map import FINGERS, BoneMap
from .rig import RigRest
from .rotations import normalize, quat_multiply
from .smoothing import gaussian_smooth
from .wrist_flex import BATON_BONE

# Curl per segment (knuckle out), degrees: thumb and index hold the baton, the middle finger supports it from
# below, ring and pinky curl loosely into the palm.
BATON_GRIP = {
    "thumb": (15.0, 20.0, 15.0),
    "index": (30.0, 45.0, 20.0),
    "middle": (45.0, 55.0, 30.0),
    "ring": (55.0, 60.0, 40.0),
    "pinky": (60.0, 60.0, 40.0),
}
RELAXED = {
    "thumb": (8.0, 10.0, 5.0),
    "index": (15.0, 20.0, 10.0),
    "middle": (20.0, 25.0, 12.0),
    "ring": (24.0, 28.0, 14.0),
    "pinky": (28.0, 30.0, 15.0),
}
OPEN = {finger: (2.0, 2.0, 1.0) for finger in FINGERS}  # a cue: fingers long, almost straight
OPEN_SPREAD = {"thumb": 20.0, "index": 8.0, "middle": 0.0, "ring": 6.0, "pinky": 12.0}  # away from the middle
CUE_RISE = 0.4  # shoulder widths above the wrist's resting height: a fully raised, cueing hand
RESTING_PERCENTILE = 25  # the free hand rests (low) most of a piece: its resting height, whatever the rig
CUE_SPEED = 2.0  # shoulder widths per second: a hand moving this fast is gesturing


def openness_from_wrist(wrist: np.ndarray, times: np.ndarray, smoothing_s: float = 0.15) -> np.ndarray:
    """(F,) in [0, 1]: how far the free hand opens, from its wrist (F, 3; body coordinates left, back, up, in
    shoulder widths) at `times` (s). Motions carry no cue envelope, so a raised or fast-moving hand is read as
    cueing."""
    wrist = np.asarray(wrist, dtype=np.float64)
    times = np.asarray(times, dtype=np.float64)
    if len(wrist) < 2:
        return np.zeros(len(wrist))
    dt = np.maximum(np.gradient(times), 1e-6)
    speed = np.linalg.norm(np.gradient(wrist, axis=0), axis=-1) / dt
    raised = np.clip((wrist[:, 2] - np.percentile(wrist[:, 2], RESTING_PERCENTILE)) / CUE_RISE, 0.0, 1.0)
    moving = np.clip(speed / CUE_SPEED, 0.0, 1.0)
    sigma = smoothing_s / float(np.median(dt))
    return np.clip(gaussian_smooth(np.clip(0.7 * raised + 0.5 * moving, 0.0, 1.0), sigma), 0.0, 1.0)


def conducting_hands(
    rig: RigRest,
    bone_map: BoneMap,
    baton_side: str,
    free_wrists: dict[str, np.ndarray],
    times: np.ndarray,
    up: np.ndarray,
) -> dict[str, np.ndarray]:
    """Finger quaternions for both hands: the grip on the `baton_side` hand ("L"/"R"; "" for none), the other
    hand(s) between relaxed and open as `openness_from_wrist` reads its wrist (free_wrists: side -> (F, 3)); `up`:
    the character's up in armature space."""
    frames = len(times)
    out = {}
    for side in ("L", "R"):
        if side == baton_side:
            out.update(hand_rotations(rig, bone_map, side, up, BATON_GRIP, frames))
            continue
        opened = openness_from_wrist(free_wrists[side], times)[:, None]
        curl = {f: (1 - opened) * np.array(RELAXED[f]) + opened * np.array(OPEN[f]) for f in FINGERS}
        spread = {f: opened[:, 0] * OPEN_SPREAD[f] for f in FINGERS}
        out.update(hand_rotations(rig, bone_map, side, up, curl, frames, spread))
    return out


def hand_rotations(
    rig: RigRest,
    bone_map: BoneMap,
    side: str,
    up: np.ndarray,
    curl: dict,
    frames: int,
    spread: dict | None = None,
) -> dict[str, np.ndarray]:
    """Local pose quaternions (F, 4) for the mapped fingers of `side`: each segment curled by `curl[finger][i]`
    degrees ((3,) or per frame (F, 3)), the knuckle segment spread by `spread[finger]` degrees (scalar or (F,))."""
    fingers = bone_map.fingers(side)
    hand = bone_map.bones.get(f"hand.{side}")
    if not fingers or hand not in rig.bones:
        return {}
    palm = palm_normal(rig, fingers, side, rig.bones[hand].head, up)
    middle = _knuckle_centre(rig, fingers)
    out = {}
    for finger, chain in fingers.items():
        angles = np.broadcast_to(np.radians(np.asarray(curl[finger], dtype=np.float64)), (frames, 3))
        for segment, name in enumerate(chain):
            bone = rig.bones[name]
            direction = normalize(bone.tail - bone.head)
            axis = _unit_or_none(np.cross(direction, palm))
            if axis is None:  # a segment along the palm's normal: no curl direction to take
                continue
            turns = [(axis, angles[:, segment])]
            if segment == 0 and spread is not None:
                away = rig.bones[chain[0]].head - middle
                sign = np.sign(np.dot(np.cross(palm, direction), away))
                turns.insert(0, (palm, sign * np.radians(np.broadcast_to(spread[finger], (frames,)))))
            out[name] = _local_quaternion(bone.rotation, turns)
    return out


def palm_normal(
    rig: RigRest, fingers: dict[str, list[str]], side: str, wrist: np.ndarray, up: np.ndarray
) -> np.ndarray:
    """The unit normal out of the palm (armature space) at rest. From the index-side and pinky-side knuckles:
    index x pinky (from the wrist) points out of the back of a left hand and out of the palm of a right one."""
    knuckles = [rig.bones[fingers[f][0]].head for f in FINGERS[1:] if f in fingers]
    if len(knuckles) >= 2:
        normal = _unit_or_none(np.cross(knuckles[0] - wrist, knuckles[-1] - wrist))
        if normal is not None:
            return -normal if side == "L" else normal
    # one finger (or knuckles in line with the wrist): the palm faces down, square to the fingers
    direction = normalize(np.mean([rig.bones[c[0]].tail - rig.bones[c[0]].head for c in fingers.values()], 0))
    normal = _unit_or_none(-up + np.dot(up, direction) * direction)
    if normal is None:  # fingers along the body's up: any direction square to them
        helper = np.eye(3)[int(np.argmin(np.abs(direction)))]
        normal = _unit_or_none(np.cross(direction, helper))
    return normal


def _knuckle_centre(rig: RigRest, fingers: dict[str, list[str]]) -> np.ndarray:
    if "middle" in fingers:
        return rig.bones[fingers["middle"][0]].head
    return np.mean([rig.bones[chain[0]].head for chain in fingers.values()], axis=0)


def _local_quaternion(rest_rotation: np.ndarray, turns: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Rotations about rest-space axes (first applied first) as a bone's local pose quaternion (F, 4): an axis n
    at rest is R0^T n in the bone's own frame."""
    result = None
    for axis, angle in turns:
        half = 0.5 * angle[:, None]
        q = np.concatenate([np.cos(half), np.sin(half) * (rest_rotation.T @ axis)], axis=-1)
        result = q if result is None else quat_multiply(q, result)
    return result


def _unit_or_none(v: np.ndarray) -> np.ndarray | None:
    norm = float(np.linalg.norm(v))
    return None if norm < 1e-9 else v / norm


def baton_line(rig: RigRest, bone_map: BoneMap, side: str, up: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(grip point, unit direction) of a baton held in the `side` hand at rest, armature space: along the index
    finger's knuckle segment, a little to the palm side of it (the shaft lies in the crook of the index, pressed
    by the thumb), when the index is mapped; else from the hand bone's middle, along the default figure's baton
    bone when the hand carries one, else along the hand."""
    hand = rig.bones[bone_map.bones[f"hand.{side}"]]
    fingers = bone_map.fingers(side)
    if "index" not in fingers:
        carried = rig.bones.get(BATON_BONE)
        along = carried.rotation[:, 1] if carried and carried.parent == hand.name else hand.tail - hand.head
        return hand.head + 0.5 * (hand.tail - hand.head), normalize(along)
    knuckle = rig.bones[fingers["index"][0]]
    direction = normalize(knuckle.tail - knuckle.head)
    palm = palm_normal(rig, fingers, side, hand.head, up)
    return knuckle.head + 0.5 * knuckle.length * palm, direction
