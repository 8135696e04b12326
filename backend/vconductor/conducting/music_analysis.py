"""The result of the music analysis: what the procedural conductor (and the synthetic data) work from."""

from dataclasses import dataclass

import numpy as np

from .score_guide import ScoreGuide

METERS = {"2/4": 2, "3/4": 3, "4/4": 4, "6/8": 6}  # metre -> beats conducted per bar


@dataclass
class MusicAnalysis:
    """Beats, metre and tempo, and contours sampled at `frame_rate` (the motion's, so they index its frames)."""

    duration_s: float
    beats_s: np.ndarray  # (B,) float64, the conducted beats in seconds, increasing
    beat_in_bar: np.ndarray  # (B,) int, position of each beat in its bar, 0 = downbeat
    meter: str  # one of METERS
    tempo_bpm: np.ndarray  # (B,) float64, local tempo at each beat (conducted beats per minute)
    loudness: np.ndarray  # (T,) float32 in [0, 1] at `frame_rate`: smoothed loudness, 0 = silence
    onset_strength: np.ndarray  # (T,) float32 in [0, 1] at `frame_rate`: how strongly notes start
    articulation: np.ndarray  # (T,) float32 in [0, 1] at `frame_rate`: 0 legato .. 1 staccato
    silent: np.ndarray  # (T,) bool at `frame_rate`: rests, fermata releases, silence before/after
    phrase_starts_s: np.ndarray  # (P,) float64, detected phrase boundaries (may be empty)
    frame_rate: float = 30.0
    score: ScoreGuide | None = None  # entries, fermatas, dynamics from the user's score (score_guide.py)

    @property
    def beats_per_bar(self) -> int:
        return METERS[self.meter]

    @property
    def downbeats_s(self) -> np.ndarray:
        return self.beats_s[self.beat_in_bar == 0]

    @property
    def num_frames(self) -> int:
        return len(self.loudness)
