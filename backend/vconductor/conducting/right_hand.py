"""The right (baton) hand's path: arcs from ictus to ictus, and the gestures around the runs of beats (entry,
preparation, fermata, release, rest)."""

import numpy as np

from .arcs import PathPieces, path_piece
from .beat_plan import PlannedBeats
from .motion_inputs import MusicContours
from .tuning import (
    CUTOFF_S,
    FERMATA_HOLD_Y,
    FINAL_HOLD_REACH_S,
    HOLD_S,
    MIN_PREPARATION_S,
    RIGHT_REST,
)


def right_hand_path(beats: PlannedBeats, music: MusicContours) -> PathPieces:
    if len(beats.times) == 0:
        return path_piece(0.0, 1.0, RIGHT_REST, RIGHT_REST)
    continued = np.flatnonzero(~beats.gap_after)
    parts = [_beat_arcs(beats, continued, continued + 1)]
    runs = beats.runs
    parts += _entry(beats, runs[0][0], RIGHT_REST, 0.0)
    for (_, last), (first, _) in zip(runs[:-1], runs[1:], strict=True):
        parts += _gap(beats, last, first, music)
    parts += _ending(beats, runs[-1][1], music)
    return PathPieces.concat(parts)


def _sharpness(articulation: np.ndarray) -> np.ndarray:
    """Legato eases in and out of the ictus (a smooth bell of speed); staccato stops and leaves abruptly."""
    return 1.1 - 0.6 * articulation


def _beat_arcs(beats: PlannedBeats, beat: np.ndarray, following: np.ndarray) -> PathPieces:
    """Arcs from each `beat`'s ictus to the `following` one's, rising by the beat's rebound."""
    start, end = beats.ictus[beat], beats.ictus[following]
    bulge = np.where(end[:, 0] >= start[:, 0], 1.0, -1.0) * beats.rebound[beat]
    # Tall arcs over a short chord close into loops; those stay round (a narrow one would whip round its top).
    wide = np.clip(np.abs(end[:, 0] - start[:, 0]) / np.maximum(beats.rebound[beat], 1e-9), 0.0, 1.0)
    stretch = 1.0 + (beats.stretch[beat] - 1.0) * (0.5 + 0.5 * wide)
    level = np.ones(len(beat), bool)
    sharpness = _sharpness(beats.articulation[beat])
    times = beats.times[beat], beats.times[following]
    return PathPieces(*times, start, end, bulge, level, stretch, sharpness)


def _ready_point(beats: PlannedBeats, first: int) -> np.ndarray:
    """Where the hand waits before an entry: at the ictus of the beat before it in the pattern."""
    previous = (beats.in_bar[first] - 1) % len(beats.pattern.ictus_x)
    x = beats.centre_x + beats.pattern.ictus_x[previous] * beats.width[first]
    return np.array([x, beats.plane_y[first]])


def _preparation(beats: PlannedBeats, first: int, start: np.ndarray, start_s: float) -> PathPieces:
    """The preparatory beat: from `start`, a breath-like rebound that falls into the first ictus, in tempo
    (from a raised hand, as after a fermata, a plain drop into the beat)."""
    end = beats.ictus[first]
    rise = beats.rebound[first] * beats.pattern.rebound[-1]
    level = start[1] >= end[1] - 0.3 * rise
    if not level:
        rise = 0.2 * np.linalg.norm(end - start)
    bulge = rise if end[0] >= start[0] else -rise
    stretch = beats.stretch[first] if level else 1.0
    return path_piece(
        start_s, beats.times[first], start, end, bulge, sharpness=1.2, level=level, stretch=stretch
    )


