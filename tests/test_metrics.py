"""Beat metrics on constructed motions with known answers."""

import numpy as np
import pytest

from vconductor.metrics import beat_align_score, beat_period, motion_beats, period_matches
from vconductor.skeleton import JOINT


def bouncing_wrist(period_s: float, seconds: float = 20.0, fps: int = 30) -> np.ndarray:
    """A still body whose right wrist beats: lowest and slowest at each beat, never still in between.

    Each beat the wrist travels an arc from one bottom point over the top to the other (alternating), with a
    phase u = (1 - cos(pi t / P)) / 2 that stops only at the beats: the only speed minima are the beats.
    """
    t = np.arange(int(seconds * fps)) / fps
    beat, frac = np.divmod(t / period_s, 1.0)
    u = (1 - np.cos(np.pi * frac)) / 2
    u = np.where(beat % 2 == 0, u, 1 - u)  # left-to-right, then right-to-left
    motion = np.full((len(t), 13, 2), 0.5, np.float32)
    motion[:, JOINT["right_wrist"], 0] = 0.3 + 0.3 * u
    motion[:, JOINT["right_wrist"], 1] = 0.6 - 0.05 * np.sin(np.pi * u)  # y down: lowest at the beats
    return motion


def test_perfect_and_shifted_alignment():
    beats = np.arange(0, 10, 0.5)
    assert beat_align_score(beats, beats) == pytest.approx(1.0)
    assert beat_align_score(beats + 0.1, beats) == pytest.approx(np.exp(-0.5))
    assert beat_align_score([], beats) == 0.0 and beat_align_score(beats, []) == 0.0


def test_the_two_averaging_directions_differ_on_jitter():
    music = np.arange(0, 10, 0.5)
    jittery = np.sort(np.concatenate([music, np.random.default_rng(0).uniform(0, 10, 80)]))
    over_music = beat_align_score(jittery, music, average_over="music")
    over_motion = beat_align_score(jittery, music, average_over="motion")
    assert over_music == pytest.approx(1.0)  # every music beat has a motion beat on it: jitter is rewarded
    assert over_motion < over_music - 0.3  # FACT's direction punishes the extra minima
    with pytest.raises(ValueError):
        beat_align_score(music, music, average_over="both")


@pytest.mark.parametrize("period", [0.4, 0.6, 0.85, 1.2])
def test_motion_beats_and_period_of_a_bouncing_wrist(period):
    motion = bouncing_wrist(period)
    beats = motion_beats(motion)
    true_beats = np.arange(0, 20, period)
    assert beat_align_score(beats, true_beats) > 0.95
    assert beat_period(motion) == pytest.approx(period, rel=0.03)


def test_period_matching_accepts_half_and_double():
    assert period_matches(0.5, 0.52) and period_matches(1.02, 0.5) and period_matches(0.26, 0.5)
    assert not period_matches(0.6, 0.5) and not period_matches(0.75, 0.5)


def test_still_motion_has_no_period():
    still = np.full((300, 13, 2), 0.5)
    assert np.isnan(beat_period(still)) or beat_period(still) >= 0
    assert len(motion_beats(still)) == 0
