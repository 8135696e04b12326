"""Any rig: users' armatures built from edit bones, mapped by preset detection, animated by a real generation.

Checked independently of the motion core, on what Blender evaluates frame by frame: the projected elbows and
wrists follow the backend's keypoints (the check of test_generate), the neck leans as the keypoints' ears do,
bone lengths and unmapped bones are untouched, and rotations never flip between frames.
"""

import math

import numpy as np
import pytest

from .any_rig_scene import (
    MIXAMO,
    RIGIFY_CONTROL,
    RIGIFY_DEF,
    ROLLS,
    RigCase,
    add_music,
    build_rig,
    evaluate_pose,
)
from .test_generate import _backend_motion, _projection_errors

NEGATED_ROLLS = {k: -v for k, v in ROLLS.items()}
CASES = {
    "mixamo_prefixed_A_long_arms": (
        RigCase(MIXAMO, "mixamorig:", arm_angle_deg=40, upper=0.34, fore=0.3, rolls=ROLLS),
        "mixamo",
    ),
    "mixamo_plain_A_short_arms_wide_euler": (
        RigCase(
            MIXAMO,
            arm_angle_deg=30,
            shoulder_half=0.23,
            upper=0.22,
            fore=0.2,
            rolls=NEGATED_ROLLS,
            euler=True,
        ),
        "mixamo",
    ),
    "rigify_deform_split_arms": (
        RigCase(RIGIFY_DEF, arm_angle_deg=20, shoulder_half=0.22, split_arms=True, rolls=ROLLS),
        "rigify_deform",
    ),
    "rigify_control_T": (RigCase(RIGIFY_CONTROL, arm_parent=True, rolls=NEGATED_ROLLS), "rigify"),
}
DEFAULT_SETTINGS_CASE = "mixamo_plain_A_short_arms_wide_euler"  # smoothing 0.3, size 1: what users get
HEAD_TOLERANCE_DEG = 3.0
MAX_STEP_DEG = (
    35.0  # per frame at 24 fps: fast forearms at a beat reach ~23; a flip or twist jump is far more
)
_BACKEND_KEYPOINTS: dict = {}


def generate_on(bpy, case: RigCase, *, default_settings: bool = False, seed: int = 0):
    scene, strip = add_music(bpy)
    rig = build_rig(bpy, case)
    settings = scene.vconductor
    settings.armature, settings.model, settings.seed = rig, "procedural", seed
    if not default_settings:
        settings.smoothing = 0.0
    bpy.context.view_layer.objects.active = None  # the panel's armature field is what counts
    assert bpy.ops.vconductor.generate() == {"FINISHED"}, bpy.context.window_manager.vconductor_job.last_error
    return scene, strip, rig


def backend_keypoints(bpy, strip, scene) -> np.ndarray:
    """The backend's keypoints for this audio (procedural, seed 0: the same for every rig)."""
    return backend_motion(bpy, strip, scene).keypoints


def backend_motion(bpy, strip, scene):
    """The backend's motion for this audio: keypoints and, from the procedural conductor, authored 3D."""
    key = (strip.frame_final_duration, scene.vconductor.seed)
    if key not in _BACKEND_KEYPOINTS:
        _BACKEND_KEYPOINTS[key] = _backend_motion(bpy, strip, scene)
    return _BACKEND_KEYPOINTS[key]


def direction_errors(keypoints3d: np.ndarray, times: np.ndarray, joints: dict) -> np.ndarray:
    """Per frame, the largest angle (degrees) between a rig arm bone and the authored 3D bone (body frame x
    left, y down, z forward -> armature X, -Z, -Y on these rigs), the 3D interpolated at `times`; `joints` as
    for _projection_errors (shoulders, elbows, wrists)."""
    kp = _interpolated(keypoints3d, times)
    worst = np.zeros(len(times))
    for side, (shoulder, elbow, wrist) in {"L": (5, 7, 9), "R": (6, 8, 10)}.items():
        points = [
            joints[f"upper_arm.{side}.head"],
            joints[f"forearm.{side}.head"],
            joints[f"forearm.{side}.tail"],
        ]
        for (start, end), (a, b) in zip(((shoulder, elbow), (elbow, wrist)), ((0, 1), (1, 2)), strict=True):
            authored = kp[:, end] - kp[:, start]
            authored = np.stack([authored[:, 0], -authored[:, 2], -authored[:, 1]], -1)
            keyed = points[b] - points[a]
            cosine = (
                np.sum(authored * keyed, -1)
                / np.linalg.norm(authored, axis=-1)
                / np.linalg.norm(keyed, axis=-1)
            )
            worst = np.maximum(worst, np.degrees(np.arccos(np.clip(cosine, -1, 1))))
    return worst


