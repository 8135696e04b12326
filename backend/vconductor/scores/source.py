"""A user's score as the job's beat source: read (before any audio is decoded), then aligned to the decoded
audio and turned into given beats (beat_files.GivenBeats, so everything downstream works unchanged), a
ScoreGuide, and a report of the case and the confidence (docs/scores.md)."""

from dataclasses import dataclass

import numpy as np

from ..beat_files import MIN_INTERVAL_S, BeatsFileError, GivenBeats, checked
from ..beat_sources import BeatSourceError
from .labels import beat_length_q, full_bar_q
from .timeline import ScoreTimeline

MISMATCH_CHOICES = ("error", "audio")
PLAYED_MARGIN_Q = 0.25


class ScoreFitError(BeatSourceError):
    """The score does not fit the audio (and the user asked for an error): one line."""


@dataclass(frozen=True)
class ScoreSource:
    """A read score and what to do when it does not fit the audio ("error", or "audio": the tracker's beats)."""

    timeline: ScoreTimeline
    mismatch: str = "error"

    @property
    def name(self) -> str:
        return self.timeline.name


@dataclass
class ScoreResult:
    given: GivenBeats | None  # None: the score did not fit and the user chose the audio's own beats
    guide: object | None  # a conducting.score_guide.ScoreGuide
    report: dict  # {"score", "case", "confidence", "fit", "beats", ...}: what the CLI prints, /beats carries

    def line(self) -> str:
        r = self.report
        if r["case"] == "mismatch":
            return f"{r['score']}: {r['reason']}; conducting the audio's own beats"
        what = "rendered from the score" if r["case"] == "rendered" else "a performance of the score"
        if r["case"] == "rendered" and abs(r.get("slope", 1.0) - 1.0) > 1e-9:
            what += f" at {1 / r['slope']:.3f}x its written tempo"
        if r.get("holds") and r["case"] == "rendered":
            what += f", {len(r['holds'])} fermata(s) held longer than written"
        if r.get("departures") and r["case"] == "rendered":
            what += (
                f", leaving its tempo in {len(r['departures'])} place(s) (beats placed on the audio there)"
            )
        return (
            f"{r['score']}: the audio is {what} (confidence {r['confidence']:.2f}); "
            f"{r['beats']} beats, {r['bars']} bars from the score"
        )


def score_beats(source: ScoreSource, spectrogram, activation=None) -> ScoreResult:
    """Align the score with the audio; ScoreFitError when it does not fit and `source.mismatch` is "error"."""
    from .alignment import ScoreMismatch, align, beat_times
    from .guide import beat_clock, score_guide

    timeline, duration = source.timeline, spectrogram.duration_s
    try:
        alignment = align(timeline, spectrogram, activation)
    except ScoreMismatch as exc:
        if source.mismatch == "error":
            raise ScoreFitError(
                f"{source.name}: {exc} (--score-mismatch audio: conduct the audio's beats)"
            ) from None
        report = {"score": source.name, "case": "mismatch", "confidence": 0.0, "reason": str(exc)}
        return ScoreResult(None, None, report)
    labels = timeline.labels
    times = beat_times(alignment, timeline, labels.beats_q, PLAYED_MARGIN_Q)
    margin = PLAYED_MARGIN_Q  # the DTW's first frame sits half a frame after the first note
    played = (labels.beats_q >= alignment.anchors_q[0] - margin) & (
        labels.beats_q <= alignment.anchors_q[-1] + margin
    )  # the part of the score the audio plays (all of it unless the audio is an excerpt)
    times[played] = spaced_beats(times[played])
    inside = played & (times >= 0) & (times <= duration)
    in_bar, lengths = _bar_positions(timeline)
    try:
        given = checked(GivenBeats(times[inside], in_bar[inside], lengths[inside], source.name))
    except BeatsFileError as exc:
        raise ScoreFitError(f"the aligned score's beats are unusable: {exc}") from None
    report = {
        "score": source.name,
        "case": alignment.case,
        "confidence": round(float(alignment.confidence), 3),
        "fit": round(float(alignment.fit), 3),
        "beats": int(inside.sum()),
        "bars": int((in_bar[inside] == 0).sum()),
        "offset_s": round(float(alignment.offset_s), 4) if alignment.case == "rendered" else None,
        "slope": round(float(alignment.slope), 5),  # audio seconds per written second (rendered)
        "departures": [[round(a, 3), round(b, 3)] for a, b in alignment.departures],  # quarters off the line
        # fermatas held longer than written: [start_q, end_q, extra seconds] each
        "holds": [[round(a, 3), round(b, 3), round(x, 3)] for a, b, x in alignment.holds],
    }
    clock = beat_clock(alignment, labels.beats_q[played], times[played], timeline.fermatas)
    played_from = float(labels.beats_q[played].min()) - margin if played.any() else -np.inf
    return ScoreResult(given, score_guide(timeline, clock, duration, played_from), report)


def spaced_beats(times: np.ndarray) -> np.ndarray:
    """Beats at least MIN_INTERVAL_S apart: where the alignment folded several onto one instant (a stalled DTW
    path), each is pushed after the one before."""
    spaced = np.array(times, float)
    for i in range(1, len(spaced)):
        spaced[i] = max(spaced[i], spaced[i - 1] + MIN_INTERVAL_S + 1e-3)
    return spaced


def _bar_positions(timeline: ScoreTimeline) -> tuple[np.ndarray, np.ndarray]:
    """Each beat's 0-based place in its bar and its bar's length in beats (a pickup's bar counts in full, an
    overfull bar all the beats it has)."""
    labels = timeline.labels
    starts = np.array([b.start_q for b in labels.bars])
    bar_of = np.clip(np.searchsorted(starts, labels.beats_q + 1e-6) - 1, 0, len(starts) - 1)
    written = [
        round(full_bar_q(b.numerator, b.denominator) / beat_length_q(b.numerator, b.denominator))
        for b in labels.bars
    ]
    highest = np.zeros(len(starts), int)
    np.maximum.at(highest, bar_of, labels.beat_in_bar)
    per_bar = np.maximum(written, highest)
    lengths = np.clip(per_bar[bar_of], 1, 16)
    in_bar = np.minimum(labels.beat_in_bar - 1, lengths - 1)
    return in_bar.astype(np.int64), lengths.astype(np.int64)
