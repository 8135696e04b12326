"""Writing a take: a new action per generation, bulk keys in the bone's own rotation mode, previous takes kept."""

import numpy as np
import pytest

from .blender_scene import create_rig


def _random_quaternions(frames: int, seed: int) -> np.ndarray:
    q = np.random.default_rng(seed).normal(size=(frames, 4))
    q[:, 0] += 3.0  # moderate rotations
    q /= np.linalg.norm(q, axis=1, keepdims=True)
    return q.astype(np.float32)


def test_take_is_a_new_assigned_action_in_each_bones_rotation_mode(bpy):
    import mathutils
    from virtual_conductor_addon.blender import compat, keys

    rig = create_rig(bpy)
    rig.pose.bones["forearm.L"].rotation_mode = "ZXY"
    rig.pose.bones["upper_arm.R"].rotation_mode = "AXIS_ANGLE"
    frames = np.arange(11, 11 + 40)
    rotations = {
        name: _random_quaternions(len(frames), i)
        for i, name in enumerate(["upper_arm.L", "forearm.L", "upper_arm.R", "forearm.R"])
    }
    locations = {"upper_arm.L": np.linspace([0, 0, 0], [0.1, 0.2, 0.3], len(frames))}
    action = keys.write_take(rig, "VC music procedural seed3", frames, rotations, locations)

    assert rig.animation_data.action == action and action.use_fake_user
    assert action.name == "VC music procedural seed3"
    if compat.SLOTTED_ACTIONS:
        assert rig.animation_data.action_slot == action.slots[0]
    paths = sorted(
        (fc.data_path, fc.array_index, len(fc.keyframe_points)) for fc in compat.action_fcurves(action)
    )
    expected = [('pose.bones["forearm.L"].rotation_euler', i, 40) for i in range(3)]
    expected += [('pose.bones["forearm.R"].rotation_quaternion', i, 40) for i in range(4)]
    expected += [('pose.bones["upper_arm.L"].location', i, 40) for i in range(3)]
    expected += [('pose.bones["upper_arm.L"].rotation_quaternion', i, 40) for i in range(4)]
    expected += [('pose.bones["upper_arm.R"].rotation_axis_angle', i, 40) for i in range(4)]
    assert paths == sorted(expected)

    scene = bpy.context.scene
    for k in (0, 17, 39):
        scene.frame_set(int(frames[k]))
        for name, q in rotations.items():
            pose_bone = rig.pose.bones[name]
            posed = pose_bone.matrix_basis.to_quaternion()
            assert abs(posed.dot(mathutils.Quaternion(q[k]))) == pytest.approx(1.0, abs=1e-5), (name, k)
        assert tuple(rig.pose.bones["upper_arm.L"].location) == pytest.approx(
            tuple(locations["upper_arm.L"][k])
        )


def test_every_take_is_kept(bpy):
    from virtual_conductor_addon.blender import keys

    rig = create_rig(bpy)
    user_action = bpy.data.actions.new("hand keyed")
    rig.animation_data_create().action = user_action
    frames = np.arange(1, 6)
    take = {"forearm.R": _random_quaternions(5, 0)}
    first = keys.write_take(rig, "VC a default seed0", frames, take, {})
    second = keys.write_take(rig, "VC a default seed0", frames, take, {})
    assert rig.animation_data.action == second and second.name == "VC a default seed0.001"
    assert user_action.use_fake_user and first.use_fake_user  # survive saving without users
    assert {a.name for a in bpy.data.actions} == {"hand keyed", first.name, second.name}
