"""The ScoreGuide (conducting/score_guide.py) of an aligned score: entries, fermatas, dynamics and
articulation in the audio's seconds."""

from collections.abc import Callable

import numpy as np

from ..conducting.score_guide import Entry, ScoreGuide
from .alignment import Alignment
from .timeline import ScoreTimeline

LOUD = 0.75  # f and louder
DEFAULT_LEVEL = 0.6  # mf where a part has no mark yet
HAIRPIN_STEP = 0.15  # a hairpin with no mark after it moves the level this much
MARK_STEP_Q = 1 / 32  # the old level's last point before a new dynamic mark (quarters)
STACCATO_WINDOW_Q = 2.0  # staccato share over the notes starting within this many quarters


def beat_clock(alignment: Alignment, beats_q, beats_s, fermatas=()) -> Callable:
    """Score quarters -> audio seconds through the beats given to the conductor (placed on the audio), the
    alignment's map only beyond them (joined on, no jump). Beats inside a fermata are no anchors (placed by
    their score position only; the example's last one sat 0.1 s into its fermata). The alignment's map
    alone can lie a second off the placed beats (a DTW path across a held fermata)."""
    beats_q, beats_s = np.asarray(beats_q, float), np.asarray(beats_s, float)
    held = np.zeros(len(beats_q), bool)
    for start, end in fermatas:
        held |= (beats_q > start + 1e-6) & (beats_q < end - 1e-6)
    order = np.argsort(beats_q[~held], kind="stable")
    beats_q, beats_s = beats_q[~held][order], beats_s[~held][order]
    if len(beats_q) < 2:
        return alignment.seconds
    first_q, last_q = beats_q[0], beats_q[-1]
    before = beats_s[0] - float(alignment.seconds(first_q))
    after = beats_s[-1] - float(alignment.seconds(last_q))

    def seconds(quarters) -> np.ndarray:
        q = np.asarray(quarters, float)
        inside = np.interp(q, beats_q, beats_s)
        mapped = alignment.seconds(q)
        return np.where(q < first_q, mapped + before, np.where(q > last_q, mapped + after, inside))

    return seconds


def score_guide(
    timeline: ScoreTimeline, seconds: Callable, duration_s: float, played_from_q: float = -np.inf
) -> ScoreGuide:
    """What the score tells the conductor, in the audio's time (`seconds`: quarters -> seconds, beat_clock);
    events outside the audio dropped. `played_from_q`: where the audio starts in the score (an excerpt's
    first played beat), so the music's start is known only when the audio plays it."""
    entries = tuple(
        Entry(float(seconds(q)), part, timeline.instruments[part], bool(_level_at(timeline, part, q) >= LOUD))
        for q, part in _entries_q(timeline)
        if 0.0 <= seconds(q) <= duration_s
    )
    fermatas = tuple(
        (float(seconds(a)), float(seconds(b)))
        for a, b in timeline.fermatas
        if 0.0 <= seconds(a) <= duration_s
    )
    points_q = _curve_points(timeline)
    level = np.array(
        [np.mean([_level_at(timeline, p, q) for p in range(len(timeline.instruments))]) for q in points_q]
    )
    points_s = seconds(points_q)
    keep = np.r_[True, np.diff(points_s) > 1e-6]
    return ScoreGuide(
        entries=entries,
        fermatas=fermatas,
        dynamics_s=points_s[keep],
        dynamics=level[keep]
        if timeline.dynamics or timeline.hairpins
        else np.full(keep.sum(), DEFAULT_LEVEL),
        staccato=_staccato_at(timeline, points_q)[keep],
        instruments=tuple(timeline.instruments),
        music_starts_s=_music_starts(timeline, seconds, duration_s, played_from_q),
    )


def _music_starts(
    timeline: ScoreTimeline, seconds: Callable, duration_s: float, played_from_q: float
) -> float:
    first_q = float(timeline.notes["onset_q"].min())
    at = float(seconds(first_q))
    return at if first_q >= played_from_q and 0.0 <= at <= duration_s else float("nan")


def _entries_q(timeline: ScoreTimeline) -> list[tuple[float, int]]:
    """(quarter, part) of each part's first note and of its first note after a rest of a bar or more."""
    notes = timeline.notes
    bar_q = float(np.median([b.length_q for b in timeline.bars]))
    found = []
    for part in np.unique(notes["part"]):
        mine = notes[notes["part"] == part]
        ends = np.maximum.accumulate(mine["onset_q"] + mine["duration_q"])
        gaps = mine["onset_q"][1:] - ends[:-1]
        starts = np.r_[mine["onset_q"][0], mine["onset_q"][1:][gaps >= bar_q - 1e-6]]
        found += [(float(q), int(part)) for q in starts]
    return sorted(found)


def _curve_points(timeline: ScoreTimeline) -> np.ndarray:
    points = {0.0, timeline.end_q}
    # a mark is a step: the old level holds until just before it (else the curve ramps over a bar, which the
    # conductor would read as a crescendo)
    points |= {q for q, _, _ in timeline.dynamics} | {
        q - MARK_STEP_Q for q, _, _ in timeline.dynamics if q > 0
    }
    points |= {q for a, b, _, _ in timeline.hairpins for q in (a, b)}
    points |= {float(b.start_q) for b in timeline.bars}  # articulation changes bar by bar
    return np.array(sorted(points))


def _level_at(timeline: ScoreTimeline, part: int, q: float) -> float:
    """A part's written level at `q`: its last mark, moved along a hairpin it is inside."""
    marks = [(mq, v) for mq, p, v in timeline.dynamics if p == part]
    before = [v for mq, v in marks if mq <= q + 1e-9]
    level = before[-1] if before else DEFAULT_LEVEL
    for start, end, p, direction in timeline.hairpins:
        if p != part or not start <= q <= end or end <= start:
            continue
        after = [v for mq, v in marks if mq >= end - 1e-9]
        target = after[0] if after else float(np.clip(level + direction * HAIRPIN_STEP, 0.1, 1.0))
        at_start = ([v for mq, v in marks if mq <= start + 1e-9] or [DEFAULT_LEVEL])[-1]
        level = at_start + (target - at_start) * (q - start) / (end - start)
    return float(level)


def _staccato_at(timeline: ScoreTimeline, points_q: np.ndarray) -> np.ndarray:
    onsets = timeline.notes["onset_q"]
    share = []
    for q in points_q:
        near = np.abs(onsets - q) <= STACCATO_WINDOW_Q
        share.append(float(timeline.staccato[near].mean()) if near.any() else 0.0)
    return np.array(share)
