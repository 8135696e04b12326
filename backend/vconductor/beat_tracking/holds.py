"""Held beats in the tracked beats: fermatas (docs/beat-tracker.md, "Fermatas").

The beat stage follows a tempo path, so where a chord is held past its beat (a fermata: 1.5-3 times longer) it
places beats inside the held chord at about the running tempo, with no beat activation. Those beats are not in
the music, and they shift every later bar by one place. A run of such unheard beats between two heard ones is
dropped when the beats it makes are stretched or squeezed against the tempo of the heard beats nearby (a held
note in strict time keeps the tempo, and its silent beats stay). The beat before a long interval then holds:
its downbeat activation (the network hears a cadence's held chord as a bar start) is no evidence for the bar
model either way.
"""

import numpy as np

from .peaks import peaks_at

HEARD_BEAT = 0.1  # a beat whose activation (relative to the piece's level) reaches this was heard
# unheard beats whose intervals are off the local period by more than this factor, either way, fill a fermata
FILL_DEVIATION = 1.1
MAX_HOLD_PERIODS = 4.0  # ... if the held span is at most this many periods (longer: a passage, not a fermata)
HOLD_GAP = 1.5  # a beat followed by an interval this many local periods long is held
LOCAL_INTERVALS = 8  # the local period: the median of this many intervals between heard beats, nearest first


def without_fermata_fills(frames: np.ndarray, beat_act: np.ndarray) -> np.ndarray:
    """The beat frames without the runs of unheard beats that fill a held chord."""
    heard = peaks_at(beat_act, frames) >= HEARD_BEAT
    local = local_periods(frames, heard)
    if local is None:
        return frames
    keep = np.ones(len(frames), bool)
    for first, stop in _unheard_runs(heard):
        before, after = first - 1, stop
        span = float(frames[after] - frames[before])
        deviation = span / (after - before) / local[before]
        if abs(np.log(deviation)) > np.log(FILL_DEVIATION) and span <= MAX_HOLD_PERIODS * local[before]:
            keep[first:stop] = False
    return frames[keep]


def held_beats(frames: np.ndarray, heard: np.ndarray) -> np.ndarray:
    """(B,) bool: the beats followed by an interval of more than HOLD_GAP local periods."""
    local = local_periods(frames, heard)
    held = np.zeros(len(frames), bool)
    if local is not None:
        held[:-1] = np.diff(frames) > HOLD_GAP * local[:-1]
    return held


def local_periods(frames: np.ndarray, heard: np.ndarray) -> np.ndarray | None:
    """(B,) each beat's local period (frames): the median of the LOCAL_INTERVALS intervals between two heard
    beats nearest it, about half before and half after; None when the piece has fewer such intervals."""
    between_heard = np.flatnonzero(heard[:-1] & heard[1:])
    if len(between_heard) < LOCAL_INTERVALS:
        return None
    intervals = np.diff(frames)[between_heard].astype(np.float64)
    medians = np.median(np.lib.stride_tricks.sliding_window_view(intervals, LOCAL_INTERVALS), axis=1)
    start = np.searchsorted(between_heard, np.arange(len(frames))) - LOCAL_INTERVALS // 2
    return medians[np.clip(start, 0, len(medians) - 1)]


def _unheard_runs(heard: np.ndarray) -> list[tuple[int, int]]:
    """[first, stop) of each run of unheard beats with a heard beat on either side."""
    edges = np.diff(np.r_[0, (~heard).astype(np.int8), 0])
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(a, b) for a, b in zip(starts.tolist(), stops.tolist(), strict=True) if a > 0 and b < len(heard)]
