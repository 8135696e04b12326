"""A performance's DTW map made precise with the audio's onsets (docs/scores.md).

The DTW runs at a few tens of frames a second on chroma, and a slow attack (strings) pulls its path late:
measured 50-200 ms off. Two steps bring it onto the onsets:
1. local lag: in windows of WINDOW_S, every score onset (as the DTW places it) votes, through the audio's
   smoothed onset strength, for one shift within MAX_LAG_S; the shifts, median-filtered, move the map;
2. each beat with a note starting on it moves to the strongest audio onset within SNAP_S (a quarter beat at
   most); beats between such anchors are placed in proportion to their score positions, beats beyond the
   first or last anchor keep the DTW's spacing from it.
"""

import numpy as np

from .features import MEL_RATE

WINDOW_S = 4.0  # onsets that decide one local shift (a few beats: a shift constant over them)
WINDOW_STEP_S = 1.0
MAX_LAG_S = 0.3
SNAP_S = 0.06
SNAP_FLOOR = 0.15  # an onset weaker than this (of the strong onsets' level) is not snapped to


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


def snapped_beats(times: np.ndarray, beats_q: np.ndarray, onsets_q: np.ndarray, strength: np.ndarray):
    """Beat times moved onto the audio's onsets where the score has a note starting on the beat."""
    onsets_q = np.unique(np.round(onsets_q, 4))
    index = np.clip(np.searchsorted(onsets_q, beats_q), 1, len(onsets_q) - 1) if len(onsets_q) > 1 else None
    if index is None or len(times) < 2:
        return times
    nearest = np.minimum(np.abs(onsets_q[index] - beats_q), np.abs(onsets_q[index - 1] - beats_q))
    on_a_note = nearest < 1e-3
    spacing = np.gradient(times)
    refined, snapped = times.copy(), np.zeros(len(times), bool)
    for i in np.flatnonzero(on_a_note):
        reach = min(SNAP_S, 0.25 * spacing[i])
        lo = max(int((times[i] - reach) * MEL_RATE), 1)
        hi = min(int(np.ceil((times[i] + reach) * MEL_RATE)) + 1, len(strength) - 1)
        if hi - lo < 2:
            continue
        peak = lo + int(np.argmax(strength[lo:hi]))
        if strength[peak] > SNAP_FLOOR and strength[peak] >= max(strength[peak - 1], strength[peak + 1]):
            refined[i], snapped[i] = peak / MEL_RATE, True
    anchors = np.flatnonzero(snapped)
    if len(anchors) >= 2:
        between = np.arange(len(times))
        inside = (between > anchors[0]) & (between < anchors[-1]) & ~snapped
        refined[inside] = np.interp(beats_q[inside], beats_q[anchors], refined[anchors])
        # beyond the anchors: the DTW's spacing, from the nearest anchor (its offset there corrected)
        before, after = between < anchors[0], between > anchors[-1]
        refined[before] = refined[anchors[0]] - (times[anchors[0]] - times[before])
        refined[after] = refined[anchors[-1]] + (times[after] - times[anchors[-1]])
    return np.maximum.accumulate(refined + np.arange(len(refined)) * 1e-9)
