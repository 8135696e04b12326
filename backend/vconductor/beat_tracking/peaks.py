"""Peaks of an activation: the activation's peak near given beats (the decoder's evidence), and simple peak
picking, used for validation metrics during training and for baselines.

A frame is a picked peak when it is the largest value within +-`min_gap_s` and at least `threshold`; of equal
peaks closer than that, the first is kept.
"""

import numpy as np
from scipy.ndimage import maximum_filter1d

from .features import FRAME_RATE

BEAT_THRESHOLD = 0.3
MIN_BEAT_GAP_S = 0.2  # 300 BPM
MIN_DOWNBEAT_GAP_S = 0.6
PEAK_RADIUS = 3  # frames either side of a beat searched for its activation peak (35 ms)


def peaks_at(activation: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """The largest activation within PEAK_RADIUS frames of each frame."""
    offsets = np.arange(-PEAK_RADIUS, PEAK_RADIUS + 1)
    index = np.clip(frames[:, None] + offsets[None, :], 0, len(activation) - 1)
    return activation[index].max(axis=1)


def pick_peaks(activation: np.ndarray, threshold: float, min_gap_s: float) -> np.ndarray:
    """Times (s) of the peaks of a per-frame activation."""
    activation = np.asarray(activation, np.float32)
    gap = max(1, round(min_gap_s * FRAME_RATE))
    if len(activation) == 0:
        return np.zeros(0)
    local_max = maximum_filter1d(activation, 2 * gap + 1, mode="constant", cval=-np.inf)
    candidates = np.flatnonzero((activation >= local_max) & (activation >= threshold))
    kept: list[int] = []
    for frame in candidates:
        if not kept or frame - kept[-1] > gap:
            kept.append(int(frame))
    return np.asarray(kept, np.float64) / FRAME_RATE


def beats_and_downbeats(
    activations: np.ndarray, threshold: float = BEAT_THRESHOLD
) -> tuple[np.ndarray, np.ndarray]:
    """(beat times, downbeat times) in seconds from (n, 2) activations."""
    beats = pick_peaks(activations[:, 0], threshold, MIN_BEAT_GAP_S)
    downbeats = pick_peaks(activations[:, 1], threshold, MIN_DOWNBEAT_GAP_S)
    return beats, downbeats