def _interpolated(keypoints: np.ndarray, times: np.ndarray) -> np.ndarray:
    t = np.clip(times * 30.0, 0, len(keypoints) - 1)
    lo = np.floor(t).astype(int)
    hi = np.minimum(lo + 1, len(keypoints) - 1)
    return keypoints[lo] + (t - lo)[:, None, None] * (keypoints[hi] - keypoints[lo])


def neck_lean_errors(keypoints, times, pose, rest, neck: str, head: str) -> np.ndarray:
    """Degrees between the rig's neck lean on the frontal plane (neck head -> head head, relative to rest) and
    the keypoints' (shoulder midpoint -> ear midpoint, relative to its clip median: the rest pose is neutral)."""
    kp = _interpolated(keypoints, times)
    up = 0.5 * (kp[:, 3] + kp[:, 4]) - 0.5 * (kp[:, 5] + kp[:, 6])
    kp_angle = np.degrees(np.arctan2(up[:, 0], -up[:, 1]))  # image x -> +X (left), image y down -> -Z
    kp_lean = kp_angle - np.median(kp_angle)
    direction = pose["head"][head] - pose["head"][neck]
    rest_direction = rest[head] - rest[neck]
    rig_lean = np.degrees(np.arctan2(direction[:, 0], direction[:, 2])) - math.degrees(
        math.atan2(rest_direction[0], rest_direction[2])
    )
    return np.abs(rig_lean - kp_lean)


@pytest.mark.parametrize("name", list(CASES))
def test_generation_on_a_users_rig_follows_the_keypoints(bpy, started_backend, name):
    case, preset = CASES[name]
    assert_generation_follows(bpy, name, case, preset, default_settings=name == DEFAULT_SETTINGS_CASE)