def _entry(beats: PlannedBeats, first: int, held: np.ndarray, free_from: float) -> list[PathPieces]:
    """Raise the hand from `held` (still since `free_from`) to the ready position, hold, then prepare."""
    first_s = beats.times[first]
    ready = _ready_point(beats, first)
    if free_from <= 0 and first_s < beats.period[first] + 0.5:
        # the music starts at once: the recording begins during the preparation, the hand already raised
        return [_preparation(beats, first, ready, first_s - beats.period[first])]
    prep = min(beats.period[first], max(first_s - free_from - 0.05, 0.05))
    prep_start = first_s - prep
    room = prep_start - free_from
    if room < 0.5:  # no time to settle at a ready position: prepare straight from where the hand is
        return [_preparation(beats, first, held, prep_start)]
    hold = HOLD_S if room >= HOLD_S + 0.6 else 0.0
    rise = min(1.3, room - hold)
    bow = 0.15 * np.linalg.norm(ready - held)  # out a little on the way up
    move = path_piece(prep_start - hold - rise, prep_start - hold, held, ready, bow, sharpness=1.4)
    return [move, _preparation(beats, first, ready, prep_start)]


def _sustain(beats: PlannedBeats, last: int, duration: float) -> tuple[PathPieces, np.ndarray]:
    """After the last beat of a run, rebound up into a held position (a fermata, or before a release)."""
    ictus = beats.ictus[last]
    up = max(0.9 * beats.rebound[last], 0.05)
    held_x = 0.5 * ictus[0] + 0.5 * beats.centre_x - 0.1 * beats.width[last]
    held = np.array([held_x, ictus[1] - up])
    bow = 0.15 * np.linalg.norm(held - ictus)
    last_s = beats.times[last]
    return path_piece(last_s, last_s + duration, ictus, held, bow, sharpness=0.9), held


def _cutoff(end_s: float, held: np.ndarray, size: float, duration: float) -> tuple[PathPieces, np.ndarray]:
    """The release: a small loop out and round that closes with a click at `end_s`."""
    radius = max(0.4 * size, 0.035)
    close = held + [0.3 * radius, 0.8 * radius]
    loop = -1.0 * np.linalg.norm(close - held)  # negative: the loop swings out (image left) first
    return path_piece(end_s - duration, end_s, held, close, loop, sharpness=0.8), close


def _release_time(music: MusicContours, after: float, before: float) -> float | None:
    """The first silent moment in (after, before), if any."""
    lo, hi = max(int(np.ceil(after * music.fps)), 0), max(int(np.floor(before * music.fps)), 0)
    hits = np.flatnonzero(music.silent[lo:hi])
    return (lo + hits[0]) / music.fps if len(hits) else None


def _gap(beats: PlannedBeats, last: int, first: int, music: MusicContours) -> list[PathPieces]:
    """Beats stop and resume: sustain (fermata); release at the first silence; rest at ready; prepare."""
    gap = beats.times[first] - beats.times[last]
    sustain_s = min(beats.period[last], 0.7, 0.3 * gap)
    prep_s = min(beats.period[first], 0.35 * gap)
    cut_s = float(np.clip(0.6 * beats.period[last], *CUTOFF_S))
    if np.isfinite(beats.release_after[last]):
        return _written_fermata(beats, last, first, music, sustain_s, cut_s)
    up, held = _sustain(beats, last, sustain_s)
    earliest = beats.times[last] + sustain_s + 0.2 + cut_s
    latest = beats.times[first] - prep_s - 0.1
    release = _release_time(music, beats.times[last] + 0.1, latest)
    if release is None or latest < earliest:  # a fermata straight into the next entry
        return [up, _preparation(beats, first, held, beats.times[first] - prep_s)]
    release = max(release, earliest)
    cut, closed = _cutoff(release, held, beats.size[last], cut_s)
    return [up, cut, *_entry(beats, first, closed, release + HOLD_S)]


