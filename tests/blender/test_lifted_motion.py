"""Motion keyed onto the default rig in real Blender: authored 3D arms as authored, learned 2D at natural size.

Both go through `generate.apply_result`, the step that keys every take, with the motion read from file bytes
(`contract.motion_from_bytes`) as the service client and motion files deliver it.
"""

import numpy as np
import pytest

from .blender_scene import CORPUS, REPO, create_rig, posed_joints
from .test_generate import _projection_errors

UPPER, FORE = 0.16, 0.15  # authored bone lengths, keypoint units (shoulders 0.2 apart)
FORWARD_FRAME = 45  # the authored forearms point straight forward (towards the camera) here


def authored_motion(frames: int = 90) -> np.ndarray:
    """(T, 13, 3) in the body frame (x left, y down, z forward): a still body, elbows swinging forward and
    down, forearms sweeping from down-and-out through straight forward (FORWARD_FRAME) to up-and-in."""
    kp = np.zeros((frames, 13, 3))
    kp[:, 5], kp[:, 6] = (0.6, 0.5, 0.0), (0.4, 0.5, 0.0)  # shoulders
    kp[:, 11], kp[:, 12] = (0.56, 0.8, 0.0), (0.44, 0.8, 0.0)  # hips
    kp[:, 0], kp[:, 1], kp[:, 2] = (0.5, 0.38, 0.05), (0.52, 0.36, 0.04), (0.48, 0.36, 0.04)
    kp[:, 3], kp[:, 4] = (0.54, 0.37, 0.0), (0.46, 0.37, 0.0)
    phase = (np.arange(frames) - FORWARD_FRAME) / 40.0
    for side, (shoulder, elbow, wrist) in {1.0: (5, 7, 9), -1.0: (6, 8, 10)}.items():
        upper = np.stack([side * (0.4 + 0.2 * phase), 0.8 + 0 * phase, 0.5 + 0.3 * phase], -1)
        kp[:, elbow] = kp[:, shoulder] + UPPER * upper / np.linalg.norm(upper, axis=-1, keepdims=True)
        angle = 1.2 * phase  # 0 at FORWARD_FRAME: straight forward
        fore = np.stack([-side * 0.5 * np.sin(angle), np.sin(angle), np.cos(angle)], -1)
        kp[:, wrist] = kp[:, elbow] + FORE * fore / np.linalg.norm(fore, axis=-1, keepdims=True)
    return kp


def key_motion(bpy, motion, smoothing: float):
    """Key `motion` onto a new default rig at 30 fps from frame 1, as a generation would; returns the scene,
    the rig and the keyed frame numbers."""
    from virtual_conductor_addon.blender import generate
    from virtual_conductor_addon.blender.audio import FrameRange
    from virtual_conductor_addon.motion import LiftConfig, detect_bone_map

    scene = bpy.context.scene
    scene.render.fps, scene.render.fps_base = 30, 1.0
    rig = create_rig(bpy)
    bone_map = detect_bone_map(rig.data.bones.keys())[1]
    request = generate.Request(
        pcm=np.zeros(1, np.float32),
        sample_rate=22050,
        model="file",
        seed=0,
        frames=FrameRange(1.0, 1.0 + motion.num_frames, 30.0),
        armature_name=rig.name,
        bone_map=bone_map,
        store_bone_map=False,
        lift=LiftConfig(smoothing=smoothing),
        strip_name="file",
    )
    generate.apply_result(request, motion)
    return scene, rig, np.arange(1, 1 + motion.num_frames)


def motion_file(keypoints, keypoints3d=None):
    """The motion as a .npz file's bytes read back (what a motion file or the service delivers)."""
    from virtual_conductor_addon.contract import Motion, motion_from_bytes, motion_to_bytes

    motion = Motion(keypoints, (len(keypoints) - 1) / 30.0, "file", 0, keypoints3d=keypoints3d)
    return motion_from_bytes(motion_to_bytes(motion, ".npz"), ".npz")


def test_authored_3d_arms_are_keyed_as_authored(bpy):
    kp3d = authored_motion()
    motion = motion_file(kp3d[..., :2].astype(np.float32), kp3d.astype(np.float32))
    assert motion.keypoints3d is not None
    scene, rig, frames = key_motion(bpy, motion, smoothing=0.0)
    joints = posed_joints(bpy, scene, rig, frames)
    for side, (shoulder, elbow, wrist) in {"L": (5, 7, 9), "R": (6, 8, 10)}.items():
        for bone, start, end in (("upper_arm", shoulder, elbow), ("forearm", elbow, wrist)):
            authored = kp3d[: len(frames), end] - kp3d[: len(frames), start]
            authored = np.stack([authored[:, 0], -authored[:, 2], -authored[:, 1]], -1)  # rig X, Y back, Z up
            keyed = joints[f"{bone}.{side}.tail"] - joints[f"{bone}.{side}.head"]
            cosine = (
                np.sum(authored * keyed, -1)
                / np.linalg.norm(authored, axis=-1)
                / np.linalg.norm(keyed, axis=-1)
            )
            angle = np.degrees(np.arccos(np.clip(cosine, -1, 1)))
            assert angle.max() < 1.0, f"{bone}.{side}: {angle.max():.2f} degrees off the authored direction"
        forearm = (
            joints[f"forearm.{side}.tail"][FORWARD_FRAME] - joints[f"forearm.{side}.head"][FORWARD_FRAME]
        )
        assert forearm / np.linalg.norm(forearm) == pytest.approx([0.0, -1.0, 0.0], abs=0.01)  # rig faces -Y
        # the elbow sits where the authored upper arm puts it: in front of and below the shoulder
        elbow = (
            joints[f"forearm.{side}.head"][FORWARD_FRAME] - joints[f"upper_arm.{side}.head"][FORWARD_FRAME]
        )
        assert elbow[1] < -0.05 and elbow[2] < -0.1


