"""Beats the user gives (a beat file, or a steady grid from a tempo and a first downbeat) in place of the
tracker's, fitted to one piece of audio (docs/beat-sources.md).

`BeatSource` is what was asked for (small, picklable: it travels to a decoding process or a service job);
`given_beats` turns it, with the audio's length and our tracker's result, into the beats the job follows: a
`GivenBeats` that `conducting.analyze(tracked=...)` conducts and `beat_lock` locks to, confidence 1.0.
Bar positions missing from the source come from `--meter` (the beats per bar) and the tracker's downbeats (the
phase), else from the tracker alone.
"""

from dataclasses import dataclass

import numpy as np

from .beat_files import MAX_BEATS, BeatsFileError, GivenBeats
from .beat_tracking.decoder import TrackedBeats, local_tempo

MIN_BPM, MAX_BPM = 20.0, 400.0
CONDUCTED_BAR_LENGTHS = (2, 3, 4)  # the procedural conductor's patterns (6/8: 2 dotted beats, in six)


class BeatSourceError(BeatsFileError):
    """Beats that cannot be used with this audio or these options: one line, the reason."""


@dataclass(frozen=True)
class BeatSource:
    """The user's beats: `given` (a file's), or a grid of `bpm` from `first_downbeat_s` (None: the phase of the
    tracker's downbeats). Times are in the uploaded audio's time; `offset_s` (a crop's start) is subtracted and
    with `cropped` beats outside the cropped audio are dropped instead of refused."""

    given: GivenBeats | None = None
    bpm: float | None = None
    first_downbeat_s: float | None = None
    offset_s: float = 0.0
    cropped: bool = False
    score: object = (
        None  # a scores.source.ScoreSource: beats from the score aligned to the audio (prepare_input)
    )

    def describe(self) -> str:
        if self.score is not None:
            return f"the score {self.score.name}"
        if self.given is not None:
            return f"{len(self.given.times_s)} beats from {self.given.name}"
        start = "the tracker's phase" if self.first_downbeat_s is None else f"{self.first_downbeat_s:g} s"
        return f"a grid of {self.bpm:g} BPM from {start}"


def beat_source(
    given=None, bpm=None, first_downbeat_s=None, offset_s=0.0, cropped=False
) -> BeatSource | None:
    """The BeatSource of these options (None when none is given); BeatSourceError for a contradiction."""
    if given is not None and (bpm is not None or first_downbeat_s is not None):
        raise BeatSourceError("give either a beat file or a tempo (bpm, first downbeat), not both")
    if first_downbeat_s is not None and bpm is None:
        raise BeatSourceError("a first downbeat needs a tempo (bpm) for the grid")
    if bpm is not None and not (np.isfinite(bpm) and MIN_BPM <= bpm <= MAX_BPM):
        raise BeatSourceError(f"bpm must be between {MIN_BPM:g} and {MAX_BPM:g}, got {bpm:g}")
    if first_downbeat_s is not None and not (np.isfinite(first_downbeat_s) and first_downbeat_s >= 0):
        raise BeatSourceError(f"the first downbeat must be a time >= 0 s, got {first_downbeat_s:g}")
    if given is None and bpm is None:
        return None
    return BeatSource(given, bpm, first_downbeat_s, float(offset_s), bool(cropped))


@dataclass
class GivenTrack(TrackedBeats):
    """Given beats in the tracker's record (what `conducting.analyze(tracked=...)` and beat-locking read): the
    conductor beats every one of them within the music (conducting.beats.within_the_music)."""

    given = True

    @property
    def main_bar_length(self) -> int:
        """The most common bar length, as a pattern the procedural conductor has (1: 2; 5 and more: 4)."""
        length = super().main_bar_length
        return length if length in CONDUCTED_BAR_LENGTHS else (2 if length < 2 else 4)


def given_beats(source: BeatSource, duration_s: float, tracked: TrackedBeats, meter: str | None):
    """The beats to follow in audio of `duration_s`: `source`'s times with bar positions and local tempo."""
    per_bar = _meter_bar_length(meter) or tracked.main_bar_length
    if source.given is not None:
        times, in_bar, lengths = _fitted_file(source, duration_s)
    else:
        times, in_bar = _grid(source, duration_s, per_bar, tracked)
        lengths = None
    if in_bar is None:
        in_bar = _phase_from_tracker(times, per_bar, tracked)
        lengths = np.full(len(times), per_bar, np.int64)
    elif lengths is None:
        lengths = bar_lengths(in_bar)
    n = len(times)
    return GivenTrack(times, in_bar, lengths, local_tempo(times), np.ones(n, np.float32))


