"""Numpy forward kinematics with Blender's pose maths, vectorised over frames, and the ways bones are posed.

posed(bone) = posed(parent) @ inv(parent.matrix_local) @ bone.matrix_local @ Translation(location) @ Rotation(q)
Bones never given a rotation keep q = identity, so intermediate unmapped bones carry their rest offsets.
"""

from __future__ import annotations

import numpy as np

from .rig import RigRest
from .rotations import matrix_to_quat, normalize, quat_multiply, quat_to_matrix, swing_quaternion


class PoseSolver:
    """Pose bones one after another, parents first; every query reflects the rotations set so far."""

    def __init__(self, rig: RigRest, frames: int):
        self.rig = rig
        self.frames = frames
        self.rotations: dict[str, np.ndarray] = {}  # bone -> (F, 3, 3) local pose rotation
        self.locations: dict[str, np.ndarray] = {}  # bone -> (F, 3) pose location (bone rest frame)
        self._quaternions: dict[str, np.ndarray] = {}  # same rotations as (F, 4) w, x, y, z
        self._cache: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    # -- forward kinematics -------------------------------------------------------------------------------------
    def base(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Armature-space orientation and head of `name` with its own rotation left out: (3,3) and (3,) while
        nothing above it is posed, else (F,3,3) and (F,3)."""
        bone = self.rig.bones[name]
        if bone.parent is None:
            rot, head = bone.rotation, bone.head
        else:
            parent = self.rig.bones[bone.parent]
            parent_rot, parent_head = self.posed(bone.parent)
            rot = parent_rot @ (parent.rotation.T @ bone.rotation)
            head = parent_head + parent_rot @ (parent.rotation.T @ (bone.head - parent.head))
        if name in self.locations:
            head = head + _apply(rot, self.locations[name])
        return rot, head

    def posed(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """Armature-space orientation and head of `name` as posed so far (shapes as in `base`)."""
        if name not in self._cache:
            rot, head = self.base(name)
            if name in self.rotations:
                rot = rot @ self.rotations[name]
            self._cache[name] = (rot, head)
        return self._cache[name]

    def point(self, name: str, rest_point: np.ndarray) -> np.ndarray:
        """Where a rest-pose point rigidly attached to bone `name` is now (F, 3)."""
        bone = self.rig.bones[name]
        rot, head = self.posed(name)
        return np.broadcast_to(
            head + rot @ (bone.rotation.T @ (np.asarray(rest_point) - bone.head)), (self.frames, 3)
        )

    # -- posing --------------------------------------------------------------------------------------------------
    def set_rotation(
        self, name: str, local_rotation: np.ndarray, quaternion: np.ndarray | None = None
    ) -> None:
        self.rotations[name] = local_rotation
        self._quaternions[name] = matrix_to_quat(local_rotation) if quaternion is None else quaternion
        self._forget(name)

    def set_location(self, name: str, armature_offset: np.ndarray) -> None:
        """Move the bone's head by an armature-space offset (F, 3) (stored as Blender's bone-local location)."""
        self.locations.pop(name, None)
        rot, _ = self.base(name)
        self.locations[name] = _apply(np.swapaxes(rot, -1, -2), armature_offset)
        self._forget(name)

    def aim(
        self, name: str, rest_point: np.ndarray, target: np.ndarray, via: np.ndarray | None = None
    ) -> None:
        """Rotate `name` so that its rest point (e.g. the elbow for the upper arm) points from the bone head
        towards `target` (F, 3). Without `via`: the shortest swing from rest, exact wherever target is not
        opposite the rest direction. With `via` (an armature-space unit direction): the swing from rest to
        `via`, then the shortest swing on to the target, so the twist is singular only for targets opposite
        `via` (arms aim via the body's forward: only an arm pointing straight back would be singular; within
        18 degrees of that the swing from rest is used)."""
        bone = self.rig.bones[name]
        rot, head = self.base(name)
        inverse = np.swapaxes(rot, -1, -2)
        local_from = normalize(bone.rotation.T @ (np.asarray(rest_point) - bone.head))
        local_to = normalize(_apply(inverse, target - head))
        local_from = np.broadcast_to(local_from, local_to.shape)
        swing = swing_quaternion(local_from, local_to)
        if via is not None:  # frames aiming almost exactly against `via` keep the swing from rest
            local_via = normalize(_apply(inverse, np.broadcast_to(via, local_to.shape)))
            twice = quat_multiply(
                swing_quaternion(local_via, local_to), swing_quaternion(local_from, local_via)
            )
            usable = np.sum(local_via * local_to, axis=-1, keepdims=True) > -0.95
            swing = np.where(usable, twice, swing)
        self.set_rotation(name, quat_to_matrix(swing), swing)

    def turn(self, name: str, rotations: list[tuple[np.ndarray, np.ndarray]]) -> None:
        """Rotate `name` about its head by armature-space rotations [(unit axis (3,), angles (F,)), ...], the
        first applied last, on top of its parents' pose. An armature-space rotation about axis n is, in the
        bone's frame, the same angle about R0^T n, so no matrix conjugation is needed."""
        rot, _ = self.base(name)
        quaternion = np.array([1.0, 0.0, 0.0, 0.0])
        for axis, angle in rotations:
            half = 0.5 * np.asarray(angle, dtype=np.float64)[:, None]
            local_axis = _apply(np.swapaxes(rot, -1, -2), np.broadcast_to(axis, (self.frames, 3)))
            quaternion = quat_multiply(
                quaternion, np.concatenate([np.cos(half), np.sin(half) * local_axis], -1)
            )
        self.set_rotation(name, quat_to_matrix(quaternion), quaternion)

    def _forget(self, name: str) -> None:
        """Drop cached poses of `name` and everything below it."""
        for cached in list(self._cache):
            if cached == name or self.rig.is_ancestor(name, cached):
                del self._cache[cached]

    def quaternions(self) -> dict[str, np.ndarray]:
        return dict(self._quaternions)


def _apply(rot: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    """rot (3,3) or (F,3,3) applied to vectors (F,3)."""
    if rot.ndim == 2:
        return vectors @ rot.T
    return np.einsum("fij,fj->fi", rot, vectors)
