"""The procedural conductor's authored 3D: joints in the body frame, the baton, and the mirrored conductor."""

import numpy as np

from test_procedural import analysis, steady_beats
from vconductor.conducted import Conducted
from vconductor.conducting import ConductorConfig, conduct
from vconductor.conducting.tuning import BATON_LENGTH
from vconductor.skeleton import JOINT

R_SHOULDER, R_ELBOW, R_WRIST = JOINT["right_shoulder"], JOINT["right_elbow"], JOINT["right_wrist"]
L_SHOULDER, L_ELBOW, L_WRIST = JOINT["left_shoulder"], JOINT["left_elbow"], JOINT["left_wrist"]


def performance(**config) -> Conducted:
    a = analysis("4/4", steady_beats(90, 1.5, 27.0), seconds=30.0, loudness=0.9, phrases=[10.0, 19.0])
    return conduct(a, len(a.loudness), 0, ConductorConfig(**config))


def test_the_keypoints_are_the_projection_of_the_3d_joints():
    c = performance()
    assert c.keypoints3d.shape == (len(c.keypoints), 13, 3) and c.keypoints3d.dtype == np.float32
    assert np.array_equal(c.keypoints3d[..., :2], c.keypoints)
    cfg = ConductorConfig()
    for shoulder, elbow, wrist in ((R_SHOULDER, R_ELBOW, R_WRIST), (L_SHOULDER, L_ELBOW, L_WRIST)):
        upper = np.linalg.norm(c.keypoints3d[:, elbow] - c.keypoints3d[:, shoulder], axis=1)
        fore = np.linalg.norm(c.keypoints3d[:, wrist] - c.keypoints3d[:, elbow], axis=1)
        assert np.allclose(upper, cfg.upper_arm, atol=1e-5) and np.allclose(fore, cfg.forearm, atol=1e-5)
        assert (c.keypoints3d[:, wrist, 2] > 0).all()  # the hands work in front of the body
    face, chest = c.keypoints3d[:, JOINT["nose"], 2], c.keypoints3d[:, R_SHOULDER, 2]
    assert (face > chest).all()


def test_the_baton_tip_draws_a_bigger_pattern_than_the_hand():
    c = performance()
    tip, wrist = c.baton_tip, c.keypoints3d[:, R_WRIST]
    assert np.allclose(np.linalg.norm(tip - wrist, axis=1), BATON_LENGTH, atol=1e-5)
    assert np.median(tip[:, 2] - wrist[:, 2]) > 0.5 * BATON_LENGTH  # it points at the orchestra
    conducting = slice(3 * 30, 25 * 30)
    hand_travel = np.abs(np.diff(wrist[conducting, 1])).sum()
    tip_travel = np.abs(np.diff(tip[conducting, 1])).sum()
    assert 1.3 < tip_travel / hand_travel < 2.2  # the wrist flexes into each ictus: about 1.5x


def test_a_left_handed_conductor_is_the_mirror_image():
    right_handed, left_handed = performance(), performance(left_handed=True)
    assert np.allclose(left_handed.keypoints[:, L_WRIST, 0], 1.0 - right_handed.keypoints[:, R_WRIST, 0])
    assert np.allclose(left_handed.keypoints3d[:, L_ELBOW, 1:], right_handed.keypoints3d[:, R_ELBOW, 1:])
    assert np.allclose(left_handed.baton_tip[:, 0], 1.0 - right_handed.baton_tip[:, 0])
    assert np.allclose(left_handed.mirrored().keypoints, right_handed.keypoints, atol=1e-6)


def test_without_a_baton_there_is_no_tip():
    assert performance(baton=False).baton_tip is None


def test_the_chest_leans_in_at_full_passages_and_breathes_before_the_entry():
    t = np.arange(40 * 30) / 30
    swell = np.where(t < 20, 0.5, 0.97)  # quiet, then full
    a = analysis("4/4", steady_beats(90, 3.0, 37.0), seconds=40.0, loudness=swell)
    c = conduct(a, len(a.loudness), 0)
    chest = c.keypoints3d[:, [L_SHOULDER, R_SHOULDER], 2].mean(axis=1)
    assert np.median(chest[26 * 30 : 36 * 30]) > np.median(chest[8 * 30 : 18 * 30]) + 0.015
    assert np.allclose(c.keypoints3d[:, JOINT["left_hip"], 2], 0)  # the hips stay
    shoulders_y = c.keypoints[:, [L_SHOULDER, R_SHOULDER], 1].mean(axis=1)
    entry = int(round((3.0 - 0.15) * 30))  # the breath is held just before the first beat ...
    assert shoulders_y[entry] < shoulders_y[int(1.0 * 30)] - 0.005  # ... shoulders up (y is down)


