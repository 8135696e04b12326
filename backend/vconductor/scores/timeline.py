"""A user's score as plain numbers (no music21 objects): its notes, bars and beats as played (repeats
expanded), tempo marks, fermatas, dynamics (marks and hairpins), staccato and the parts' instruments, in
quarter lengths; and its nominal time (seconds from its tempo marks, as a MIDI export or a render plays it).

`score_timeline` builds it from a parsed music21 score (in the reading child process, scores/child.py); it
travels to the parent as JSON (`to_json` / `from_json`), bounded by MAX_NOTES, MAX_PARTS and MAX_BARS.
"""

import json
import warnings
from dataclasses import dataclass, field

import numpy as np

from .labels import Bar, Labels, bar_labels, beat_length_q
from .music import (
    NOTE_DTYPE,
    ScoreError,
    align_part_bars,
    expand_repeats,
    fermatas,
    score_bars,
    score_notes,
    score_parts,
    tempo_marks,
)

MAX_NOTES = 200_000  # a long symphony's full score has tens of thousands
MAX_PARTS = 64
MAX_BARS = 20_000
MAX_BAR_BEATS = (
    16  # the beats contract's longest bar (beat_files.py): an overfull bar may have up to this many
)
DEFAULT_QUARTER_BPM = 120.0  # a score without a tempo mark plays at 120 (MIDI's default; music21's export)
# Written dynamics as the guide's level 0..1 (issue 15: pp 0.2 .. ff 0.9)
LEVELS = {"pppp": 0.1, "ppp": 0.15, "pp": 0.2, "p": 0.33, "mp": 0.47, "mf": 0.6, "f": 0.75, "ff": 0.9}
LEVELS |= {"fff": 0.95, "ffff": 1.0, "sf": 0.75, "sfz": 0.8, "fz": 0.8, "sff": 0.9, "fp": 0.33, "rfz": 0.75}
STACCATO_MARKS = ("Staccato", "Staccatissimo", "Spiccato")


@dataclass
class ScoreTimeline:
    """Everything the alignment and the guide need from a score, in quarter lengths from its start."""

    name: str
    notes: np.ndarray  # NOTE_DTYPE, sorted by onset
    staccato: np.ndarray  # bool per note: written staccato (or staccatissimo, spiccato)
    bars: list[Bar]
    tempo_marks: list[tuple[float, float]]  # (quarter, quarter-note BPM)
    fermatas: list[tuple[float, float]]  # (onset, end) of notes held under a fermata
    dynamics: list[tuple[float, int, float]]  # (quarter, part, level 0..1) of each dynamic mark
    hairpins: list[tuple[float, float, int, int]]  # (start, end, part, +1 crescendo / -1 diminuendo)
    instruments: list[str]  # one per part, in score order
    repeats_expanded: bool = True
    labels: Labels = field(init=False)

    def __post_init__(self):
        self.labels = bar_labels(self.bars)

    @property
    def end_q(self) -> float:
        return self.labels.end_q

    def nominal_seconds(self, quarters) -> np.ndarray:
        """Seconds at `quarters` when played at the written tempo marks (120 before the first)."""
        starts = np.array([0.0] + [q for q, _ in self.tempo_marks if q > 0])
        bpms = [DEFAULT_QUARTER_BPM] + [b for _, b in self.tempo_marks]
        if self.tempo_marks and self.tempo_marks[0][0] <= 0:
            bpms = bpms[1:]  # a mark at the start replaces the default
        bpms = np.array(bpms[: len(starts)])
        step_s = 60.0 / bpms
        at_start = np.r_[0.0, np.cumsum(np.diff(starts) * step_s[:-1])]
        q = np.asarray(quarters, float)
        index = np.clip(np.searchsorted(starts, q, side="right") - 1, 0, len(starts) - 1)
        return at_start[index] + (q - starts[index]) * step_s[index]