def _written_fermata(
    beats: PlannedBeats, last: int, first: int, music: MusicContours, sustain_s: float, cut_s: float
) -> list[PathPieces]:
    """The score's fermata: held up until the cut-off closes on the release (the audio's, where the
    performers leave a silence before the written one), then the preparation (at once after a short
    caesura); a release on the next beat itself (no caesura) is a plain preparation."""
    start_s = beats.times[last]
    release = max(float(beats.release_after[last]), start_s + 0.1 + cut_s)
    release = _caesura(music, start_s + sustain_s + 0.2 + cut_s, release, release - MIN_PREPARATION_S)
    if beats.times[first] - release < MIN_PREPARATION_S:
        prep_s = min(beats.period[first], 0.5 * (beats.times[first] - start_s))
        hold, held = _fermata_hold(beats, last, sustain_s, beats.times[first] - prep_s)
        return [*hold, _preparation(beats, first, held, beats.times[first] - prep_s)]
    hold, held = _fermata_hold(beats, last, sustain_s, release - cut_s)
    cut, closed = _cutoff(release, held, beats.size[last], cut_s)
    return [*hold, cut, *_entry(beats, first, closed, release)]


def _caesura(music: MusicContours, earliest: float, written: float, latest: float) -> float:
    """The written release, or the audio's own where the sound stops in the second half of the hold before
    it (the performers release, breathe, then go on) or up to `latest` (a final chord held longer)."""
    after = max(earliest, written - 0.5 * (written - earliest))
    silence = _release_time(music, after, latest)
    return written if silence is None else silence


def _fermata_hold(
    beats: PlannedBeats, last: int, sustain_s: float, until_s: float
) -> tuple[list[PathPieces], np.ndarray]:
    """A written fermata's hold: up from the last ictus to at least chest height (a loud one's rebound may
    go higher), held there still until `until_s` (a slow float during the hold was tried: every stop between
    the rise, the float and the cut-off is a speed minimum, a false beat for the Beat Align Score, a chorale
    0.948 -> 0.889); the pieces and where the hand is held."""
    ictus = beats.ictus[last]
    held_x = 0.5 * ictus[0] + 0.5 * beats.centre_x - 0.1 * beats.width[last]
    held = np.array([held_x, min(ictus[1] - max(0.9 * beats.rebound[last], 0.05), FERMATA_HOLD_Y)])
    last_s = beats.times[last]
    sustain_s = min(sustain_s, max(until_s - last_s, 0.05))
    up = path_piece(
        last_s, last_s + sustain_s, ictus, held, 0.15 * np.linalg.norm(held - ictus), sharpness=0.9
    )
    return [up], held


def _ending(beats: PlannedBeats, last: int, music: MusicContours) -> list[PathPieces]:
    """After the final beat: sustain (raised under a written fermata), release when the sound stops (or on
    the written release), then lower the hands to rest."""
    sustain_s = min(beats.period[last], 0.7)
    cut_s = float(np.clip(0.6 * beats.period[last], *CUTOFF_S))
    earliest = beats.times[last] + sustain_s + 0.2 + cut_s
    end_of_music = min(music.duration_s, len(music.silent) / music.fps)
    release = _release_time(music, beats.times[last] + 0.1, end_of_music)
    written = np.isfinite(beats.release_after[last])
    if written:  # the written release, or the sound's end within a second after it
        release = max(float(beats.release_after[last]), earliest)
        release = _caesura(music, earliest, release, min(release + FINAL_HOLD_REACH_S, end_of_music))
    release = max(release if release is not None else end_of_music, earliest)
    if written:
        hold, held = _fermata_hold(beats, last, sustain_s, release - cut_s)
    else:
        up, held = _sustain(beats, last, sustain_s)
        hold = [up]
    cut, closed = _cutoff(release, held, beats.size[last], cut_s)
    bow = -0.1 * np.linalg.norm(RIGHT_REST - closed)
    lower = path_piece(release + HOLD_S, release + HOLD_S + 1.6, closed, RIGHT_REST, bow, sharpness=1.4)
    return [*hold, cut, lower]
