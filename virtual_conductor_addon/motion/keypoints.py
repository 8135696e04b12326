"""Backend keypoints (T, 13, 2), image coordinates with y down, at 30 fps: validation, repair, normalisation."""

from __future__ import annotations

import numpy as np

from ..contract import LEFT_SHOULDER, NUM_JOINTS, RIGHT_SHOULDER
from .errors import MotionError


def check_keypoints(keypoints) -> np.ndarray:
    """Refuse non-finite or misshapen input; repair degenerate frames (see `degenerate_frames`) by linear
    interpolation from the nearest good frames (held at the ends). The official code pads a short tail with
    all-zero frames, so such frames are expected, not an error; a clip with no good frame at all is."""
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[1:] != (NUM_JOINTS, 2) or len(kp) == 0:
        raise MotionError(f"Keypoints must have shape (frames, 13, 2); got {tuple(kp.shape)}.")
    bad = ~np.isfinite(kp).all(axis=(1, 2))
    if bad.any():
        frames = np.flatnonzero(bad)
        raise MotionError(
            f"Keypoints contain NaN or infinite values in {len(frames)} frame(s), first {frames[0]}."
        )
    degenerate = degenerate_frames(kp)
    if degenerate.all():
        raise MotionError("Keypoints have no usable frame (all frames are empty or collapsed).")
    if degenerate.any():
        good = np.flatnonzero(~degenerate)
        flat = kp.reshape(len(kp), -1)
        for col in range(flat.shape[1]):
            flat[degenerate, col] = np.interp(np.flatnonzero(degenerate), good, flat[good, col])
        kp = flat.reshape(kp.shape)
    return kp


def degenerate_frames(kp: np.ndarray) -> np.ndarray:
    """Frames whose shoulders coincide (all-zero padding included): nothing can be measured from them."""
    width = np.linalg.norm(kp[:, LEFT_SHOULDER] - kp[:, RIGHT_SHOULDER], axis=-1)
    scale = np.median(width[width > 0]) if np.any(width > 0) else 0.0
    return width <= 1e-3 * max(scale, 1e-12)


def shoulder_mid(kp: np.ndarray) -> np.ndarray:
    return 0.5 * (kp[:, LEFT_SHOULDER] + kp[:, RIGHT_SHOULDER])


def to_frontal_plane(kp: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keypoints relative to each frame's shoulder midpoint in units of the clip's median shoulder width, as
    (left, up) coordinates of the rig's frontal plane: image x -> left (the conductor faces the camera),
    image y (down) -> -up. Returns (relative (T,13,2), shoulder midpoints (T,2) in the same units)."""
    width = np.median(np.linalg.norm(kp[:, LEFT_SHOULDER] - kp[:, RIGHT_SHOULDER], axis=-1))
    plane = kp * np.array([1.0, -1.0]) / width
    mid = shoulder_mid(plane)
    return plane - mid[:, None, :], mid
