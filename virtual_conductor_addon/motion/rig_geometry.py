"""What the lifting needs to know about one rig: mapped bones, joint points, effective lengths, body axes."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .bone_map import BoneMap
from .errors import MotionError
from .rig import RigRest

SIDES = ("L", "R")


@dataclass
class ArmGeometry:
    upper_arm: str
    forearm: str
    shoulder_bone: str | None  # clavicle, only when it carries the arm
    shoulder: np.ndarray  # rest points, armature space: upper-arm head,
    elbow: np.ndarray  # forearm head,
    wrist: np.ndarray  # hand head (or forearm tail)
    upper_length: float  # shoulder -> elbow, through any unmapped intermediate bones
    fore_length: float  # elbow -> wrist


@dataclass
class RigGeometry:
    bones: dict[str, str]  # semantic -> rig bone, only those present in the rig
    arms: dict[str, ArmGeometry]
    axes: np.ndarray  # (3,3) columns: the character's left, back, up in armature space
    shoulder_width: float
    notes: list[str] = field(default_factory=list)

    def to_body(self, points: np.ndarray) -> np.ndarray:
        """Armature-space points -> (left, back, up) coordinates."""
        return (points.reshape(-1, 3) @ self.axes).reshape(points.shape)

    def to_armature(self, body: np.ndarray) -> np.ndarray:
        return (body.reshape(-1, 3) @ self.axes.T).reshape(body.shape)


def rig_geometry(rig: RigRest, bone_map: BoneMap) -> RigGeometry:
    names = set(rig.bones)
    missing = bone_map.missing(names)
    if missing:
        detail = ", ".join(
            f"{s} ({bone_map.bones[s]!r} not found)" if s in bone_map.bones else s for s in missing
        )
        raise MotionError(f"The armature lacks required bones for: {detail}. Check the bone map.")
    bones = {s: b for s, b in bone_map.bones.items() if b in names}
    notes = [
        f"{s} -> {b!r} is not in the armature; left out." for s, b in bone_map.bones.items() if b not in names
    ]
    arms = {side: _arm(rig, bones, side, notes) for side in SIDES}
    left = arms["L"].shoulder - arms["R"].shoulder
    width = float(np.linalg.norm(left))
    if width < 1e-6:
        raise MotionError(
            "The armature's left and right upper arms start at the same point; cannot size the motion."
        )
    mid = 0.5 * (arms["L"].shoulder + arms["R"].shoulder)
    torso = next((bones[s] for s in ("hips", "spine", "chest") if s in bones), None)
    up = mid - rig.bones[torso].head if torso else np.array([0.0, 0.0, 1.0])
    return RigGeometry(bones, arms, _body_axes(left, up), width, notes)


def _arm(rig: RigRest, bones: dict[str, str], side: str, notes: list[str]) -> ArmGeometry:
    upper, fore = bones[f"upper_arm.{side}"], bones[f"forearm.{side}"]
    if not rig.is_ancestor(upper, fore):
        raise MotionError(
            f"forearm.{side} ({fore!r}) is not a child of upper_arm.{side} ({upper!r}) in the armature."
        )
    hand = bones.get(f"hand.{side}")
    if hand is not None and not rig.is_ancestor(fore, hand):
        notes.append(
            f"hand.{side} ({hand!r}) is not a child of the forearm; the forearm's tail is the wrist."
        )
        hand = None
    shoulder_bone = bones.get(f"shoulder.{side}")
    if shoulder_bone is not None and not rig.is_ancestor(shoulder_bone, upper):
        notes.append(f"shoulder.{side} ({shoulder_bone!r}) does not carry the upper arm; it is left alone.")
        shoulder_bone = None
    shoulder, elbow = rig.bones[upper].head, rig.bones[fore].head
    wrist = rig.bones[hand].head if hand else rig.bones[fore].tail
    upper_length, fore_length = float(np.linalg.norm(elbow - shoulder)), float(np.linalg.norm(wrist - elbow))
    if min(upper_length, fore_length) < 1e-6:
        raise MotionError(
            f"The {'left' if side == 'L' else 'right'} arm has a zero-length upper arm or forearm."
        )
    return ArmGeometry(upper, fore, shoulder_bone, shoulder, elbow, wrist, upper_length, fore_length)


def _body_axes(left: np.ndarray, up: np.ndarray) -> np.ndarray:
    """Left and up snapped to the nearest signed armature axes (rigs are modelled axis-aligned; snapping keeps
    the frontal plane exactly the armature's X-Z plane for a standard rig with slightly uneven shoulders)."""
    left_axis = _snap(left, exclude=None)
    up_axis = _snap(up, exclude=int(np.argmax(np.abs(left_axis))))
    back_axis = np.cross(up_axis, left_axis)
    return np.stack([left_axis, back_axis, up_axis], axis=1)


def _snap(v: np.ndarray, exclude: int | None) -> np.ndarray:
    magnitude = np.abs(v).astype(float)
    if exclude is not None:
        magnitude[exclude] = -1.0
    axis = int(np.argmax(magnitude))
    out = np.zeros(3)
    out[axis] = 1.0 if v[axis] >= 0 or magnitude[axis] == 0 else -1.0
    if exclude is not None and magnitude[axis] <= 1e-9:  # no usable up direction: armature +Z (or +Y)
        out[:] = 0.0
        out[2 if exclude != 2 else 1] = 1.0
    return out
