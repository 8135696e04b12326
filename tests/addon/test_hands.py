"""Fingers (motion/hands.py): the baton grip curls the baton hand's fingers towards its palm by the grip's angles
whatever the bones' rolls and the arms' rest pose; the free hand opens as its wrist rises or moves; checked with
the independent forward kinematics of addon_rigs on the keys animate_rig returns."""

import numpy as np
import pytest
from virtual_conductor_addon.motion import BoneMap, animate_rig, load_preset
from virtual_conductor_addon.motion.bone_map import FINGERS, finger_bone
from virtual_conductor_addon.motion.hands import BATON_GRIP, OPEN, RELAXED, baton_line, openness_from_wrist
from virtual_conductor_addon.motion.lifting import LiftConfig
from virtual_conductor_addon.motion.rig import RigRest, rest_bone

from .addon_rigs import DEFAULT_NAMES, conducting_keypoints, forward_kinematics, humanoid
from .test_lifting_3d import authored_motion

KNUCKLES = {"thumb": (0.02, 0.025), "index": (0.09, 0.03), "middle": (0.09, 0.01), "ring": (0.09, -0.01)}
KNUCKLES["pinky"] = (0.09, -0.03)  # (along the hand, towards the thumb side)
SPLAY = {"thumb": 1.0, "index": 0.2, "middle": 0.05, "ring": -0.08, "pinky": -0.2}  # fanned, as hands rest


def with_fingers(rig: RigRest, roll_deg: float) -> RigRest:
    """The rig with five three-segment fingers per hand named as the semantic slots, palm down (T-pose), the
    thumb forward; every finger bone rolled by `roll_deg`."""
    bones = dict(rig.bones)
    for side in "LR":
        hand = rig.bones[f"hand.{side}"]
        direction = hand.rotation[:, 1]
        forward = np.array([0.0, -1.0, 0.0])
        palm = (1.0 if side == "L" else -1.0) * np.cross(direction, forward)
        for finger in FINGERS:
            along, lateral = KNUCKLES[finger]
            head = (
                hand.head + along * direction + lateral * forward + (0.012 * palm if finger == "thumb" else 0)
            )
            step = direction + SPLAY[finger] * forward + (0.5 if finger == "thumb" else 0.1) * palm
            step = 0.03 * step / np.linalg.norm(step)
            parent = hand.name
            for segment in range(1, 4):
                name = finger_bone(finger, segment, side)
                bones[name] = rest_bone(name, parent, head, head + step, np.radians(roll_deg))
                parent, head = name, head + step
    return RigRest(bones)


def finger_map() -> BoneMap:
    body = load_preset("conductor").bones
    return BoneMap(
        {
            **body,
            **{
                finger_bone(f, s, side): finger_bone(f, s, side)
                for f in FINGERS
                for s in (1, 2, 3)
                for side in "LR"
            },
        }
    )


def curl_deg(rig: RigRest, posed: dict, side: str, finger: str, segment: int) -> np.ndarray:
    """Signed angle (towards the palm positive) of a finger segment relative to its parent, per frame."""
    name = finger_bone(finger, segment, side)
    parent = rig.bones[name].parent
    rest = rig.bones[parent].rotation.T @ rig.bones[name].rotation[:, 1]  # in the parent's frame
    posed_dir = np.einsum("fji,fj->fi", posed[parent][:, :3, :3], posed[name][:, :3, 1])
    hand = rig.bones[f"hand.{side}"]
    forward = np.array([0.0, -1.0, 0.0])
    palm = (1.0 if side == "L" else -1.0) * np.cross(hand.rotation[:, 1], forward)
    palm_local = rig.bones[parent].rotation.T @ palm
    angle = np.degrees(np.arccos(np.clip(posed_dir @ rest, -1.0, 1.0)))
    return angle * np.where(posed_dir @ palm_local >= rest @ palm_local, 1.0, -1.0)


