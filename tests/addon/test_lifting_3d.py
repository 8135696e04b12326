"""animate_rig with authored 3D keypoints (docs/motion-files.md's body frame): the arms take the authored bone
directions, on any rig, with no depth guessed from the 2D."""

import numpy as np
import pytest
from virtual_conductor_addon.motion import LiftConfig, MotionError, animate_rig, detect_bone_map, key_frames

from .addon_rigs import conducting_keypoints, forward_kinematics, rig_cases

RIGS = rig_cases()
UPPER, FORE = 0.16, 0.15  # the authored arm, in keypoint units (shoulders 0.2 apart)


def authored_motion(seconds: float = 4.0) -> np.ndarray:
    """(T, 13, 3) keypoints in the body frame (x left, y down, z forward) with fixed bone lengths: elbows
    swinging forward and out, forearms sweeping through depth, pointing straight forward at frame 30."""
    kp = np.zeros((int(30 * seconds), 13, 3))
    kp[..., :2] = conducting_keypoints(seconds)
    kp[:, :5, 2] = 0.03  # the face a little in front of the chest
    kp[:, 5:7, 2] = kp[:, 11:13, 2] = 0.0
    t = np.arange(len(kp)) / 30.0
    for side, (shoulder, elbow, wrist) in {1.0: (5, 7, 9), -1.0: (6, 8, 10)}.items():
        swing = 0.5 + 0.4 * np.sin(2 * np.pi * t / 1.3)
        upper = np.stack([side * 0.5 * np.cos(swing), np.cos(swing), 0.8 * np.sin(swing) + 0.3], -1)
        kp[:, elbow] = kp[:, shoulder] + UPPER * upper / np.linalg.norm(upper, axis=-1, keepdims=True)
        sweep = 2 * np.pi * (t - 1.0) / 2.0
        fore = np.stack([side * 0.6 * np.sin(sweep), -0.7 * np.sin(sweep), np.cos(sweep)], -1)
        fore /= np.linalg.norm(fore, axis=-1, keepdims=True)
        kp[:, wrist] = kp[:, elbow] + FORE * fore
    return kp


def rig_directions(rig, anim, bone_map):
    """Posed upper-arm and forearm directions per side, in the body frame's axes (x left, y down, z forward)."""
    posed = forward_kinematics(rig, anim.rotations, anim.locations)
    head = {name: posed[name][:, :3, 3] for name in posed}
    out = {}
    for side in "LR":
        shoulder, elbow = head[bone_map.bones[f"upper_arm.{side}"]], head[bone_map.bones[f"forearm.{side}"]]
        wrist = head[bone_map.bones[f"hand.{side}"]]
        for name, v in (("upper", elbow - shoulder), ("fore", wrist - elbow)):
            body = np.stack([v[:, 0], -v[:, 2], -v[:, 1]], -1)  # armature X left, -Z down, -Y forward
            out[name, side] = body / np.linalg.norm(body, axis=-1, keepdims=True)
    return out


def authored_directions(kp3d, frames):
    out = {}
    for side, (shoulder, elbow, wrist) in {"L": (5, 7, 9), "R": (6, 8, 10)}.items():
        for name, v in (
            ("upper", kp3d[:, elbow] - kp3d[:, shoulder]),
            ("fore", kp3d[:, wrist] - kp3d[:, elbow]),
        ):
            out[name, side] = (v / np.linalg.norm(v, axis=-1, keepdims=True))[frames]
    return out


@pytest.mark.parametrize(
    "rig_name", ["conductor_T", "conductor_A_rolled", "mixamo1_short_arms", "rigify_def_wide"]
)
def test_the_arms_take_the_authored_directions(rig_name):
    rig, kp3d = RIGS[rig_name], authored_motion()
    bone_map = detect_bone_map(rig.bones)[1]
    frames, times = key_frames(0.0, len(kp3d) - 1, 30.0, (len(kp3d) - 1) / 30.0)
    config = LiftConfig(smoothing=0.0)
    anim = animate_rig(kp3d[..., :2], times, rig, bone_map, config, keypoints3d=kp3d)
    got, want = rig_directions(rig, anim, bone_map), authored_directions(kp3d, frames)
    for key in want:
        angle = np.degrees(np.arccos(np.clip(np.sum(got[key] * want[key], axis=-1), -1, 1)))
        assert angle.max() < 1.0, f"{rig_name} {key}: {angle.max():.2f} degrees off the authored direction"
    # frame 30: the authored forearms point straight forward, so do the rig's, whatever its rest pose
    for side in "LR":
        assert got["fore", side][30] == pytest.approx([0.0, 0.0, 1.0], abs=0.02)
    # the 2D alone would have guessed other depths (this motion has forearms behind and across the plane)
    guessed = rig_directions(rig, animate_rig(kp3d[..., :2], times, rig, bone_map, config), bone_map)
    assert max(np.abs(guessed[key][:, 2] - want[key][:, 2]).max() for key in want) > 0.3


