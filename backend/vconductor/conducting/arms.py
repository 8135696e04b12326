"""The arms in 3D: how far in front of the shoulders each hand works, and a two-link inverse kinematics with a
hanging elbow; the image shows the orthographic projection (docs/conducting.md#arms)."""

import numpy as np

from .tuning import ConductorConfig


def hand_depth(
    wrist: np.ndarray, shoulder: np.ndarray, size: np.ndarray, config: ConductorConfig
) -> np.ndarray:
    """How far in front of the shoulders' plane each hand works (T,): furthest at the beat plane, nearer on the
    rebound above it and at rest below it, a little further for big patterns; but never so near that the arm
    folds up (a hand raised close to its shoulder reaches forward instead: the elbow stays away from the body).
    """
    height = wrist[:, 1] - config.beat_plane_y
    reach = config.hand_depth + config.hand_depth_per_size * (size - config.size_soft)
    fall = np.where(
        height < 0, config.hand_depth_fall_up, config.hand_depth_fall
    )  # raised hands reach forward
    depth = np.maximum(reach - fall * height**2, 0.02)
    flat = np.linalg.norm(wrist - shoulder, axis=1)
    unfolded = np.sqrt(
        np.maximum((config.min_arm_extension * (config.upper_arm + config.forearm)) ** 2 - flat**2, 0)
    )
    return np.maximum(depth, unfolded)


def arm_ik_3d(
    shoulder: np.ndarray, wrist: np.ndarray, depth: np.ndarray, config: ConductorConfig, out: float
) -> tuple[np.ndarray, np.ndarray]:
    """3D elbow and wrist (T, 3) for an arm of constant 3D bone lengths whose hand is at image position `wrist`
    (T, 2) and about `depth` (T,) in front of `shoulder` (T, 2). Coordinates: image x, image y (down), z
    towards the camera; (x, y) is the orthographic projection.

    The image position is kept where the arm can reach it; the depth gives way first. The elbow bends towards
    a pole pointing down, `out` (-1 right arm: image-left; +1 left) and back."""
    upper, fore = config.upper_arm, config.forearm
    offset, flat_in = _reachable_offset(wrist - shoulder, upper + fore)
    z, dist = _reachable_depth(flat_in, depth, upper, fore)
    target = np.column_stack([offset, z])
    unit = target / np.maximum(dist, 1e-9)[:, None]
    pole = np.array([out * config.elbow_out, 1.0, -config.elbow_back])
    across_dir = pole - (unit @ pole)[:, None] * unit
    across_dir /= np.maximum(np.linalg.norm(across_dir, axis=1), 1e-9)[:, None]
    along = (upper**2 - fore**2 + dist**2) / (2 * dist)
    across = np.sqrt(np.maximum(upper**2 - along**2, 0.0))
    origin = np.column_stack([shoulder, np.zeros(len(shoulder))])
    elbow = origin + along[:, None] * unit + across[:, None] * across_dir
    return elbow, origin + target


def _reachable_offset(offset: np.ndarray, arm: float) -> tuple[np.ndarray, np.ndarray]:
    """The image offset from the shoulder, pulled in softly where even a flat arm could not reach it; and its
    length."""
    reach, knee = 0.995 * arm, 0.93 * arm
    flat = np.maximum(np.linalg.norm(offset, axis=1), 1e-9)
    flat_in = np.where(flat > knee, reach - (reach - knee) * np.exp(-(flat - knee) / (reach - knee)), flat)
    return offset * (flat_in / flat)[:, None], flat_in


def _reachable_depth(flat_in: np.ndarray, depth: np.ndarray, upper: float, fore: float):
    """The depth (z) and the 3D shoulder-to-wrist distance: the wanted depth softly capped where the distance
    would pass the knee, and pushed forward where the hand would be too close for the elbow to fold."""
    knee = 0.93 * (upper + fore)
    near, near_knee = abs(upper - fore) + 0.02, abs(upper - fore) + 0.05
    room = np.sqrt(np.maximum(knee**2 - flat_in**2, 0.0))
    softness = 0.01
    z = np.maximum(-softness * np.logaddexp(-depth / softness, -room / softness), 0.0)
    dist = np.sqrt(flat_in**2 + z**2)
    folded = near + (near_knee - near) * np.exp((dist - near_knee) / (near_knee - near))
    dist = np.where(dist < near_knee, folded, dist)
    z = np.sqrt(np.maximum(dist**2 - flat_in**2, 0.0))
    return z, dist
