"""The armature's rest pose as plain numpy data (what the Blender layer reads from `bone.matrix_local`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .errors import MotionError


@dataclass(frozen=True)
class RestBone:
    """One bone at rest. `matrix` is Blender's `Bone.matrix_local` (armature space, head in the last column)."""

    name: str
    parent: str | None
    matrix: np.ndarray  # (4, 4) float64
    length: float

    @property
    def head(self) -> np.ndarray:
        return np.asarray(self.matrix, dtype=np.float64)[:3, 3]

    @property
    def rotation(self) -> np.ndarray:
        return np.asarray(self.matrix, dtype=np.float64)[:3, :3]

    @property
    def tail(self) -> np.ndarray:
        return self.head + self.rotation[:, 1] * self.length


@dataclass
class RigRest:
    """All bones of an armature (unmapped intermediate bones matter for forward kinematics)."""

    bones: dict[str, RestBone]
    _depth: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        for bone in self.bones.values():
            matrix = np.asarray(bone.matrix, dtype=np.float64)
            if matrix.shape != (4, 4) or not np.all(np.isfinite(matrix)):
                raise MotionError(f"Bone '{bone.name}' has an invalid rest matrix.")
            if bone.parent is not None and bone.parent not in self.bones:
                raise MotionError(
                    f"Bone '{bone.name}' names a parent '{bone.parent}' that is not in the armature."
                )
        for name in self.bones:
            self.depth(name)

    def depth(self, name: str) -> int:
        """Number of ancestors; also rejects parent cycles."""
        if name not in self._depth:
            chain, current = [], name
            while current is not None and current not in self._depth:
                if current in chain:
                    raise MotionError(f"Bone '{current}' is its own ancestor (parent cycle).")
                chain.append(current)
                current = self.bones[current].parent
            base = -1 if current is None else self._depth[current]
            for offset, bone in enumerate(reversed(chain), start=1):
                self._depth[bone] = base + offset
        return self._depth[name]

    def ancestors(self, name: str) -> list[str]:
        """Parent first, root last."""
        out, parent = [], self.bones[name].parent
        while parent is not None:
            out.append(parent)
            parent = self.bones[parent].parent
        return out

    def is_ancestor(self, ancestor: str, name: str) -> bool:
        return ancestor in self.ancestors(name)


def axis_angle_matrix(axis: np.ndarray, angle: float) -> np.ndarray:
    """Right-handed rotation by `angle` radians about the unit `axis` (Rodrigues)."""
    x, y, z = axis
    c, s, t = np.cos(angle), np.sin(angle), 1.0 - np.cos(angle)
    return np.array(
        [
            [t * x * x + c, t * x * y - s * z, t * x * z + s * y],
            [t * x * y + s * z, t * y * y + c, t * y * z - s * x],
            [t * x * z - s * y, t * y * z + s * x, t * z * z + c],
        ]
    )


def bone_matrix(head, tail, roll: float) -> np.ndarray:
    """Blender's `Bone.matrix_local` from edit-bone head, tail and roll (radians), as documented for
    `vec_roll_to_mat3`: the shortest rotation taking +Y onto the bone direction (a half turn about Z when the
    bone points straight down -Y), followed by a rotation of `roll` about the bone direction."""
    head = np.asarray(head, dtype=np.float64)
    direction = np.asarray(tail, dtype=np.float64) - head
    length = float(np.linalg.norm(direction))
    if length <= 1e-9:
        raise MotionError("A bone with zero length has no orientation.")
    x, y, z = direction / length
    theta = 1.0 + y  # 0 when the bone points along -Y
    xz_sq = x * x + z * z
    if theta > 6.1e-3 or xz_sq > 2.5e-4**2:
        if theta <= 6.1e-3:  # near -Y, 1 + y loses precision: series for it from x, z instead
            theta = xz_sq * 0.5 + xz_sq * xz_sq * 0.125
        swing = np.array(
            [
                [1.0 - x * x / theta, x, -x * z / theta],
                [-x, y, -z],
                [-x * z / theta, z, 1.0 - z * z / theta],
            ]
        )
    else:
        swing = np.diag([-1.0, -1.0, 1.0])
    matrix = np.eye(4)
    matrix[:3, :3] = axis_angle_matrix(np.array([x, y, z]), roll) @ swing
    matrix[:3, 3] = head
    return matrix


def rest_bone(name: str, parent: str | None, head, tail, roll: float = 0.0) -> RestBone:
    """A RestBone from edit-bone data (tests and the rig definition use this)."""
    length = float(np.linalg.norm(np.asarray(tail, float) - np.asarray(head, float)))
    return RestBone(name, parent, bone_matrix(head, tail, roll), length)