# The official model's 2D head (learned from real conductors; /work/shared/corpus *.official.npz, 4 pieces):
# the nose relative to the ears' midpoint moves at most ~4 shoulder widths/s (99th percentile 4.0-4.6) and
# spans 0.23-0.29 shoulder widths sideways (5-95%). The procedural head must stay slower and no wider.
OFFICIAL_FACE_SPEED_SW, OFFICIAL_FACE_SPAN_SW = 4.0, 0.29


def head_angles_deg(c: Conducted) -> tuple[np.ndarray, np.ndarray]:
    """Yaw (+ to the conductor's left) from the 3D ear line, pitch (+ face up) of the nose over the ears."""
    kp = c.keypoints3d.astype(np.float64)
    ears = kp[:, JOINT["left_ear"]] - kp[:, JOINT["right_ear"]]
    nose = kp[:, JOINT["nose"]] - 0.5 * (kp[:, JOINT["left_ear"]] + kp[:, JOINT["right_ear"]])
    yaw = np.degrees(np.arctan2(-ears[:, 2], ears[:, 0]))
    pitch = np.degrees(np.arctan2(-nose[:, 1], np.hypot(nose[:, 0], nose[:, 2])))
    return yaw, pitch


def test_the_head_looks_about_turns_to_cues_and_stays_within_real_conductors_speed():
    a = analysis("4/4", steady_beats(90, 1.5, 37.0), seconds=40.0, loudness=0.3, phrases=[12.0, 24.0])
    cued = 0
    for seed in range(5):
        c = conduct(a, len(a.loudness), seed)
        yaw, _ = head_angles_deg(c)
        assert np.ptp(yaw) > 10 and np.abs(yaw).max() < 30  # alive, and never looking over the shoulder
        assert np.abs(np.diff(yaw)).max() < 5.0  # degrees per frame (150 deg/s, a quick glance): no snaps
        face = c.keypoints[:, 0] - 0.5 * (
            c.keypoints[:, JOINT["left_ear"]] + c.keypoints[:, JOINT["right_ear"]]
        )
        speed = np.linalg.norm(np.diff(face, axis=0), axis=1) * 30 / 0.2
        assert speed.max() < OFFICIAL_FACE_SPEED_SW and np.ptp(face[:, 0]) / 0.2 < OFFICIAL_FACE_SPAN_SW
        left_y = c.keypoints[:, L_WRIST, 1]
        if left_y[12 * 30] < np.median(left_y[5 * 30 : 10 * 30]) - 0.04:  # the left hand cues the phrase ...
            cued += 1
            assert yaw[12 * 30] > 18  # ... out to the left, and the head turns that way
    assert cued >= 3
    again = conduct(a, len(a.loudness), 4)
    assert np.array_equal(again.keypoints3d, c.keypoints3d)  # deterministic per seed ...
    assert np.abs(head_angles_deg(conduct(a, len(a.loudness), 5))[0] - yaw).max() > 5  # ... varied by it


def test_the_head_nods_into_downbeats_and_lifts_with_loud_music():
    beats = steady_beats(90, 1.5, 27.0)
    quiet, loud = (analysis("4/4", beats, loudness=level) for level in (0.15, 0.95))
    pitch_quiet = head_angles_deg(conduct(quiet, len(quiet.loudness), 0))[1]
    pitch_loud = head_angles_deg(conduct(loud, len(loud.loudness), 0))[1]
    assert np.median(pitch_loud) > np.median(pitch_quiet) + 4
    frames = np.round(beats[4:-4] * 30).astype(int)
    downbeats, thirds = (
        frames[np.arange(4, len(beats) - 4) % 4 == 0],
        frames[np.arange(4, len(beats) - 4) % 4 == 2],
    )
    assert np.mean(pitch_loud[downbeats]) < np.mean(pitch_loud[thirds]) - 1.5  # the face dips into the one
