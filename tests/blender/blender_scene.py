"""Scene building and inspection helpers for the Blender tests (bpy is imported by the caller's fixture)."""

from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "ode_to_joy.ogg"
CORPUS = REPO.parent / "shared" / "corpus"  # the learned model's outputs (tests/conftest.py: SHARED)
ARM_BONES = ("upper_arm.L", "forearm.L", "upper_arm.R", "forearm.R")


def set_fps(scene, fps: int, base: float = 1.0) -> None:
    scene.render.fps, scene.render.fps_base = fps, base


def add_sound_strip(
    scene, path, frame_start: int, trim_start: int = 0, trim_end: int = 0, name: str = "music"
):
    from virtual_conductor_addon.blender import compat

    strip = compat.new_sound_strip(scene, name, str(path), 1, frame_start)
    strip.frame_offset_start, strip.frame_offset_end = trim_start, trim_end
    scene.sequence_editor.active_strip = strip
    return strip


def create_rig(bpy):
    assert bpy.ops.vconductor.create_rig() == {"FINISHED"}
    return bpy.context.view_layer.objects.active


def snapshot(bpy) -> dict:
    """What a failed generation must leave untouched: actions, assignments, F-curves, pose, bone maps."""
    from virtual_conductor_addon.blender import compat

    state = {
        "actions": sorted((a.name, len(compat.action_fcurves(a)), a.use_fake_user) for a in bpy.data.actions)
    }
    for obj in bpy.data.objects:
        anim = obj.animation_data
        state[obj.name] = {"action": anim.action.name if anim and anim.action else None}
        if obj.type == "ARMATURE":
            state[obj.name]["pose"] = [
                (b.name, tuple(b.rotation_quaternion), tuple(b.rotation_euler), tuple(b.location))
                for b in obj.pose.bones
            ]
            state[obj.name]["bone_map"] = [(e.semantic, e.bone) for e in obj.data.vconductor_bones]
    return state


def posed_joints(bpy, scene, rig, frames) -> dict[str, np.ndarray]:
    """Armature-space heads/tails of the arm bones at each frame (F, 3), after scene.frame_set."""
    out = {f"{b}.{end}": [] for b in ARM_BONES for end in ("head", "tail")}
    for frame in frames:
        scene.frame_set(int(frame))
        for b in ARM_BONES:
            pose_bone = rig.pose.bones[b]
            out[f"{b}.head"].append(np.array(pose_bone.head))
            out[f"{b}.tail"].append(np.array(pose_bone.tail))
    return {k: np.array(v) for k, v in out.items()}


def keyed_frames(action) -> np.ndarray:
    """Frames of the first F-curve's keys."""
    from virtual_conductor_addon.blender import compat

    fcurve = compat.action_fcurves(action)[0]
    co = np.empty(2 * len(fcurve.keyframe_points), np.float32)
    fcurve.keyframe_points.foreach_get("co", co)
    return co[0::2]
