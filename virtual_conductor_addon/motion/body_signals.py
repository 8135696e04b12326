"""Head, shoulder and torso motion read from the keypoints, as modest, clamped angles and offsets.

Input is frontal-plane keypoints relative to the shoulder midpoint (T, 13, 2) in keypoint shoulder widths
(left, up). Every signal is taken relative to its clip median: the rig's rest pose is the neutral pose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..contract import LEFT_EAR, LEFT_HIP, LEFT_SHOULDER, NOSE, RIGHT_EAR, RIGHT_HIP, RIGHT_SHOULDER

MAX_NECK_LEAN = np.radians(15.0)
MAX_HEAD_TURN = np.radians(35.0)
MAX_HEAD_NOD = np.radians(20.0)
MAX_HEAD_TILT = np.radians(15.0)
MAX_SPINE_LEAN = np.radians(12.0)
MAX_SHRUG = 0.08  # shoulder raise/drop, in shoulder widths
MAX_HIPS_SHIFT = 0.15  # in shoulder widths


@dataclass
class BodySignals:
    neck_lean: np.ndarray  # (F,) radians, + = head towards the character's left
    head_turn: np.ndarray  # + = face towards the character's left
    head_nod: np.ndarray  # + = face up
    head_tilt: np.ndarray  # + = left ear up
    spine_lean: np.ndarray  # + = shoulders towards the character's left over the hips
    shrug: dict[str, np.ndarray]  # side -> (F,) shoulder raise in shoulder widths
    hips_shift: np.ndarray  # (F, 2) frontal-plane hips offset in shoulder widths


def body_signals(rel: np.ndarray, mid: np.ndarray, size: float, sway: float) -> BodySignals:
    """rel: (F,13,2) relative keypoints, mid: (F,2) shoulder midpoints (same units)."""
    ear_mid = 0.5 * (rel[:, LEFT_EAR] + rel[:, RIGHT_EAR])
    ear_span = np.linalg.norm(rel[:, LEFT_EAR] - rel[:, RIGHT_EAR], axis=-1)
    half_head = 0.5 * max(float(np.median(ear_span)), 1e-6)
    nose = rel[:, NOSE] - ear_mid
    ears = rel[:, LEFT_EAR] - rel[:, RIGHT_EAR]
    hip_mid = 0.5 * (rel[:, LEFT_HIP] + rel[:, RIGHT_HIP])
    hips_shift = (mid + hip_mid) - np.median(mid + hip_mid, axis=0)
    hips_shift *= (
        size
        * sway
        * np.minimum(1.0, MAX_HIPS_SHIFT / np.maximum(np.linalg.norm(hips_shift, axis=-1), 1e-12))[:, None]
    )
    return BodySignals(
        neck_lean=_relative(np.arctan2(ear_mid[:, 0], ear_mid[:, 1]), size, MAX_NECK_LEAN),
        head_turn=_relative(np.arcsin(np.clip(nose[:, 0] / half_head, -1, 1)), size, MAX_HEAD_TURN),
        head_nod=_relative(np.arcsin(np.clip(nose[:, 1] / half_head, -1, 1)), size, MAX_HEAD_NOD),
        head_tilt=_relative(np.arctan2(ears[:, 1], ears[:, 0]), size, MAX_HEAD_TILT),
        spine_lean=_relative(np.arctan2(-hip_mid[:, 0], -hip_mid[:, 1]), size * sway, MAX_SPINE_LEAN),
        shrug={
            "L": _relative(rel[:, LEFT_SHOULDER, 1] - hip_mid[:, 1], size, MAX_SHRUG),
            "R": _relative(rel[:, RIGHT_SHOULDER, 1] - hip_mid[:, 1], size, MAX_SHRUG),
        },
        hips_shift=hips_shift,
    )


def _relative(signal: np.ndarray, gain: float, limit: float) -> np.ndarray:
    """gain * (signal - clip median), clamped softly (tanh) to +-limit: no hard corners at the limit."""
    return limit * np.tanh(gain * (signal - np.median(signal)) / limit)


def authored_head_nod(rel3d: np.ndarray, size: float) -> np.ndarray:
    """(F,) radians, + = face up: authored 3D (left, back, up relative to the shoulder midpoint) moves the face
    up and down over the shoulders rigidly (a nod with the beat); the head turns about its neck by the angle
    that lifts the face that much, one ear span (about the face's distance from the head's pivot) away."""
    ears = 0.5 * (rel3d[:, LEFT_EAR] + rel3d[:, RIGHT_EAR])
    span = max(float(np.median(np.linalg.norm(rel3d[:, LEFT_EAR] - rel3d[:, RIGHT_EAR], axis=-1))), 1e-6)
    return _relative(np.arcsin(np.clip(ears[:, 2] / span, -1, 1)), size, MAX_HEAD_NOD)


def authored_head_angles(rel3d: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(F,) yaw (+ face towards the character's left), pitch (+ face up) and roll (+ left ear up), radians, of
    the authored face (rel3d: left, back, up), as yaw of pitch of roll. The ear line gives the head's sideways
    axis, the nose (square to it) its forward one, less the face's own resting droop (its clip median), so yaw
    and roll are absolute (facing forward, ears level: the rig's rest) and pitch is about the clip's median.
    Limited softly to the MAX_HEAD_ angles (unchanged below three quarters of them)."""
    flip = np.array([1.0, -1.0, 1.0])  # -> left, forward, up: a right-handed frame (left x forward = up)
    ear_l, ear_r, nose = (rel3d[:, joint] * flip for joint in (LEFT_EAR, RIGHT_EAR, NOSE))
    side = _unit(ear_l - ear_r)
    face = nose - 0.5 * (ear_l + ear_r)
    face = _unit(face - np.sum(face * side, axis=-1, keepdims=True) * side)
    droop = float(np.median(np.arcsin(np.clip(face[:, 2], -1, 1))))
    forward = np.cos(droop) * face - np.sin(droop) * np.cross(side, face)
    pitch = np.arcsin(np.clip(forward[:, 2], -1, 1))
    roll = np.arcsin(np.clip(side[:, 2] / np.maximum(np.cos(pitch), 1e-6), -1, 1))
    yaw = np.arctan2(forward[:, 0], forward[:, 1])
    return _limited(yaw, MAX_HEAD_TURN), _limited(pitch, MAX_HEAD_NOD), _limited(roll, MAX_HEAD_TILT)


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-12)


def _limited(angle: np.ndarray, limit: float) -> np.ndarray:
    """`angle` itself up to 0.75 `limit`, then bending smoothly (tanh) towards `limit`."""
    knee = 0.75 * limit
    over = np.abs(angle) - knee
    bent = knee + (limit - knee) * np.tanh(np.maximum(over, 0) / (limit - knee))
    return np.where(over > 0, np.sign(angle) * bent, angle)
