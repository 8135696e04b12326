"""The packaged beat tracker (vconductor/data/beat_tracker.npz) end to end: its weights reproduce a stored
activation, and metronome click tracks at known tempi and metres, a metre change included, are tracked exactly.
"""

import hashlib

import numpy as np
import pytest
import soundfile as sf

from conftest import REPO
from vconductor.audio import SAMPLE_RATE
from vconductor.beat_data.clicks import click_track
from vconductor.beat_tracking.tracker import packaged_weights_path, track_file, tracker_network
from vconductor.metrics.beats import beat_f_measure

FIXTURE = REPO / "tests" / "data" / "beat_tracker_activation.npz"


def test_the_packaged_weights_reproduce_the_stored_activation():
    stored = np.load(FIXTURE, allow_pickle=False)
    md5 = hashlib.md5(packaged_weights_path().read_bytes()).hexdigest()
    assert str(stored["weights_md5"]) == md5, "the weights changed: run scripts/make_beat_fixture.py"
    activations = tracker_network().activations(stored["frames"].astype(np.float32))
    assert np.abs(activations - stored["activations"]).max() < 1e-5
    assert activations[:, 0].max() > 0.2  # the example's beats are there


def _clicks(tmp_path, bpm: float, bars: list[int], seed: int = 0):
    in_bar = np.concatenate([np.arange(m) for m in bars])
    beats = 1.0 + np.arange(len(in_bar)) * 60.0 / bpm
    path = tmp_path / f"clicks{bpm:g}.wav"
    sf.write(path, 0.5 * click_track(beats, in_bar, np.random.default_rng(seed)), SAMPLE_RATE)
    return path, beats, in_bar


@pytest.mark.parametrize(("bpm", "metre"), [(72.0, 3), (100.0, 4), (132.0, 2), (90.0, 4)])
def test_a_click_track_is_tracked_exactly(tmp_path, bpm, metre):
    path, beats, in_bar = _clicks(tmp_path, bpm, [metre] * 12, seed=int(bpm))
    tracked = track_file(path)
    assert beat_f_measure(tracked.beats_s, beats, 0.07)[0] == 1.0
    assert np.abs(tracked.beats_s - beats).max() < 0.03
    assert beat_f_measure(tracked.downbeats_s, beats[in_bar == 0], 0.07)[0] == 1.0
    assert tracked.main_bar_length == metre


def test_a_metre_change_from_three_four_to_four_four_is_found(tmp_path):
    path, beats, in_bar = _clicks(tmp_path, 110.0, [3] * 8 + [4] * 8)
    tracked = track_file(path)
    assert beat_f_measure(tracked.beats_s, beats, 0.07)[0] == 1.0
    found = tracked.bar_length[tracked.beat_in_bar == 0]
    assert list(found[:6]) == [3] * 6 and list(found[-6:]) == [4] * 6
