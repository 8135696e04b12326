"""What a score tells the procedural conductor beyond its beats (issue 15): who enters when, where the music
holds, how loud it is written. Plain numbers in the audio's time (seconds), no music21: `vconductor.scores`
fills it from a MusicXML/MIDI file and its alignment with the audio; `conducting` reads it from
`MusicAnalysis.score` (None without a score)."""

from dataclasses import dataclass, field

import numpy as np


@dataclass(frozen=True)
class Entry:
    """A part entering after a rest (or its first note): the moment its first note sounds."""

    time_s: float
    part: int  # the part's index in the score
    instrument: str  # the part's instrument or name as written ("Violin I", "Horn in F", "Violoncello")
    loud: bool = False  # enters forte or louder


@dataclass(frozen=True)
class ScoreGuide:
    entries: tuple[Entry, ...] = ()
    # (start_s, release_s): where a fermata holds, and its cut-off
    fermatas: tuple[tuple[float, float], ...] = ()
    dynamics_s: np.ndarray = field(default_factory=lambda: np.zeros(0))  # times of the dynamic level's points
    dynamics: np.ndarray = field(default_factory=lambda: np.zeros(0))  # level 0..1 there (pp 0.2 .. ff 0.9)
    # 0..1 at `dynamics_s`: written articulation (staccato marks)
    staccato: np.ndarray = field(default_factory=lambda: np.zeros(0))
    instruments: tuple[str, ...] = ()  # every part's instrument, in score order
    # when the score's first note sounds (NaN: unknown, or before the audio: an excerpt); the conductor's
    # first beat is the one the music starts on, its preparation the beat before (not a rest's silent beat)
    music_starts_s: float = float("nan")

    def dynamic_at(self, times_s) -> np.ndarray | None:
        """The written dynamic level at `times_s` (hairpins interpolated), None when the score marks none."""
        if len(self.dynamics_s) == 0:
            return None
        return np.interp(np.asarray(times_s, float), self.dynamics_s, self.dynamics)
