"""A music21 score as plain numbers: its bars as played (repeats expanded), notes, tempo marks, fermatas and
section ends, in quarter lengths from the start. Shared by the runtime (a user's score, `vconductor.scores`)
and the beat tracker's training data (`vconductor.beat_data`). music21 is imported inside the functions.
"""

import math

import numpy as np

from .labels import Bar

NOTE_DTYPE = np.dtype(
    [("onset_q", "f8"), ("duration_q", "f8"), ("pitch", "i2"), ("part", "i2"), ("velocity", "i2")]
)
DEFAULT_DYNAMIC = 0.55  # music21's volumeScalar of mf-ish: a score without dynamics plays moderately


class ScoreError(ValueError):
    """A score that cannot be used (no bars, no notes, unreadable), in one line."""


def expand_repeats(score):
    """The score as played (repeats, da capo, voltas expanded); the written order when music21 cannot."""
    try:
        return score.expandRepeats(), True
    except Exception:  # a repeat structure music21 cannot follow: play it as written
        return score, False


def score_parts(score) -> list:
    parts = list(score.parts) if hasattr(score, "parts") else []
    return parts or [score]


def score_bars(score) -> list[Bar]:
    """The played bars of a (repeat-expanded) score, from its first part's measures and time signatures.

    A bar's length is the longest any part makes it, so a part resting silently does not shorten it.
    """
    parts = [list(p.getElementsByClass("Measure")) for p in score_parts(score)]
    measures = parts[0]
    if not measures:
        raise ScoreError("the score has no bars")
    same_shape = all(len(p) == len(measures) for p in parts)
    numerator, denominator, bars = 4, 4, []
    for i, measure in enumerate(measures):
        signature = measure.timeSignature
        if signature is not None:
            numerator, denominator = int(signature.numerator), int(signature.denominator)
        lengths = (
            [p[i].duration.quarterLength for p in parts] if same_shape else [measure.duration.quarterLength]
        )
        length = float(max(lengths))
        if length > 0:
            bars.append(Bar(float(measure.offset), length, numerator, denominator))
    if not bars:
        raise ScoreError("the score's bars are all empty")
    return bars


def align_part_bars(score) -> int:
    """Start every part's bar i where the score's bar i starts, as notation programs play it: a bar is as long
    as its fullest part (one part's bar overfull in a hand-edited file: the others rest at its end). music21
    places each part's bars after its own, so one overfull bar would shift that part against the others from
    there on. Changes `score` in place; returns how many bars moved (0 when the parts already agree or do not
    have the same bars)."""
    parts = [list(p.getElementsByClass("Measure")) for p in score_parts(score)]
    if len(parts) < 2 or any(len(p) != len(parts[0]) for p in parts):
        return 0
    lengths = np.array([[float(m.duration.quarterLength) for m in p] for p in parts]).max(axis=0)
    starts = float(parts[0][0].offset) + np.r_[0.0, np.cumsum(lengths)[:-1]]
    moved = 0
    for part, measures in zip(score_parts(score), parts, strict=True):
        for measure, start in zip(measures, starts, strict=True):
            if abs(float(measure.offset) - start) > 1e-6:
                part.setElementOffset(measure, float(start))
                moved += 1
        part.coreElementsChanged()
    return moved


def _dynamics(flat) -> tuple[np.ndarray, np.ndarray]:
    """(offsets, volume 0-1) of a part's dynamic marks, in order."""
    from music21 import dynamics

    marks = [(float(d.offset), d.volumeScalar) for d in flat.getElementsByClass(dynamics.Dynamic)]
    marks = [(o, v) for o, v in marks if v is not None]
    return np.array([o for o, _ in marks], float), np.array([v for _, v in marks], float)


def score_notes(score) -> np.ndarray:
    """Every pitched note (chords split, ties merged, grace notes dropped) as NOTE_DTYPE, sorted by onset.

    Velocity follows the part's last dynamic mark (moderate without one).
    """
    rows = []
    for index, part in enumerate(score_parts(score)):
        flat = part.stripTies(inPlace=False).flatten()
        offsets, volumes = _dynamics(flat)
        for element in flat.notes:
            length = float(element.duration.quarterLength)
            if length <= 0 or not hasattr(element, "pitches"):  # grace notes; unpitched percussion
                continue
            at = np.searchsorted(offsets, float(element.offset), side="right") - 1
            volume = volumes[at] if at >= 0 else DEFAULT_DYNAMIC
            velocity = int(np.clip(round(35 + 85 * volume), 20, 120))
            for pitch in element.pitches:
                rows.append((float(element.offset), length, int(pitch.midi), index, velocity))
    notes = np.array(rows, dtype=NOTE_DTYPE)
    return notes[np.argsort(notes["onset_q"], kind="stable")]


def tempo_marks(score) -> list[tuple[float, float]]:
    """(quarter, quarter-note BPM) of each metronome mark or tempo word music21 gives a number, deduplicated."""
    from music21 import tempo

    marks: dict[float, float] = {}
    for mark in score.recurse().getElementsByClass(tempo.MetronomeMark):
        try:
            bpm = mark.getQuarterBPM()
        except Exception:  # a mark without a number or referent
            continue
        if bpm is not None and math.isfinite(bpm) and bpm > 0:
            marks.setdefault(round(float(mark.getOffsetInHierarchy(score)), 6), float(bpm))
    return sorted(marks.items())


def fermatas(score) -> list[tuple[float, float]]:
    """(onset, end) in quarters of every note or chord under a fermata, one per onset (the longest)."""
    from music21 import expressions

    held: dict[float, float] = {}
    for element in score.recurse().notes:
        if any(isinstance(e, expressions.Fermata) for e in element.expressions):
            onset = round(float(element.getOffsetInHierarchy(score)), 6)
            held[onset] = max(held.get(onset, 0.0), onset + float(element.duration.quarterLength))
    return sorted(held.items())


def section_ends(score, bars: list[Bar]) -> list[float]:
    """Ends of sections: bars closed by a double/final bar line or a repeat sign, and the end of the piece."""
    from music21 import bar as m21bar

    ends = {round(bars[-1].start_q + bars[-1].length_q, 6)}
    for measure in score_parts(score)[0].getElementsByClass("Measure"):
        line = measure.rightBarline
        if isinstance(line, m21bar.Repeat) or (
            line is not None and line.type in {"double", "final", "light-heavy"}
        ):
            ends.add(round(float(measure.offset + measure.duration.quarterLength), 6))
    return sorted(ends)