def _meter_bar_length(meter: str | None) -> int | None:
    return None if meter is None else {"2/4": 2, "3/4": 3, "4/4": 4, "6/8": 2}[meter]


def _fitted_file(source: BeatSource, duration_s: float):
    given = source.given
    times = given.times_s - source.offset_s
    keep = np.ones(len(times), bool)
    if source.cropped:
        keep = (times >= 0) & (times <= duration_s)
    elif times[-1] > duration_s:
        beyond = int(np.argmax(times > duration_s))
        message = (
            f"beat {beyond + 1} at {times[beyond]:.3f} s is after the end of the audio ({duration_s:.3f} s)"
        )
        raise BeatSourceError(f"{given.name}: {message}")
    if keep.sum() < 2:
        raise BeatSourceError(f"{given.name}: fewer than 2 beats fall inside the cropped audio")
    in_bar = None if given.beat_in_bar is None else given.beat_in_bar[keep]
    lengths = None if given.bar_length is None else given.bar_length[keep]
    return times[keep], in_bar, lengths


def _grid(source: BeatSource, duration_s: float, per_bar: int, tracked: TrackedBeats):
    """A steady grid of `source.bpm` from the first downbeat to the end of the audio."""
    period = 60.0 / source.bpm
    if source.first_downbeat_s is None:
        first = tracker_phase(tracked, period, per_bar)  # the tracker ran on this (cropped) audio
    else:
        first = source.first_downbeat_s - source.offset_s
    if first > duration_s and not source.cropped:
        raise BeatSourceError(
            f"the first downbeat ({first:.3f} s) is after the end of the audio ({duration_s:.3f} s)"
        )
    start = max(0, int(np.ceil(-first / period - 1e-9)))  # a crop may start after the first downbeat
    count = int(np.floor((duration_s - first) / period + 1e-9)) + 1 - start
    if count > MAX_BEATS:
        raise BeatSourceError(f"the grid would have {count} beats (at most {MAX_BEATS})")
    if count < 2:
        raise BeatSourceError(f"the grid has fewer than 2 beats in {duration_s:.3f} s of audio")
    index = np.arange(start, start + count)
    return first + index * period, (index % per_bar).astype(np.int64)


def tracker_phase(tracked: TrackedBeats, period: float, per_bar: int) -> float:
    """The first downbeat (in [0, a bar)) of a grid of `period` that best fits the tracker: the circular mean
    of its downbeats modulo the bar, else of its beats modulo the beat period, else 0."""
    for times, cycle in ((tracked.downbeats_s, period * per_bar), (tracked.beats_s, period)):
        if len(times):
            angle = np.angle(np.mean(np.exp(2j * np.pi * np.asarray(times) / cycle)))
            return float((angle / (2 * np.pi)) % 1.0 * cycle)
    return 0.0


def _phase_from_tracker(times: np.ndarray, per_bar: int, tracked: TrackedBeats) -> np.ndarray:
    """Bar positions of beats that have none: `per_bar` a bar, the downbeat where most of the tracker's
    downbeats fall (each votes for its nearest given beat within half a beat); the first beat without any."""
    votes = np.zeros(per_bar)
    downbeats = tracked.downbeats_s
    if len(downbeats):
        nearest = np.clip(np.searchsorted(times, downbeats), 1, len(times) - 1)
        nearest -= np.abs(times[nearest - 1] - downbeats) < np.abs(times[nearest] - downbeats)
        half_beat = 0.5 * np.interp(times[nearest], times[1:], np.diff(times))
        close = np.abs(times[nearest] - downbeats) <= half_beat
        votes += np.bincount(nearest[close] % per_bar, minlength=per_bar)
    phase = int(np.argmax(votes))  # 0 when no downbeat voted
    return ((np.arange(len(times)) - phase) % per_bar).astype(np.int64)


def bar_lengths(in_bar: np.ndarray) -> np.ndarray:
    """Each beat's bar length from positions alone: the beats from its bar's downbeat to the next (at least its
    highest position + 1); a last bar cut short takes the most common length."""
    starts = np.r_[0, np.flatnonzero(in_bar == 0)]
    starts = np.unique(starts)
    ends = np.r_[starts[1:], len(in_bar)]
    lengths = np.empty(len(in_bar), np.int64)
    for start, end in zip(starts, ends, strict=True):
        lengths[start:end] = max(end - start, int(in_bar[start:end].max()) + 1)
    if len(starts) > 1:
        common = int(np.bincount(lengths[starts[1:-1]] if len(starts) > 2 else lengths).argmax())
        last = starts[-1]
        lengths[last:] = max(lengths[last], min(common, 16), int(in_bar[last:].max()) + 1)
    return lengths
