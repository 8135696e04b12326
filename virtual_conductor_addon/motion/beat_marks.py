"""Where beat markers go (Add Beat Markers): every beat the backend tracked, every downbeat, or the beats the
conductor's hand marks, from the beats document's `conducted` (docs/beat-tracker.md): a fast 3/4 conducted in
one gets a marker a bar, a fast 4/4 in two every other beat, a 6/8 conducted in six one an eighth.

Markers are named BAR.BEAT, counting the beats they mark ("12.2" of a 4/4 in two is bar 12's third beat).
"""

import numpy as np

from ..contract_beats import BeatTrack

MARKS = ("BEATS", "CONDUCTED", "DOWNBEATS")


def beat_labels(beat_in_bar) -> list[str]:
    """BAR.BEAT for each beat: bars count downbeats from 1 (a pickup is bar 0), beats count from 1."""
    labels, bar = [], 0
    for position in beat_in_bar:
        bar += int(position) == 0
        labels.append(f"{bar}.{int(position) + 1}")
    return labels


def conducted_beats(beats: BeatTrack) -> tuple[np.ndarray, np.ndarray]:
    """(times, place in the conducted bar) of the beats the hand marks: as the backend's conductor groups
    fast beats (every group's first) or splits compound ones (equal parts of each beat)."""
    times, in_bar, bars = beats.beats_s, beats.beat_in_bar, beats.conducted
    if not bars or len(times) < 2:
        return times, in_bar
    hand, written = int(bars["beats_per_bar"]), int(bars["written_per_bar"])
    if hand < written and written % hand == 0:
        group = written // hand
        keep = in_bar % group == 0
        return times[keep], in_bar[keep] // group
    if hand > written and hand % written == 0:
        split = hand // written
        lengths = np.diff(times, append=2 * times[-1] - times[-2])  # the last beat lasts as the one before
        parts = times[:, None] + lengths[:, None] * np.arange(split)[None, :] / split
        positions = in_bar[:, None] * split + np.arange(split)[None, :]
        inside = parts.ravel() <= max(beats.duration_s, times[-1])
        return parts.ravel()[inside], positions.ravel()[inside]
    return times, in_bar


def beat_marks(beats: BeatTrack, which: str) -> tuple[np.ndarray, list[str]]:
    """(times in s of the take's audio, BAR.BEAT names) of the markers `which` (one of MARKS) asks for."""
    if which not in MARKS:
        raise ValueError(f"markers: {which!r} is not one of {', '.join(MARKS)}")
    times, in_bar = conducted_beats(beats) if which == "CONDUCTED" else (beats.beats_s, beats.beat_in_bar)
    names = beat_labels(in_bar)
    if which == "DOWNBEATS":
        keep = np.flatnonzero(np.asarray(in_bar) == 0)
        return times[keep], [names[i] for i in keep]
    return times, names
