"""Quaternion (w, x, y, z) and rotation-matrix maths, vectorised over frames: (F, 4) and (F, 3, 3) arrays."""

from __future__ import annotations

import numpy as np

from .errors import MotionError

EULER_ORDERS = ("XYZ", "XZY", "YXZ", "YZX", "ZXY", "ZYX")


def normalize(v: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), eps)


def quat_to_matrix(q: np.ndarray) -> np.ndarray:
    q = normalize(np.asarray(q, dtype=np.float64))
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
        ],
        -2,
    )


def matrix_to_quat(m: np.ndarray) -> np.ndarray:
    """Rotation matrices -> unit quaternions; per element the best-conditioned of the four formulas."""
    m = np.asarray(m, dtype=np.float64)
    m00, m11, m22 = m[..., 0, 0], m[..., 1, 1], m[..., 2, 2]
    diagonals = [1 + m00 + m11 + m22, 1 + m00 - m11 - m22, 1 - m00 + m11 - m22, 1 - m00 - m11 + m22]
    skew_x, skew_y, skew_z = (
        m[..., 2, 1] - m[..., 1, 2],
        m[..., 0, 2] - m[..., 2, 0],
        m[..., 1, 0] - m[..., 0, 1],
    )
    sym_xy, sym_xz, sym_yz = (
        m[..., 0, 1] + m[..., 1, 0],
        m[..., 0, 2] + m[..., 2, 0],
        m[..., 1, 2] + m[..., 2, 1],
    )
    rows = [
        [diagonals[0], skew_x, skew_y, skew_z],
        [skew_x, diagonals[1], sym_xy, sym_xz],
        [skew_y, sym_xy, diagonals[2], sym_yz],
        [skew_z, sym_xz, sym_yz, diagonals[3]],
    ]  # row k: the quaternion (w, x, y, z) times 4 * its k-th component
    candidates = np.stack([np.stack(row, -1) for row in rows], -2)
    best = np.argmax(np.stack(diagonals, -1), axis=-1)
    q = np.take_along_axis(candidates, best[..., None, None], axis=-2)[..., 0, :]
    q = normalize(q)
    return q * np.where(q[..., :1] < 0, -1.0, 1.0)


def quat_multiply(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack(
        [
            aw * bw - ax * bx - ay * by - az * bz,
            aw * bx + ax * bw + ay * bz - az * by,
            aw * by - ax * bz + ay * bw + az * bx,
            aw * bz + ax * by - ay * bx + az * bw,
        ],
        -1,
    )


def quat_conjugate(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def swing_quaternion(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Shortest rotation taking unit vectors a onto b. w >= 0; undefined only for b = -a (callers keep away)."""
    q = np.concatenate([1.0 + np.sum(a * b, axis=-1, keepdims=True), np.cross(a, b)], axis=-1)
    return normalize(q)


def axis_angle_matrices(axis: np.ndarray, angle: np.ndarray) -> np.ndarray:
    """(F, 3, 3) rotations by angle[f] about the unit axis (3,) or axes (F, 3)."""
    half = 0.5 * np.asarray(angle, dtype=np.float64)[..., None]
    axis = np.broadcast_to(np.asarray(axis, dtype=np.float64), half.shape[:-1] + (3,))
    return quat_to_matrix(np.concatenate([np.cos(half), axis * np.sin(half)], axis=-1))


def make_continuous(q: np.ndarray) -> np.ndarray:
    """Flip signs so consecutive quaternions lie in the same hemisphere (Blender interpolates componentwise)."""
    q = np.array(q, dtype=np.float64)
    if len(q) == 0:
        return q
    dots = np.sum(q[1:] * q[:-1], axis=-1)
    signs = np.concatenate([[1.0 if q[0, 0] >= 0 else -1.0], np.where(dots < 0, -1.0, 1.0)])
    return q * np.cumprod(signs)[:, None]


def euler_to_matrix(euler: np.ndarray, order: str) -> np.ndarray:
    """Blender Euler (x, y, z angles) -> matrices; order "XYZ" applies X first: R = Rz @ Ry @ Rx."""
    euler = np.asarray(euler, dtype=np.float64)
    axes = np.eye(3)
    out = np.broadcast_to(np.eye(3), euler.shape[:-1] + (3, 3))
    for letter in _check_order(order):
        i = "XYZ".index(letter)
        out = axis_angle_matrices(axes[i], euler[..., i]) @ out
    return out


def quaternions_to_euler(q: np.ndarray, order: str) -> np.ndarray:
    """(F, 4) quaternions -> (F, 3) Blender Euler angles (x, y, z) for `order`, continuous between frames:
    per frame the closer of the two equivalent solutions, then 2*pi unwrapping (like Blender's compatible_eul)."""
    order = _check_order(order)
    m = quat_to_matrix(np.asarray(q, dtype=np.float64).reshape(-1, 4))
    i, j, k = ("XYZ".index(c) for c in order)
    parity = 1.0 if (j - i) % 3 == 1 else -1.0  # even permutations of XYZ
    # R = R_k(c) R_j(b) R_i(a): b from one element, a and c from two atan2's (gimbal lock: put it all in a).
    sin_b = np.clip(-parity * m[:, k, i], -1.0, 1.0)
    b = np.arcsin(sin_b)
    cos_b = np.sqrt(np.maximum(m[:, k, j] ** 2 + m[:, k, k] ** 2, 0.0))
    locked = cos_b < 1e-6
    a = np.where(
        locked, np.arctan2(-parity * m[:, j, k], m[:, j, j]), np.arctan2(parity * m[:, k, j], m[:, k, k])
    )
    c = np.where(locked, 0.0, np.arctan2(parity * m[:, j, i], m[:, i, i]))
    principal = np.stack([a, b, c], -1)
    alternate = np.stack([a + np.pi, np.pi - b, c + np.pi], -1)
    # Switching branch between frames t-1 and t is decided independently of the branch in use (symmetric).
    same = _wrapped_distance(principal[1:], principal[:-1])
    cross = _wrapped_distance(principal[1:], alternate[:-1])
    use_alt = np.concatenate([[False], np.cumsum(cross < same) % 2 == 1])
    chosen = np.unwrap(np.where(use_alt[:, None], alternate, principal), axis=0)
    euler = np.empty_like(chosen)
    euler[:, [i, j, k]] = chosen
    return euler


def _wrapped_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = np.mod(a - b + np.pi, 2 * np.pi) - np.pi
    return np.sum(d * d, axis=-1)


def _check_order(order: str) -> str:
    order = str(order).upper()
    if order not in EULER_ORDERS:
        raise MotionError(f"Unknown Euler order '{order}'; expected one of {', '.join(EULER_ORDERS)}.")
    return order


def angle_about(axis: np.ndarray, current: np.ndarray, wanted: np.ndarray) -> float:
    """Signed angle (radians, right-handed about the unit `axis`) from `current` to `wanted`, both (3,) and
    projected off the axis first: the turn about the axis that brings one into the other's half-plane."""
    a, b = current - axis * (current @ axis), wanted - axis * (wanted @ axis)
    return float(np.arctan2(np.cross(a, b) @ axis, a @ b))
