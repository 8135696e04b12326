"""The rendered case's straight line (docs/scores.md): its slope (audio rendered from the score at another
constant tempo) and the places where the audio leaves it (a ritardando written only as a word, a held fermata,
a tempo change the score does not notate).

A departure is a stretch where the performance map (the DTW, moved onto the onsets: refine.py) runs more than
DEPART_S from the line AND the score's onsets meet the audio's onsets clearly better on the map than on the
line there. A render that follows its score has no such stretch: the map wanders off the line only where its
evidence is weak, and there the line's onsets meet as well (or the map's do not meet).
"""

import numpy as np

from .features import MEL_RATE

SLOPE_STEPS = np.linspace(-0.03, 0.03, 61)  # relative slopes searched around the DTW's overall one
DEPART_S = 0.3  # a stretch where the map runs this far from the line (0.07, the beat F tolerance: a true
# render's map wandered 0.07-0.1 s off where its onsets were ambiguous; with onset chroma in the DTW (path_dtw.py)
# true renders' maps ran 0.15-0.26 s off in three places with their onsets met better, op. 18/1 and K. 458;
# true departures, rit. renders of 8 works and the example: 0.56 s and more) ...
CALM_S = 0.03  # ... reaching back and on while it stays this far from it
MEET_S = 0.05  # an onset meets the audio's when an onset-strength peak lies this close (the line's fit) ...
CLOSE_S = 0.025  # ... a departure's evidence: this close, after the flux's delay (dense audio has many peaks)
DRIFT_S = 0.1  # a smaller departure (a gradual drift: an accelerando the score does not write, 0.28 s off
# over its last 8 beats in a hymn) counts only with clear evidence: ...
DRIFT_ONSETS = 6  # ... this many onsets, ...
DRIFT_MAP = 0.85  # ... nearly all met on the map ...
DRIFT_LINE = 0.5  # ... and at most half on the line (the hymn: 10 onsets, 1.00 on the map, 0.30 on the line)
MIN_ONSETS = 3  # score onsets a departure needs for its evidence
BETTER = 0.25  # the map's share of onsets met exceeds the line's by this much ...
MIN_SHARE = 0.4  # ... and is at least this


def onset_distance(times_s: np.ndarray, strength: np.ndarray) -> np.ndarray:
    """Each time's signed distance to the nearest onset-strength peak (inf without peaks)."""
    from scipy.ndimage import maximum_filter1d

    peaks = (strength == maximum_filter1d(strength, 5)) & (strength > 0.2)
    peak_times = np.flatnonzero(peaks) / MEL_RATE
    if len(peak_times) < 2:
        return np.full(len(times_s), np.inf)
    at = np.clip(np.searchsorted(peak_times, times_s), 1, len(peak_times) - 1)
    after, before = peak_times[at] - times_s, peak_times[at - 1] - times_s
    return np.where(np.abs(after) < np.abs(before), after, before)


def slope_candidates(nominal_s: np.ndarray, audio_s: np.ndarray, fermatas_s=()) -> np.ndarray:
    """Slopes (audio seconds per nominal second) to try after 1: the DTW path's overall slope (the median of
    the slopes between points half the path apart: a ritardando or a stall moves it little), and near it.
    With fermatas, the pairs lie within one stretch between them (a held fermata would steepen the slope of
    every pair across it: one held 3 s in a 25 s chorale, 10 %, beyond the search)."""
    bounds = sorted({float(b) for span in fermatas_s for b in span})
    stretch = np.searchsorted(bounds, nominal_s)  # the path's points between the same fermata bounds
    rises, runs = [], []
    for k in np.unique(stretch) if bounds else [None]:
        inside = np.flatnonzero(stretch == k) if k is not None else np.arange(len(nominal_s))
        half = len(inside) // 2
        if half >= 2:
            rises.append(audio_s[inside[half:]] - audio_s[inside[: len(inside) - half]])
            runs.append(nominal_s[inside[half:]] - nominal_s[inside[: len(inside) - half]])
    if not rises:
        return np.array([])
    overall = float(np.median(np.concatenate(rises) / np.maximum(np.concatenate(runs), 1e-6)))
    return overall * (1 + SLOPE_STEPS)


def fitted_line(
    times_s: np.ndarray, slope: float, offset: float, strength: np.ndarray
) -> tuple[float, float]:
    """(slope, offset) refit by least squares to the audio onsets that `times_s` (nominal) meet on the line:
    the search's steps are coarse (0.1 %: 60 ms over a minute)."""
    expected = slope * times_s + offset
    distance = onset_distance(expected, strength)
    met = np.abs(distance) <= MEET_S
    if met.sum() < 4:
        return slope, offset
    heard = expected[met] + distance[met] - np.median(distance[met])  # the flux's own delay left in place
    new_slope, new_offset = np.polyfit(times_s[met], heard, 1)
    return float(new_slope), float(new_offset)


def departures(
    grid_q: np.ndarray,
    line_s: np.ndarray,
    map_s: np.ndarray,
    onsets_q: np.ndarray,
    strength: np.ndarray,
) -> list[tuple[float, float]]:
    """The score stretches (start_q, end_q) where the audio leaves the line (`line_s` on `grid_q`) and follows
    the performance map (`map_s` on `grid_q`)."""
    gap = np.abs(map_s - line_s)
    onsets_q = np.unique(np.asarray(onsets_q, float))
    line_at, map_at = (np.interp(onsets_q, grid_q, s) for s in (line_s, map_s))
    heard = np.flatnonzero(strength > 0.2) / MEL_RATE
    if len(heard) == 0:
        return []
    # outside the audio's onsets the map squeezes what is left of a cut excerpt
    audible = (np.minimum(line_at, map_at) >= heard[0]) & (np.maximum(line_at, map_at) <= heard[-1])
    on_line, on_map = (_close(onset_distance(at, strength)) for at in (line_at, map_at))
    found = []
    for start, end in _runs(gap > CALM_S):
        if gap[start:end].max() <= DRIFT_S:
            continue
        inside = audible & (onsets_q >= grid_q[start]) & (onsets_q <= grid_q[end - 1])
        if inside.sum() < MIN_ONSETS:
            continue
        line_share, map_share = on_line[inside].mean(), on_map[inside].mean()
        if gap[start:end].max() <= DEPART_S and not _clear_drift(inside.sum(), line_share, map_share):
            continue
        if map_share >= MIN_SHARE and map_share >= line_share + BETTER:
            # it starts at the first onset the line misses (the map may run off early: a fermata expected held)
            missed = onsets_q[inside & ~on_line]
            begin = max(grid_q[start], missed[0]) if len(missed) else grid_q[start]
            found.append((float(begin), float(grid_q[end - 1])))
    return found


def _clear_drift(onsets: int, line_share: float, map_share: float) -> bool:
    return onsets >= DRIFT_ONSETS and map_share >= DRIFT_MAP and line_share <= DRIFT_LINE


def _close(distance: np.ndarray) -> np.ndarray:
    met = np.abs(distance) <= MEET_S
    delay = float(np.median(distance[met])) if met.any() else 0.0
    return np.abs(distance - delay) <= CLOSE_S


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    edges = np.flatnonzero(np.diff(np.r_[0, mask.astype(np.int8), 0]))
    return list(zip(edges[::2], edges[1::2], strict=True))
