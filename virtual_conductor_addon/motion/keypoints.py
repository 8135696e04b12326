"""Backend keypoints (T, 13, 2), image coordinates with y down, at 30 fps, and their optional authored 3D
(T, 13, 3) in the body frame of docs/motion-files.md: validation, repair, normalisation."""

from __future__ import annotations

import numpy as np

from ..contract import LEFT_SHOULDER, NUM_JOINTS, RIGHT_SHOULDER
from .errors import MotionError


def check_keypoints(keypoints, dims: int = 2, name: str = "Keypoints") -> np.ndarray:
    """Refuse non-finite or misshapen input; repair degenerate frames (see `degenerate_frames`) by linear
    interpolation from the nearest good frames (held at the ends). The official code pads a short tail with
    all-zero frames, so such frames are expected, not an error; a clip with no good frame at all is.
    dims = 3 checks authored 3D keypoints the same way."""
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[1:] != (NUM_JOINTS, dims) or len(kp) == 0:
        raise MotionError(f"{name} must have shape (frames, 13, {dims}); got {tuple(kp.shape)}.")
    bad = ~np.isfinite(kp).all(axis=(1, 2))
    if bad.any():
        frames = np.flatnonzero(bad)
        raise MotionError(
            f"{name} contain NaN or infinite values in {len(frames)} frame(s), first {frames[0]}."
        )
    degenerate = degenerate_frames(kp)
    if degenerate.all():
        raise MotionError(f"{name} have no usable frame (all frames are empty or collapsed).")
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
    plane = kp * np.array([1.0, -1.0]) / shoulder_width(kp)
    mid = shoulder_mid(plane)
    return plane - mid[:, None, :], mid


def to_body_frame(kp3d: np.ndarray, width: float) -> tuple[np.ndarray, np.ndarray]:
    """Authored 3D keypoints (x left, y down, z forward) -> the rig's body coordinates (left, back, up) in
    keypoint shoulder widths `width`, relative to each frame's shoulder midpoint: (relative (T,13,3), midpoints
    (T,3))."""
    body = kp3d[..., [0, 2, 1]] * np.array([1.0, -1.0, -1.0]) / width
    mid = shoulder_mid(body)
    return body - mid[:, None, :], mid


def shoulder_width(kp: np.ndarray) -> float:
    """The clip's median shoulder width (the unit of the relative keypoints)."""
    return float(np.median(np.linalg.norm(kp[:, LEFT_SHOULDER] - kp[:, RIGHT_SHOULDER], axis=-1)))