def score_timeline(score, name: str) -> ScoreTimeline:
    """The timeline of a parsed music21 score, repeats expanded as played; ScoreError (one line) when it has
    no notes or bars, or more than the bounds."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        written = score
        score, expanded = expand_repeats(score)
        parts = score_parts(score)
        if len(parts) > MAX_PARTS:
            raise ScoreError(f"{len(parts)} parts (at most {MAX_PARTS})")
        for each in {id(written): written, id(score): score}.values():  # the wedges are read on the written
            align_part_bars(each)
        bars = score_bars(score)
        if len(bars) > MAX_BARS:
            raise ScoreError(f"{len(bars)} bars (at most {MAX_BARS})")
        _check_long_bars(score, bars)
        notes = score_notes(score)
    if len(notes) == 0:
        raise ScoreError("no notes")
    if len(notes) > MAX_NOTES:
        raise ScoreError(f"{len(notes)} notes (at most {MAX_NOTES})")
    return ScoreTimeline(
        name=name,
        notes=notes,
        staccato=_staccato(parts, notes),
        bars=bars,
        tempo_marks=tempo_marks(score),
        fermatas=fermatas(score),
        dynamics=_dynamic_marks(parts),
        hairpins=_hairpins(*_wedge_source(written, score)),
        instruments=[_instrument(part, i) for i, part in enumerate(parts)],
        repeats_expanded=expanded,
    )


def _check_long_bars(score, bars: list[Bar]) -> None:
    """A bar longer than its time signature is played as written (it has more beats, labels.py), up to
    MAX_BAR_BEATS; beyond that the file is broken: ScoreError naming the bar (its written number)."""
    numbers = {
        round(float(m.offset), 6): m.number for m in score_parts(score)[0].getElementsByClass("Measure")
    }
    for bar in bars:
        beats = bar.length_q / beat_length_q(bar.numerator, bar.denominator)
        if beats > MAX_BAR_BEATS + 1e-6:
            number = numbers.get(round(bar.start_q, 6)) or "?"
            raise ScoreError(
                f"bar {number} lasts {bar.length_q:g} quarter notes, {beats:g} beats of its "
                f"{bar.numerator}/{bar.denominator} time signature (at most {MAX_BAR_BEATS} beats a bar)"
            )


def _instrument(part, index: int) -> str:
    instrument = part.getInstrument(returnDefault=False)
    for text in (getattr(part, "partName", None), getattr(instrument, "instrumentName", None)):
        if text and str(text).strip():
            return str(text).strip()[:60]
    return f"Part {index + 1}"


def _dynamic_marks(parts) -> list[tuple[float, int, float]]:
    from music21 import dynamics

    marks = []
    for index, part in enumerate(parts):
        for mark in part.flatten().getElementsByClass(dynamics.Dynamic):
            level = LEVELS.get(str(mark.value))
            if level is None and mark.volumeScalar is not None:
                level = float(np.clip(mark.volumeScalar, 0.1, 1.0))
            if level is not None:
                marks.append((float(mark.offset), index, level))
    return sorted(marks)


def _wedge_source(written, played):
    """Where to read wedges: music21 leaves them on the written notes when it copies the score to expand its
    repeats, so a score played as written is read as written."""
    same = abs(written.highestTime - played.highestTime) < 1e-6
    score = written if same else played
    return score, score_parts(score)


def _hairpins(score, parts) -> list[tuple[float, float, int, int]]:
    """Crescendo and diminuendo wedges: from their first note's onset to their last note's end."""
    from music21 import dynamics, stream

    part_of = {id(p): i for i, p in enumerate(parts)}
    pins = []
    wedges = {id(w): w for w in score.spannerBundle.getByClass(dynamics.DynamicWedge)}
    for part in parts:
        wedges |= {id(w): w for w in part.spannerBundle.getByClass(dynamics.DynamicWedge)}
    for wedge in wedges.values():
        spanned = wedge.getSpannedElements()
        if not spanned:
            continue
        first, last = spanned[0], spanned[-1]
        part = part_of.get(id(first.getContextByClass(stream.Part)), 0)
        try:
            start = float(first.getOffsetInHierarchy(score))
            end = float(last.getOffsetInHierarchy(score) + last.duration.quarterLength)
        except Exception:  # a wedge music21 left on the written notes when it expanded the repeats
            continue
        direction = 1 if isinstance(wedge, dynamics.Crescendo) else -1
        pins.append((start, max(end, start), part, direction))
    return sorted(pins)


def _staccato(parts, notes: np.ndarray) -> np.ndarray:
    """Which notes (of `notes`, by part and onset) are written staccato."""
    marked = set()
    for index, part in enumerate(parts):
        for element in part.flatten().notes:
            names = {type(a).__name__ for a in element.articulations}
            if names & set(STACCATO_MARKS):
                marked.add((index, round(float(element.offset), 6)))
    return np.array([(int(n["part"]), round(float(n["onset_q"]), 6)) in marked for n in notes], bool)


# --- to and from the reading child ---------------------------------------------------------------------------


def to_json(timeline: ScoreTimeline) -> str:
    notes = timeline.notes
    return json.dumps(
        {
            "name": timeline.name,
            "notes": [notes[k].tolist() for k in NOTE_DTYPE.names],
            "staccato": timeline.staccato.astype(int).tolist(),
            "bars": [[b.start_q, b.length_q, b.numerator, b.denominator] for b in timeline.bars],
            "tempo_marks": timeline.tempo_marks,
            "fermatas": timeline.fermatas,
            "dynamics": timeline.dynamics,
            "hairpins": timeline.hairpins,
            "instruments": timeline.instruments,
            "repeats_expanded": timeline.repeats_expanded,
        }
    )


def from_json(text: str) -> ScoreTimeline:
    doc = json.loads(text)
    columns = doc["notes"]
    notes = np.zeros(len(columns[0]), NOTE_DTYPE)
    for key, values in zip(NOTE_DTYPE.names, columns, strict=True):
        notes[key] = values
    return ScoreTimeline(
        name=doc["name"],
        notes=notes,
        staccato=np.asarray(doc["staccato"], bool).reshape(-1),
        bars=[Bar(float(s), float(n), int(a), int(b)) for s, n, a, b in doc["bars"]],
        tempo_marks=[(float(q), float(b)) for q, b in doc["tempo_marks"]],
        fermatas=[(float(a), float(b)) for a, b in doc["fermatas"]],
        dynamics=[(float(q), int(p), float(v)) for q, p, v in doc["dynamics"]],
        hairpins=[(float(a), float(b), int(p), int(d)) for a, b, p, d in doc["hairpins"]],
        instruments=[str(i) for i in doc["instruments"]],
        repeats_expanded=bool(doc["repeats_expanded"]),
    )
