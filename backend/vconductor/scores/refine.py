"""A performance's DTW map moved onto the audio's onsets (docs/scores.md).

The DTW runs at a few tens of frames a second on chroma, and a slow attack (strings) pulls its path late:
measured 50-200 ms off. Local lag: in windows of WINDOW_S, every score onset (as the DTW places it) votes,
through the audio's smoothed onset strength, for one shift within MAX_LAG_S; the shifts, median-filtered, move
the map. The beats are then placed on the moved map's estimates (placement.py).
"""

import numpy as np

from .features import MEL_RATE

WINDOW_S = 4.0  # onsets that decide one local shift (a few beats: a shift constant over them)
WINDOW_STEP_S = 1.0
MAX_LAG_S = 0.3


def shifted_map(audio_s: np.ndarray, onsets_at_s: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """`audio_s` (the DTW's increasing audio times) moved by the local lag that best fits the score's onsets
    (placed at `onsets_at_s` by the DTW) to the audio's onset strength."""
    from scipy.ndimage import gaussian_filter1d, median_filter

    smooth = gaussian_filter1d(strength, 1.5)
    lags = np.arange(-int(MAX_LAG_S * MEL_RATE), int(MAX_LAG_S * MEL_RATE) + 1)
    frames = np.round(onsets_at_s * MEL_RATE).astype(int)
    centres = np.arange(audio_s[0], audio_s[-1] + WINDOW_STEP_S, WINDOW_STEP_S)
    shifts = np.zeros(len(centres))
    prior = np.exp(-0.5 * (lags / (0.15 * MEL_RATE)) ** 2)  # small shifts first: the DTW is roughly right
    for i, centre in enumerate(centres):
        near = frames[np.abs(onsets_at_s - centre) <= WINDOW_S / 2]
        if len(near) < 3:
            shifts[i] = np.nan
            continue
        at = np.clip(near[None, :] + lags[:, None], 0, len(smooth) - 1)
        votes = smooth[at].sum(axis=1) * (0.5 + 0.5 * prior)
        shifts[i] = lags[int(np.argmax(votes))] / MEL_RATE
    known = ~np.isnan(shifts)
    if not known.any():
        return audio_s
    shifts = np.interp(centres, centres[known], shifts[known])
    shifts = median_filter(shifts, 5, mode="nearest")
    moved = audio_s + np.interp(audio_s, centres, shifts)
    return np.maximum.accumulate(moved) + np.arange(len(moved)) * 1e-7