def test_3d_is_smoothed_and_sized_like_the_2d():
    rig, kp3d = RIGS["conductor_T"], authored_motion()
    bone_map = detect_bone_map(rig.bones)[1]
    _, times = key_frames(0.0, len(kp3d) - 1, 30.0, (len(kp3d) - 1) / 30.0)
    jitter = kp3d + 0.002 * np.random.default_rng(0).normal(size=kp3d.shape)
    raw = animate_rig(jitter[..., :2], times, rig, bone_map, LiftConfig(smoothing=0.0), keypoints3d=jitter)
    smooth = animate_rig(jitter[..., :2], times, rig, bone_map, LiftConfig(smoothing=1.0), keypoints3d=jitter)
    steps = [np.abs(np.diff(a.targets[:, 10], 2, axis=0)).mean() for a in (raw, smooth)]
    assert steps[1] < 0.5 * steps[0]
    small = animate_rig(
        kp3d[..., :2], times, rig, bone_map, LiftConfig(size=0.5, smoothing=0.0), keypoints3d=kp3d
    )
    full = animate_rig(kp3d[..., :2], times, rig, bone_map, LiftConfig(smoothing=0.0), keypoints3d=kp3d)
    # the elbows' 3D gestures halve about their median (directions of the scaled positions are keyed)
    spread = [np.std(a.targets[:, 8] - a.targets[:, 6], axis=0).sum() for a in (small, full)]
    assert spread[0] == pytest.approx(0.5 * spread[1], rel=0.1)


def test_bad_3d_is_refused():
    rig, kp3d = RIGS["conductor_T"], authored_motion(1.0)
    bone_map = detect_bone_map(rig.bones)[1]
    times = np.arange(10) / 30
    bad = kp3d.copy()
    bad[3, 8, 2] = np.inf
    for keypoints3d, message in (
        (bad, "3D keypoints contain NaN or infinite values in 1 frame"),
        (kp3d[:, :, :2], r"3D keypoints must have shape \(frames, 13, 3\)"),
        (kp3d[:-1], "3D keypoints have 29 frames; the keypoints have 30"),
    ):
        with pytest.raises(MotionError, match=message):
            animate_rig(kp3d[..., :2], times, rig, bone_map, LiftConfig(), keypoints3d=keypoints3d)


def _shoulder_tips(rig, bone_map, kp3d, times):
    anim = animate_rig(kp3d[..., :2], times, rig, bone_map, LiftConfig(smoothing=0.0), keypoints3d=kp3d)
    posed = forward_kinematics(rig, anim.rotations, anim.locations)
    return {side: posed[bone_map.bones[f"upper_arm.{side}"]][:, :3, 3] for side in "LR"}


def test_shoulders_follow_the_authored_ones_at_the_size_of_the_rigs_arms():
    """A rig whose arms are short for its shoulders (rigify_def_wide: 0.54 + 0.57 shoulder widths against the
    author's 0.8 + 0.75) closes its shoulders in, within the clavicles' bound, keeping the authored arm
    directions (test above); a rig with the authored proportions keeps its shoulder width; an authored shrug
    lifts the rig's shoulder (one side, or both over the hips)."""
    kp3d = authored_motion()
    lifted = kp3d.copy()
    lift = 0.02 * np.clip(np.sin(np.linspace(0, 2 * np.pi, len(kp3d))), 0, None)
    lifted[:, [5, 7, 9], 1] -= lift[:, None]  # the left shoulder (and its arm) up: image y is down
    frames, times = key_frames(0.0, len(kp3d) - 1, 30.0, (len(kp3d) - 1) / 30.0)
    widths = {}
    for name in ("rigify_def_wide", "conductor_T"):
        rig = RIGS[name]
        bone_map = detect_bone_map(rig.bones)[1]
        tips, shrugged = (_shoulder_tips(rig, bone_map, k, times) for k in (kp3d, lifted))
        rest = {s: rig.bones[bone_map.bones[f"upper_arm.{s}"]].head for s in "LR"}
        rest_width = np.linalg.norm(rest["L"] - rest["R"])
        widths[name] = np.linalg.norm(tips["L"] - tips["R"], axis=-1) / rest_width
        # the left shoulder rises over the hips, the right one stays
        rise = {s: shrugged[s][:, 2] - tips[s][:, 2] for s in "LR"}  # armature Z is up
        assert np.corrcoef(rise["L"], lift[frames])[0, 1] > 0.95, name
        assert np.abs(rise["R"]).max() < 0.3 * rise["L"].max(), name
        # both shoulders (and the arms and face) up over the hips: a breath, a dip into the beat
        breath = kp3d.copy()
        breath[:, :11, 1] -= lift[:, None]
        breathing = _shoulder_tips(rig, bone_map, breath, times)
        for side in "LR":
            up = breathing[side][:, 2] - tips[side][:, 2]
            assert np.corrcoef(up, lift[frames])[0, 1] > 0.95, (name, side)
    assert widths["rigify_def_wide"].max() < 0.93  # closed in (short arms) ...
    assert widths["conductor_T"].min() > 0.98  # ... where the author's proportions need nothing of the kind