def assert_generation_follows(bpy, name: str, case: RigCase, preset: str, default_settings: bool = False):
    """Generate on a rig built from `case`; the map detected is `preset`'s; the take follows the keypoints (see
    the module's docstring). Returns (scene, rig, evaluated pose, frames)."""
    scene, strip, rig = generate_on(bpy, case, default_settings=default_settings)
    from virtual_conductor_addon.blender import compat, take_data, takes
    from virtual_conductor_addon.motion import rig_controls
    from virtual_conductor_addon.motion.bone_map import BODY_BONES, BoneMap, preset_for_rig

    # the detected preset, with its prefix, is now the armature's stored map
    stored = {e.semantic: e.bone for e in rig.data.vconductor_bones if e.bone}
    assert stored == preset_for_rig(preset, rig.data.bones.keys()).bones
    assert stored["upper_arm.L"] == case.bone("upper_arm.L")
    assert len([s for s in stored if s in BODY_BONES]) == 13
    mapped = set(stored.values())

    action = rig.animation_data.action
    motion = backend_motion(bpy, strip, scene)
    keypoints = motion.keypoints
    np.testing.assert_array_equal(take_data.take_keypoints(action).keypoints, keypoints)  # kept with the take

    frames = np.arange(scene.frame_start, scene.frame_end + 1)
    rest = {b.name: np.array(b.head_local) for b in rig.data.bones}
    rest_rotation = {b.name: np.array(b.matrix_basis.to_quaternion()) for b in rig.pose.bones}
    pose = evaluate_pose(bpy, scene, rig, frames)
    times = (frames - strip.frame_final_start) / (scene.render.fps / scene.render.fps_base)

    # elbows and wrists follow the keypoints on the frontal plane (wrist = head of the mapped hand bone)
    joints = {}
    for side in "LR":
        joints[f"upper_arm.{side}.head"] = pose["head"][stored[f"upper_arm.{side}"]]
        joints[f"forearm.{side}.head"] = pose["head"][stored[f"forearm.{side}"]]
        joints[f"forearm.{side}.tail"] = pose["head"][stored[f"hand.{side}"]]
    if motion.keypoints3d is None:  # 2D only: the projection follows the keypoints (shoulder-relative)
        errors, limit = _projection_errors(keypoints, joints, times), 0.03
    else:  # authored 3D: the bones take its directions (the projection then depends on the rig's proportions)
        errors, limit = direction_errors(motion.keypoints3d, times, joints), 4.0 if default_settings else 1.0
    lean_errors = neck_lean_errors(keypoints, times, pose, rest, stored["neck"], stored["head"])
    steps = _largest_steps_deg(pose["rotation"])
    print(
        f"\n{name}: {len(frames)} frames, "
        + (
            f"projection RMS max {errors.max():.2%} mean {errors.mean():.2%} of the shoulder width"
            if motion.keypoints3d is None
            else f"arm bones off the authored 3D max {errors.max():.2f} mean {errors.mean():.2f} deg"
        )
        + f"; neck lean error max {lean_errors.max():.2f} deg; largest step "
        f"{max(steps.values()):.1f} deg/frame ({max(steps, key=steps.get)})"
    )
    assert errors.max() <= limit
    # the head leans with the keypoints (and does lean: not a still head passing trivially)
    assert lean_errors.max() <= HEAD_TOLERANCE_DEG
    head_motion = pose["head"][stored["head"]] - pose["head"][stored["neck"]]
    assert np.ptp(np.degrees(np.arctan2(head_motion[:, 0], head_motion[:, 2]))) > 1.0

    # every bone keeps its length
    for bone in rig.data.bones:
        lengths = np.linalg.norm(pose["tail"][bone.name] - pose["head"][bone.name], axis=1)
        assert np.abs(lengths - bone.length).max() < 1e-5, bone.name
    # no flips: small steps between frames, and keyed quaternions keep their sign from key to key
    assert max(steps.values()) <= MAX_STEP_DEG
    for fcurves in _quaternion_fcurves(compat.action_fcurves(action)).values():
        q = np.stack([_key_values(fc) for fc in fcurves], axis=1)
        assert np.all(np.sum(q[1:] * q[:-1], axis=1) > 0)
    # unmapped bones: no F-curves, pose at rest in every frame; mapped arms do move
    switches = {c.bone for c in rig_controls.preset_controls(BoneMap(stored), rig.data.bones.keys())}
    assert takes.animated_bones(action) <= mapped | switches  # an IK/FK switch is keyed, not posed
    for bone_name, rotations in pose["rotation"].items():
        if bone_name not in mapped:
            np.testing.assert_allclose(np.abs(rotations @ rest_rotation[bone_name]), 1.0, atol=1e-6)
            np.testing.assert_allclose(pose["location"][bone_name], 0.0, atol=1e-6)
    assert np.ptp(pose["head"][stored["hand.R"]], axis=0).max() > 0.05
    return scene, rig, pose, frames


def _largest_steps_deg(rotations: dict[str, np.ndarray]) -> dict[str, float]:
    """Each bone's largest rotation from one frame to the next, in degrees."""
    return {
        bone: np.degrees(2 * np.arccos(np.clip(np.abs(np.sum(q[1:] * q[:-1], axis=1)), 0, 1))).max()
        for bone, q in rotations.items()
    }


def _quaternion_fcurves(fcurves) -> dict:
    grouped = {}
    for fcurve in fcurves:
        if fcurve.data_path.endswith("rotation_quaternion"):
            grouped.setdefault(fcurve.data_path, [None] * 4)[fcurve.array_index] = fcurve
    return grouped


def _key_values(fcurve) -> np.ndarray:
    co = np.empty(2 * len(fcurve.keyframe_points), np.float32)
    fcurve.keyframe_points.foreach_get("co", co)
    return co[1::2]


def test_sway_moves_hips_and_spine_only_when_asked(bpy, started_backend):
    case = CASES["mixamo_prefixed_A_long_arms"][0]
    scene, _strip = add_music(bpy, seconds=4.0)
    rig = build_rig(bpy, case)
    settings = scene.vconductor
    settings.armature, settings.model, settings.smoothing, settings.sway = rig, "procedural", 0.0, 1.0
    assert bpy.ops.vconductor.generate() == {"FINISHED"}
    from virtual_conductor_addon.blender import compat, takes

    animated = takes.animated_bones(rig.animation_data.action)
    assert {case.bone("hips"), case.bone("spine"), case.bone("chest")} <= animated
    assert case.bone("spine1") not in animated  # intermediate spine bones stay unmapped
    paths = {fc.data_path for fc in compat.action_fcurves(rig.animation_data.action)}
    assert f'pose.bones["{case.bone("hips")}"].location' in paths