@pytest.mark.parametrize("roll", [0.0, 73.0, -140.0])
@pytest.mark.parametrize("arm_angle", [0.0, 40.0])
def test_the_baton_hand_grips_and_the_free_hand_opens_with_its_gestures(roll, arm_angle):
    rig = with_fingers(humanoid(DEFAULT_NAMES, arm_angle_deg=arm_angle), roll)
    kp = conducting_keypoints(seconds=6.0)
    times = np.arange(len(kp)) / 30.0
    animation = animate_rig(kp, times, rig, finger_map(), baton_side="R")
    posed = forward_kinematics(rig, {k: v.astype(np.float64) for k, v in animation.rotations.items()})
    for finger in FINGERS:
        for segment in (1, 2, 3):
            curl = curl_deg(rig, posed, "R", finger, segment)
            np.testing.assert_allclose(curl, BATON_GRIP[finger][segment - 1], atol=0.05)
    left = np.mean([curl_deg(rig, posed, "L", f, 2) for f in FINGERS[1:]], axis=0)
    relaxed = np.mean([RELAXED[f][1] for f in FINGERS[1:]])
    opened = np.mean([OPEN[f][1] for f in FINGERS[1:]])
    assert np.all(left <= relaxed + 1e-3) and np.all(left >= opened - 1e-3)
    assert np.ptp(left) > 3.0  # the left hand moves, so it opens and relaxes again


def test_the_left_handed_grip_and_no_baton():
    rig = with_fingers(humanoid(DEFAULT_NAMES), 30.0)
    kp = conducting_keypoints(seconds=3.0)
    times = np.arange(len(kp)) / 30.0
    for side in ("L", ""):
        animation = animate_rig(kp, times, rig, finger_map(), baton_side=side)
        posed = forward_kinematics(rig, {k: v.astype(np.float64) for k, v in animation.rotations.items()})
        left_index = curl_deg(rig, posed, "L", "index", 2)
        right_index = curl_deg(rig, posed, "R", "index", 2)
        if side == "L":
            np.testing.assert_allclose(left_index, BATON_GRIP["index"][1], atol=0.05)
            assert right_index.max() <= RELAXED["index"][1] + 1e-3
        else:  # no baton: both hands free
            assert max(left_index.max(), right_index.max()) <= RELAXED["index"][1] + 1e-3


def test_a_rig_without_fingers_keys_none_and_openness_reads_the_wrist():
    rig = humanoid(DEFAULT_NAMES)
    animation = animate_rig(
        conducting_keypoints(seconds=2.0), np.arange(60) / 30.0, rig, load_preset("conductor")
    )
    assert not any(name.startswith(("thumb", "index")) for name in animation.rotations)
    times = np.arange(120) / 30.0
    still = np.tile([0.2, 0.0, -0.5], (120, 1))
    assert openness_from_wrist(still, times).max() == 0.0
    cue = still.copy()
    cue[60:, 2] += 0.4  # the hand rises for a cue and holds
    opened = openness_from_wrist(cue, times)
    assert opened[:40].max() < 0.05 and opened[80:].min() > 0.65


def test_the_wrist_points_a_baton_held_along_the_index_at_the_authored_tip():
    rig = with_fingers(humanoid(DEFAULT_NAMES, arm_angle_deg=30.0), 45.0)
    del rig.bones["baton"]  # any rig: no baton bone, the baton lies along the index (12 degrees off the hand)
    rig = RigRest(dict(rig.bones))
    kp3d = authored_motion(3.0)
    t = np.arange(len(kp3d)) / 30.0
    pointing = np.stack([-0.3 + 0.2 * np.sin(3 * t), 0.4 * np.cos(2 * t), 1.0 + 0 * t], -1)  # forward, moving
    tip = kp3d[:, 10] + 0.2 * pointing / np.linalg.norm(pointing, axis=-1, keepdims=True)
    bone_map = finger_map()
    animation = animate_rig(
        kp3d[..., :2], t, rig, bone_map, LiftConfig(smoothing=0.0), keypoints3d=kp3d, baton_tip=tip
    )
    posed = forward_kinematics(rig, {k: v.astype(np.float64) for k, v in animation.rotations.items()})
    _grip, line = baton_line(rig, bone_map, "R", np.array([0.0, 0.0, 1.0]))
    hand = rig.bones["hand.R"]
    assert np.degrees(np.arccos(line @ hand.rotation[:, 1])) > 10.0  # the index line is not the hand's
    held = np.einsum("fij,j->fi", posed["hand.R"][:, :3, :3], hand.rotation.T @ line)
    authored = tip - kp3d[:, 10]
    authored = np.stack([authored[:, 0], -authored[:, 2], -authored[:, 1]], -1)  # x left, y down, z fwd
    cosine = np.sum(held * authored, -1) / np.linalg.norm(authored, axis=-1)
    assert np.degrees(np.arccos(np.clip(cosine, -1, 1))).max() < 0.5
