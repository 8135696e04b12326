"""Scene frames <-> audio time, and keypoints resampled at arbitrary times (any scene frame rate)."""

from __future__ import annotations

import math

import numpy as np

from .errors import MotionError


def key_frames(
    range_start: float, range_end: float, fps: float, duration_s: float
) -> tuple[np.ndarray, np.ndarray]:
    """Integer scene frames f with range_start <= f < range_end and the audio time each shows:
    (f - range_start) / fps, clipped to [0, duration_s]. Audio time 0 is scene frame `range_start` (the strip's
    start, possibly fractional), so time t lands on frame range_start + t * fps at any fps (23.976 = 24/1.001)."""
    if not (math.isfinite(fps) and fps > 0):
        raise MotionError(f"The scene frame rate must be positive; got {fps}.")
    if not (math.isfinite(range_start) and math.isfinite(range_end)):
        raise MotionError("The frame range must be finite.")
    first = math.ceil(range_start - 1e-6)  # tolerance: 10.0000001 from float fps maths still starts at 10
    last = math.ceil(range_end - 1e-6) - 1
    if last < first:
        raise MotionError(f"The frame range {range_start:g}..{range_end:g} holds no whole frame to key.")
    frames = np.arange(first, last + 1, dtype=np.int64)
    times = np.clip((frames - range_start) / fps, 0.0, max(float(duration_s), 0.0))
    return frames, times


def sample_at(tracks: np.ndarray, times_s: np.ndarray, rate: float) -> np.ndarray:
    """Linear interpolation of tracks sampled at `rate` Hz (axis 0) at `times_s`; held beyond both ends."""
    tracks = np.asarray(tracks, dtype=np.float64)
    position = np.clip(np.asarray(times_s, dtype=np.float64) * rate, 0.0, len(tracks) - 1)
    lower = np.minimum(np.floor(position).astype(np.int64), len(tracks) - 1)
    upper = np.minimum(lower + 1, len(tracks) - 1)
    weight = (position - lower).reshape((-1,) + (1,) * (tracks.ndim - 1))
    return tracks[lower] * (1.0 - weight) + tracks[upper] * weight
