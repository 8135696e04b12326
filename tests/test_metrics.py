"""Beat metrics on constructed motions with known answers."""

import numpy as np
import pytest

from vconductor.metrics import (
    beat_align_score,
    beat_f_measure,
    beat_period,
    motion_beats,
    music_beats_from_mel,
    period_matches,
    tempo_error,
)
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


def test_beat_f_measure_matches_one_to_one_within_the_tolerance():
    music = np.arange(0, 10, 0.5)
    assert beat_f_measure(music + 0.05, music) == pytest.approx((1.0, 1.0, 1.0))
    assert beat_f_measure(music + 0.15, music)[0] == 0.0  # outside +-0.1 s
    assert beat_f_measure(music + 0.15, music, tolerance_s=0.2)[0] == pytest.approx(1.0)
    # a conductor beating every other beat: all motion beats hit (precision 1), half the music beats (recall 0.5)
    f, precision, recall = beat_f_measure(music[::2], music)
    assert (precision, recall) == (1.0, 0.5) and f == pytest.approx(2 / 3)
    # two motion beats near one music beat count once
    assert beat_f_measure([1.0, 1.05], [1.0]) == pytest.approx((2 / 3, 0.5, 1.0))
    assert beat_f_measure([], music) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("period", [0.5, 0.8])
def test_tempo_error_of_a_bouncing_wrist_folds_octaves(period):
    motion = bouncing_wrist(period)
    bpm = 60 / period
    assert tempo_error(motion, bpm) < 0.03
    assert tempo_error(motion, 2 * bpm) < 0.03 and tempo_error(motion, bpm / 2) < 0.03  # beating in 2 or in 4
    assert tempo_error(motion, 1.3 * bpm) > 0.2
    assert np.isnan(tempo_error(np.full((300, 13, 2), 0.5), bpm))


def test_music_beats_from_a_pulsing_mel():
    t = np.arange(12 * 90) / 90
    pulse = np.exp(-((t % 0.6) / 0.03))  # 100 BPM clicks
    mel = (0.2 + 0.6 * pulse[:, None] * np.linspace(0.5, 1, 128)[None]).astype(np.float32)
    beats, bpm = music_beats_from_mel(mel)
    assert bpm == pytest.approx(100, rel=0.05)
    offsets = (beats[:, None] - np.arange(0, 12, 0.6)[None]).__abs__().min(axis=1)
    assert len(beats) >= 15 and np.median(offsets) < 0.05
