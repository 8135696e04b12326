"""Beat-locking learned motion (vconductor.beat_lock): motion beats moved onto the music's beats, the poses kept,
the warp bounded; and the option's modes."""

import numpy as np
import pytest

from vconductor.beat_lock import MAX_RATE, MIN_RATE, beat_lock, pair_beats, should_lock, wrist_minima
from vconductor.contract import FPS, JOINT
from vconductor.metrics import beat_align_score, motion_beats


def bouncing_wrist(motion_beats_s: np.ndarray, seconds: float) -> np.ndarray:
    """(T, 13, 2) keypoints whose right wrist bounces and slows to a stop at each of `motion_beats_s`."""
    t = np.arange(int(seconds * FPS)) / FPS
    phase = np.interp(t, motion_beats_s, np.arange(len(motion_beats_s)) + 0.5)  # beats at half phases
    keypoints = np.zeros((len(t), 13, 2), np.float32)
    keypoints[:, JOINT["right_wrist"], 1] = np.abs(np.sin(np.pi * phase))
    keypoints[:, JOINT["right_wrist"], 0] = 0.2 * np.sin(0.3 * t)
    return keypoints


def test_motion_beats_land_on_the_music_beats_and_the_poses_are_kept():
    music = 0.6 + 0.5 * np.arange(36)  # 120 BPM
    drift = 0.12 * np.sin(np.arange(36) / 5)  # the motion wanders up to 0.12 s off the beat
    keypoints = bouncing_wrist(music + 0.1 + drift, 19.0)
    minima = wrist_minima(keypoints)
    assert np.abs(minima[None, :] - (music + 0.1 + drift)[1:30, None]).min(axis=1).max() < 0.05
    before = beat_align_score(motion_beats(keypoints), music)

    locked, info = beat_lock(keypoints, music)
    after = beat_align_score(motion_beats(locked), music)
    assert before < 0.6 and after > 0.95 and info["pairs"] >= 30
    inner = wrist_minima(locked)
    inner = inner[(inner > 1.0) & (inner < 17.0)]
    assert np.abs(inner[:, None] - music[None, :]).min(axis=1).max() < 1.5 / FPS
    assert locked.shape == keypoints.shape and np.array_equal(locked[0], keypoints[0])
    wrist = JOINT["right_wrist"]
    assert locked[:, wrist, 1].max() == pytest.approx(keypoints[:, wrist, 1].max(), abs=0.02)
    assert locked[:, wrist, 1].min() >= keypoints[:, wrist, 1].min() - 1e-6


def test_the_warp_stays_within_its_rates_when_the_beats_do_not_fit():
    keypoints = bouncing_wrist(0.5 + 0.5 * np.arange(40), 21.0)
    music = 0.3 + 0.27 * np.arange(70)  # nearly twice as fast: most pairs would need a wild warp
    locked, info = beat_lock(keypoints, music)
    assert info["rate_range"][0] >= MIN_RATE * 0.7 and info["rate_range"][1] <= MAX_RATE * 1.2
    assert np.isfinite(locked).all() and locked.shape == keypoints.shape


def test_no_beats_or_no_motion_beats_leave_the_motion_as_it_was():
    keypoints = bouncing_wrist(0.5 + 0.5 * np.arange(10), 6.0)
    for beats in (np.zeros(0), np.array([1.0])):
        locked, info = beat_lock(keypoints, beats)
        assert np.array_equal(locked, keypoints) and info["pairs"] == 0
    assert pair_beats(np.zeros(0), np.arange(5.0)) == []


def test_the_modes():
    confident, unsure = np.full(20, 0.8), np.full(20, 0.1)
    assert should_lock("auto", confident) and not should_lock("auto", unsure)
    assert should_lock("on", unsure) and not should_lock("off", confident)
    assert not should_lock("auto", np.full(2, 0.9))  # too few beats to trust
    with pytest.raises(ValueError, match="auto, on or off"):
        should_lock("sometimes", confident)


def test_the_pipeline_locks_a_learned_model_and_never_the_procedural_one(random_generator_file):
    from conftest import REPO
    from vconductor import pipeline

    example = REPO / "examples" / "ode_to_joy.ogg"
    learned = pipeline.load_conductor(str(random_generator_file), "cpu")
    prepared = pipeline.prepare_input(example, "mel")
    try:
        free = pipeline.run(prepared, learned, seed=0, beat_lock="off")
        report = pipeline.JobReport()
        locked = pipeline.run(prepared, learned, seed=0, beat_lock="on", report=report)
    finally:
        prepared.close()
    assert free.keypoints.shape == locked.keypoints.shape and report.beat_lock["pairs"] > 10
    # random weights move the joints only ~1% of the frame, so compare with the motion's own range
    moved = np.abs(free.keypoints - locked.keypoints).max()
    assert moved > 0.02 * np.ptp(free.keypoints, axis=0).max()
    before = beat_align_score(motion_beats(free.keypoints), prepared.beats.beats_s)
    after = beat_align_score(motion_beats(locked.keypoints), prepared.beats.beats_s)
    assert after > before

    procedural = pipeline.ProceduralConductor()
    analysed = pipeline.prepare_input(example, "analysis")
    report = pipeline.JobReport()
    pipeline.run(analysed, procedural, seed=0, beat_lock="on", report=report)
    assert report.beat_lock is None  # it conducts its own beats
