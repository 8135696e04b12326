"""Which part of a score the audio plays, when the score is much longer than the audio (an excerpt: the first
minute of a movement, a middle section).

A subsequence DTW (librosa.sequence.dtw, subseq=True) of the audio's chroma against the whole score's, at a
coarse SECTION_RATE and at each of a few overall tempo ratios (a performance need not keep the written tempo),
with the local tempo held within 0.5-2x of the ratio, finds where in the score the audio starts and ends; the
lowest cost per audio frame picks the ratio. The
alignment then runs on the notes of that section only (alignment.py).
"""

import numpy as np

from .features import MEL_RATE, normalized_chroma, pooled, score_chroma
from .timeline import ScoreTimeline

SECTION_RATE = 4.0  # frames a second: enough to find bars, cheap for a long score
TEMPO_RATIOS = (0.5, 0.63, 0.8, 1.0, 1.25, 1.6, 2.0)  # audio seconds per nominal second
MARGIN_Q = 4.0  # the section is widened by this many quarters each side (the fine alignment decides)


def audio_section(
    timeline: ScoreTimeline, chroma_a: np.ndarray, first: int, last: int
) -> tuple[float, float]:
    """(first, last) quarter of the score that the audio's frames first..last play."""
    import librosa

    n_audio = max(2, int((last - first) / MEL_RATE * SECTION_RATE))
    audio = normalized_chroma(pooled(chroma_a[first:last], MEL_RATE / SECTION_RATE, n_audio))
    notes = timeline.notes
    onsets = timeline.nominal_seconds(notes["onset_q"])
    ends = timeline.nominal_seconds(notes["onset_q"] + notes["duration_q"])
    best = (np.inf, 0.0, timeline.end_q)
    for ratio in TEMPO_RATIOS:
        rate = SECTION_RATE * ratio  # score frames a nominal second, so one frame is one audio frame
        n_score = max(2, int(ends.max() * rate) + 1)
        if n_score < n_audio * 0.8:
            continue  # the whole score at this tempo is shorter than the audio
        score = normalized_chroma(
            score_chroma(notes["pitch"], onsets, ends, notes["velocity"], n_score, rate)
        )
        cost = 1.0 - audio @ score.T
        steps = np.array([[1, 1], [1, 2], [2, 1]])  # local tempo within 0.5-2x of the ratio
        total, path = librosa.sequence.dtw(C=cost, subseq=True, backtrack=True, step_sizes_sigma=steps)
        per_frame = float(total[-1, path[0, 1]]) / n_audio
        if per_frame < best[0]:
            start_s, end_s = path[-1, 1] / rate, (path[0, 1] + 1) / rate
            best = (per_frame, *_quarters(timeline, (start_s, end_s)))
    _, start_q, end_q = best
    return max(start_q - MARGIN_Q, -1e9), min(end_q + MARGIN_Q, timeline.end_q)


def _quarters(timeline: ScoreTimeline, seconds) -> tuple[float, float]:
    grid = np.arange(0.0, timeline.end_q + 1 / 24, 1 / 24)
    start, end = np.interp(seconds, timeline.nominal_seconds(grid), grid)
    return float(start), float(end)


def section_notes(timeline: ScoreTimeline, start_q: float, end_q: float) -> ScoreTimeline:
    """A copy of `timeline` whose notes are those starting in [start_q, end_q) (its bars and beats kept)."""
    import copy

    keep = (timeline.notes["onset_q"] >= start_q - 1e-6) & (timeline.notes["onset_q"] < end_q - 1e-6)
    cut = copy.copy(timeline)
    cut.notes, cut.staccato = timeline.notes[keep], timeline.staccato[keep]
    cut.fermatas = [f for f in timeline.fermatas if start_q <= f[0] < end_q]
    return cut