def turned_face(kp3d: np.ndarray, yaw, pitch, roll) -> np.ndarray:
    """`kp3d` with its face (nose, eyes, ears; body frame x left, y down, z forward) turned about the ears'
    midpoint by roll (+ left ear up), then pitch (+ face up), then yaw (+ towards the left), radians (F,)."""
    out = kp3d.copy()
    out[:, 3, 1] = out[:, 4, 1] = out[:, 0, 1] - 0.016  # level ears a little above the nose, at its depth ...
    out[:, 3, 2] = out[:, 4, 2] = out[:, 0, 2] - 0.05  # ... 0.05 behind it (the procedural conductor's face)
    out[:, 3, 0], out[:, 4, 0] = out[:, 0, 0] + 0.047, out[:, 0, 0] - 0.047
    centre = 0.5 * (out[:, 3] + out[:, 4])
    c, s = np.cos, np.sin
    one, zero = np.ones_like(yaw), np.zeros_like(yaw)
    rz = np.stack([c(roll), s(roll), zero, -s(roll), c(roll), zero, zero, zero, one], -1).reshape(-1, 3, 3)
    rx = np.stack([one, zero, zero, zero, c(pitch), -s(pitch), zero, s(pitch), c(pitch)], -1).reshape(
        -1, 3, 3
    )
    ry = np.stack([c(yaw), zero, s(yaw), zero, one, zero, -s(yaw), zero, c(yaw)], -1).reshape(-1, 3, 3)
    rotation = ry @ rx @ rz
    out[:, :5] = centre[:, None] + np.einsum("fij,fkj->fki", rotation, out[:, :5] - centre[:, None])
    return out


@pytest.mark.parametrize("rig_name", ["conductor_T", "mixamo1_short_arms", "rigify_def_wide"])
def test_the_head_bone_turns_nods_and_tilts_as_the_authored_face(rig_name):
    """The head's world rotation (with the neck's lean taken back) is the authored yaw, pitch and roll."""
    rig = RIGS[rig_name]
    bone_map = detect_bone_map(rig.bones)[1]
    kp3d = authored_motion()
    t = np.arange(len(kp3d)) / 30.0
    yaw, pitch, roll = np.radians([24.0, 8.0, 4.0])[:, None] * np.sin(
        np.outer([1.1, 2.3, 0.7], t) + [[0], [1], [2]]
    )
    kp3d = turned_face(kp3d, yaw, pitch, roll)
    frames, times = key_frames(0.0, len(kp3d) - 1, 30.0, (len(kp3d) - 1) / 30.0)
    anim = animate_rig(
        kp3d[..., :2], times, rig, bone_map, LiftConfig(smoothing=0.0, sway=0.0), keypoints3d=kp3d
    )
    head = bone_map.bones["head"]
    posed = forward_kinematics(rig, anim.rotations, anim.locations)[head][:, :3, :3]
    rest = forward_kinematics(rig, {name: np.tile([1.0, 0, 0, 0], (1, 1)) for name in rig.bones})[head][
        0, :3, :3
    ]
    turn = posed @ rest.T  # armature space: X the character's left, -Y forward, Z up
    forward, left = turn @ np.array([0.0, -1.0, 0.0]), turn @ np.array([1.0, 0.0, 0.0])
    got_yaw = np.degrees(np.arctan2(forward[:, 0], -forward[:, 1]))
    got_pitch = np.degrees(np.arcsin(forward[:, 2]))
    got_roll = np.degrees(np.arcsin(left[:, 2] / np.cos(np.radians(got_pitch))))
    want = {
        name: np.degrees(np.interp(frames, np.arange(len(t)), a))
        for name, a in zip("ypr", (yaw, pitch, roll), strict=True)
    }
    assert np.abs(got_yaw - want["y"]).max() < 2.0, (
        f"{rig_name}: yaw {np.abs(got_yaw - want['y']).max():.1f} off"
    )
    pitch_error = (got_pitch - np.median(got_pitch)) - (want["p"] - np.median(want["p"]))
    assert np.abs(pitch_error).max() < 2.0
    assert np.abs(got_roll - want["r"]).max() < 2.0