def authored_yaw_deg(keypoints3d: np.ndarray) -> np.ndarray:
    """(T,) degrees, + towards the conductor's left: the authored face's turn, from its ear line."""
    ears = keypoints3d[:, 3].astype(np.float64) - keypoints3d[:, 4]
    return np.degrees(np.arctan2(-ears[:, 2], ears[:, 0]))


def head_yaw_deg(scene, rig, bone: str, frames) -> np.ndarray:
    """(F,) degrees, + towards the character's left: how far `bone` is turned from its rest in armature space
    as Blender evaluates it (the rig faces -Y, its left is +X)."""
    rest = np.array(rig.data.bones[bone].matrix_local.to_3x3())
    yaw = []
    for frame in frames:
        scene.frame_set(int(frame))
        forward = np.array(rig.pose.bones[bone].matrix.to_3x3()) @ rest.T @ [0.0, -1.0, 0.0]
        yaw.append(np.degrees(np.arctan2(forward[0], -forward[1])))
    return np.array(yaw)


def test_the_head_follows_the_procedural_conductors_authored_turns(bpy):
    """The procedural conductor's head (looking about, turning to cues) keyed onto the default figure: the
    head bone's world yaw is the authored one within a few degrees, the neck's lean taken back."""
    pytest.importorskip(
        "vconductor", reason="the backend is not installed here (Blender 5.0 runs add-on tests only)"
    )
    from vconductor.conducting import analyze, conduct

    analysis = analyze(REPO / "examples" / "ode_to_joy.ogg", frame_rate=30)
    conducted = conduct(analysis, 20 * 30, seed=0)
    motion = motion_file(conducted.keypoints, conducted.keypoints3d)
    scene, rig, frames = key_motion(bpy, motion, smoothing=0.0)
    want, got = authored_yaw_deg(conducted.keypoints3d), head_yaw_deg(scene, rig, "head", frames)
    error = np.abs(got - want[: len(frames)])
    print(
        f"\ndefault figure: authored yaw {want.min():.1f}..{want.max():.1f} deg, head bone off by max "
        f"{error.max():.2f} deg, RMS {np.sqrt(np.mean(error**2)):.2f}"
    )
    assert np.ptp(want) > 10 and error.max() < 3.0


@pytest.mark.skipif(not CORPUS.is_dir(), reason="needs ../shared/corpus (the learned model's outputs)")
def test_learned_motion_is_keyed_at_natural_size(bpy):
    """The learned model's 2D on the default rig at the default settings (issue 14): the right wrist keeps at
    least 0.9 of its gesture amplitude, elbows and wrists follow the keypoints, no bone flips.

    The model's 2D upper arms are long for its shoulders (0.73-0.86 shoulder widths as a median, up to 1.3),
    like a person's: the default rig has a person's proportions (shoulder joints 0.33 m apart, upper arm 0.88 of
    that). The clavicles take up what an arm still lacks (motion/girdle.py), a clip-wide size just under
    natural (motion/fit.py: the wrists keep >= 0.92 of their amplitude) most of the rest, and an elbow still out
    of reach shares its error with the wrist. The projected RMS of elbows and wrists after one least-squares
    scale (test_generate's check) is then 2.3-2.6% of a shoulder width over all frames of each piece (the mean
    of the per-frame RMS 2.2-2.4%), 7-11% on its worst single frames (with shoulders 0.37 m apart: 3.4-3.7% on
    two pieces, up to 18%). Asserted: <= 3% over all frames of each piece, <= 12% on any frame."""
    files = sorted(CORPUS.glob("*.official.npz"))
    if not files:
        pytest.skip("../shared/corpus holds no *.official.npz")
    for path in files:
        keypoints = np.load(path)["motion"]
        keypoints = keypoints[~np.all(keypoints == 0, axis=(1, 2))]  # the official zero padding
        scene, rig, frames = key_motion(bpy, motion_file(keypoints), smoothing=0.3)
        joints = posed_joints(bpy, scene, rig, frames)
        times = (frames - frames[0]) / 30.0
        ratio, wrist_error = wrist_follow(keypoints[: len(frames)], joints)
        steps = largest_turns(joints)
        errors = _projection_errors(keypoints, joints, times)
        print(
            f"\n{path.name.split('.')[0]}: wrist amplitude ratio {ratio:.3f}, right wrist off its target "
            f"median {np.median(wrist_error):.2%} p90 {np.quantile(wrist_error, 0.9):.2%}; largest bone "
            f"turn {steps.max():.1f} deg/frame ({np.sum(steps > 30)} over 30); projected RMS (elbows+wrists) "
            f"max {errors.max():.2%} mean {errors.mean():.2%} overall {np.sqrt(np.mean(errors**2)):.2%}"
        )
        assert ratio >= 0.9 and np.median(wrist_error) <= 0.03, path.name
        assert np.sqrt(np.mean(errors**2)) <= 0.03 and errors.max() <= 0.12, path.name
        # A flip (depth side or twist) turns a bone by 90 degrees or more in one frame; the model's own elbows
        # and wrists jump by up to 0.3 shoulder widths between frames, which turns a bone by up to ~45.
        assert steps.max() < 60.0, path.name
        for bone in ("upper_arm.L", "forearm.L", "upper_arm.R", "forearm.R"):
            lengths = np.linalg.norm(joints[f"{bone}.tail"] - joints[f"{bone}.head"], axis=1)
            assert np.ptp(lengths) < 1e-5


