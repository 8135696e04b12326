"""Simple peak picking on an activation: a stand-in until the decoder that follows tempo and metre exists.

A frame is a peak when it is the largest value within +-`min_gap_s` and at least `threshold`; of equal peaks
closer than that, the first is kept. Used for validation metrics during training and for baselines.
"""

import numpy as np
from scipy.ndimage import maximum_filter1d

from .features import FRAME_RATE

BEAT_THRESHOLD = 0.3
MIN_BEAT_GAP_S = 0.2  # 300 BPM
MIN_DOWNBEAT_GAP_S = 0.6


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
