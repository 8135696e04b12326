"""The shoulder girdle (motion/girdle.py): clavicles move the shoulders towards elbows out of reach, within
their bound, smoothly; rigs without mapped shoulder bones are posed as before."""

import numpy as np
from virtual_conductor_addon.motion import LiftConfig, animate_rig, detect_bone_map, girdle
from virtual_conductor_addon.motion.bone_map import BoneMap

from .addon_rigs import conducting_keypoints, forward_kinematics, rig_cases

RIGS = rig_cases()


def _animate(rig, keypoints, bone_map=None):
    bone_map = bone_map or detect_bone_map(rig.bones)[1]
    times = np.arange(len(keypoints)) / 30.0
    return bone_map, animate_rig(keypoints, times, rig, bone_map, LiftConfig(smoothing=0.0))


def _raised_right_elbow(seconds: float = 4.0) -> np.ndarray:
    """Synthetic conducting with the right arm swinging high, its elbow past the upper arm's reach."""
    keypoints = conducting_keypoints(seconds=seconds, seed=5, arm_scale=0.8)
    lift = 0.5 * (1.0 + np.sin(np.linspace(0, 4 * np.pi, len(keypoints))))
    width = np.median(np.linalg.norm(keypoints[:, 5] - keypoints[:, 6], axis=-1))
    keypoints[:, [8, 10], 1] -= 1.6 * width * lift[:, None]  # image y is down
    return keypoints


def _elbow_error(rig, bone_map, anim, keypoints) -> np.ndarray:
    """Right elbow's frontal-plane distance from its target (shoulder widths), both from the shoulder midpoint."""
    posed = forward_kinematics(rig, anim.rotations, anim.locations)
    heads = {s: posed[bone_map.bones[f"upper_arm.{s}"]][:, :3, 3][:, [0, 2]] for s in "LR"}
    elbow = posed[bone_map.bones["forearm.R"]][:, :3, 3][:, [0, 2]] - 0.5 * (heads["L"] + heads["R"])
    width = np.median(np.linalg.norm(keypoints[:, 5] - keypoints[:, 6], axis=-1))
    target = (keypoints[:, 8] - 0.5 * (keypoints[:, 5] + keypoints[:, 6])) / width * np.array([1.0, -1.0])
    return np.linalg.norm(elbow / anim.scale - target, axis=-1)


def test_clavicle_lifts_towards_an_elbow_out_of_reach_within_its_bound(monkeypatch):
    rig, keypoints = RIGS["conductor_T"], _raised_right_elbow()
    bone_map, anim = _animate(rig, keypoints)
    q = anim.rotations["shoulder.R"].astype(float)
    turn = np.degrees(2 * np.arccos(np.clip(np.abs(q[:, 0]), 0, 1)))
    assert 5.0 < turn.max() <= np.degrees(girdle.MAX_TURN) + 0.5
    step = np.degrees(2 * np.arccos(np.clip(np.abs(np.sum(q[1:] * q[:-1], axis=-1)), 0, 1)))
    assert step.max() < 5.0  # smooth: no popping
    with_girdle = _elbow_error(rig, bone_map, anim, keypoints)
    monkeypatch.setattr(girdle, "MAX_TURN", 1e-9)
    _, stiff = _animate(rig, keypoints, bone_map)
    without = _elbow_error(rig, bone_map, stiff, keypoints)
    assert with_girdle.mean() < 0.6 * without.mean()  # measured 0.028 against 0.063


def test_rigs_without_shoulder_bones_keep_their_pose(monkeypatch):
    rig, keypoints = RIGS["conductor_T"], _raised_right_elbow()
    full = detect_bone_map(rig.bones)[1]
    bone_map = BoneMap({s: b for s, b in full.bones.items() if not s.startswith("shoulder.")})
    _, anim = _animate(rig, keypoints, bone_map)
    assert not {"shoulder.L", "shoulder.R"} & set(anim.rotations)
    monkeypatch.setattr(girdle, "MAX_TURN", 1e-9)
    _, stiff = _animate(rig, keypoints, bone_map)
    for name, q in anim.rotations.items():
        assert np.allclose(q, stiff.rotations[name], atol=1e-6), name