def wrist_follow(keypoints, joints):
    """(rig right-wrist amplitude / keypoint right-wrist amplitude, both in shoulder widths on the frontal
    plane; per frame distance of the rig's right wrist from the keypoint's, in shoulder widths, after one
    least-squares scale (the clip-wide size of motion/fit.py))."""
    width = np.median(np.linalg.norm(keypoints[:, 5] - keypoints[:, 6], axis=-1))
    kp_wrist = (keypoints[:, 10] - 0.5 * (keypoints[:, 5] + keypoints[:, 6])) / width * np.array([1.0, -1.0])
    xz = {name: p[:, [0, 2]] for name, p in joints.items()}
    mid = 0.5 * (xz["upper_arm.L.head"] + xz["upper_arm.R.head"])
    rig_width = np.median(np.linalg.norm(xz["upper_arm.L.head"] - xz["upper_arm.R.head"], axis=-1))
    rig_wrist = (xz["forearm.R.tail"] - mid) / rig_width

    def amplitude(track):
        return np.mean(np.linalg.norm(track - track.mean(axis=0), axis=-1))

    scale = np.sum(rig_wrist * kp_wrist) / np.sum(kp_wrist * kp_wrist)
    return amplitude(rig_wrist) / amplitude(kp_wrist), np.linalg.norm(rig_wrist - scale * kp_wrist, axis=-1)


def largest_turns(joints) -> np.ndarray:
    """Per frame, the largest angle (degrees) an upper arm or forearm turned since the previous frame."""
    turns = []
    for bone in ("upper_arm.L", "forearm.L", "upper_arm.R", "forearm.R"):
        v = joints[f"{bone}.tail"] - joints[f"{bone}.head"]
        v /= np.linalg.norm(v, axis=-1, keepdims=True)
        turns.append(np.degrees(np.arccos(np.clip(np.sum(v[1:] * v[:-1], -1), -1, 1))))
    return np.max(turns, axis=0)


def test_the_wrist_tips_the_baton_where_the_motion_authors_its_tip(bpy):
    """The procedural conductor's own performance (3D and baton tip) on the default rig: the hand turns so the
    baton points at the authored tip (the wrist flex shows), within a few degrees."""
    from virtual_conductor_addon.contract import Motion, motion_from_bytes, motion_to_bytes

    pytest.importorskip(
        "vconductor", reason="the backend is not installed here (Blender 5.0 runs add-on tests only)"
    )
    from test_procedural import analysis, steady_beats
    from vconductor.conducting import conduct

    a = analysis("4/4", steady_beats(96, 1.0, 9.0), seconds=10.0, loudness=0.9)
    performed = conduct(a, len(a.loudness), 0)
    motion = Motion(
        performed.keypoints,
        10.0,
        "procedural",
        0,
        keypoints3d=performed.keypoints3d,
        baton_tip=performed.baton_tip,
    )
    motion = motion_from_bytes(motion_to_bytes(motion, ".npz"), ".npz")
    scene, rig, frames = key_motion(bpy, motion, smoothing=0.0)
    authored = motion.baton_tip - motion.keypoints3d[:, 10]
    authored = authored[:, [0, 2, 1]] * np.array([1.0, -1.0, -1.0])  # (x left, y down, z forward) -> X, Y, Z
    angles = []
    for frame in frames[::5]:
        scene.frame_set(int(frame))
        bone = rig.pose.bones["baton"]
        keyed = np.array(bone.tail - bone.head)
        want = authored[int(frame) - 1]
        cosine = keyed @ want / np.linalg.norm(keyed) / np.linalg.norm(want)
        angles.append(np.degrees(np.arccos(np.clip(cosine, -1, 1))))
    print(
        f"\nbaton direction off the authored one: median {np.median(angles):.1f} deg, max {np.max(angles):.1f}"
    )
    assert np.median(angles) < 3.0 and np.max(angles) < 8.0
