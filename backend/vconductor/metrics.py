"""Metrics on motion arrays (T, 13, 2) at 30 fps: beat alignment and beat period.

Beat Align Score follows FACT/AIST++: motion beats are the local minima of a joint's speed (lightly smoothed,
FACT's 5 frames at 60 fps = 2.5 frames here), and the score is the mean over motion beats of
exp(-d^2 / (2 sigma^2)), d = distance to the nearest music beat, sigma = 0.1 s. Bailando averages over music
beats instead (nearest motion beat to each music beat); that direction rewards jittery motion with many minima,
so it is available but not the default.
"""

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import argrelextrema

from .skeleton import FPS, JOINT

FACT_SMOOTHING_S = 5 / 60  # FACT smooths speed with sigma = 5 frames at 60 fps


def joint_speed(
    motion: np.ndarray, joint: str = "right_wrist", fps: float = FPS, smooth_s: float = FACT_SMOOTHING_S
):
    """Speed of one joint per frame (units per second), Gaussian-smoothed over `smooth_s` seconds."""
    p = np.asarray(motion, dtype=np.float64)[:, JOINT[joint]]
    speed = np.linalg.norm(np.gradient(p, axis=0), axis=1) * fps
    return gaussian_filter1d(speed, smooth_s * fps) if smooth_s > 0 else speed


def motion_beats(
    motion: np.ndarray, joint: str = "right_wrist", fps: float = FPS, smooth_s: float = FACT_SMOOTHING_S
):
    """Times (s) of the local minima of the joint's speed."""
    speed = joint_speed(motion, joint, fps, smooth_s)
    return argrelextrema(speed, np.less)[0] / fps


def beat_align_score(
    motion_beats_s: np.ndarray, music_beats_s: np.ndarray, sigma: float = 0.1, average_over: str = "motion"
) -> float:
    """Mean of exp(-d^2 / (2 sigma^2)) over motion beats (FACT, default) or over music beats (Bailando)."""
    motion_beats_s, music_beats_s = np.asarray(motion_beats_s, float), np.asarray(music_beats_s, float)
    if average_over not in ("motion", "music"):
        raise ValueError("average_over must be 'motion' or 'music'")
    queries, targets = (
        (motion_beats_s, music_beats_s) if average_over == "motion" else (music_beats_s, motion_beats_s)
    )
    if len(queries) == 0 or len(targets) == 0:
        return 0.0
    d = np.abs(queries[:, None] - targets[None, :]).min(axis=1)
    return float(np.mean(np.exp(-(d**2) / (2 * sigma**2))))


def beat_period(
    motion: np.ndarray, joint: str = "right_wrist", fps: float = FPS, min_s: float = 0.25, max_s: float = 2.0
) -> float:
    """Dominant period (s) of the joint's vertical motion: the highest autocorrelation peak of its velocity.

    A beat pattern repeats every bar, but every beat has an ictus (a down-up bounce), so the vertical velocity's
    strongest short-lag periodicity is the beat.
    """
    v = np.diff(np.asarray(motion, dtype=np.float64)[:, JOINT[joint], 1])
    v = v - v.mean()
    n = len(v)
    spectrum = np.fft.rfft(v, 2 * n)
    ac = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    lo, hi = int(min_s * fps), min(int(max_s * fps), n - 2)
    if hi <= lo:
        return float("nan")
    peaks = [k for k in range(lo, hi + 1) if ac[k] >= ac[k - 1] and ac[k] >= ac[k + 1]]
    if not peaks:
        return float("nan")
    k = max(peaks, key=lambda i: ac[i])
    # parabolic interpolation around the peak for sub-frame precision
    a, b, c = ac[k - 1], ac[k], ac[k + 1]
    offset = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
    return float((k + offset) / fps)


def period_matches(estimated_s: float, true_s: float, tolerance: float = 0.08) -> bool:
    """Within `tolerance` of the true period, or of half or double it (a conductor may beat in 2 or in 4)."""
    return any(abs(estimated_s - true_s * f) <= tolerance * true_s * f for f in (0.5, 1.0, 2.0))
