"""The default figure's baton follows the take (blender/baton.py): a left-handed motion file puts it in the left
hand with the grip mirrored, a motion without a baton hides it, switching takes and undo bring it back."""

import numpy as np

from .test_lifted_motion import authored_motion, key_motion, motion_file


def _baton(rig):
    from virtual_conductor_addon.blender.baton import rig_batons

    batons = rig_batons(rig)
    assert len(batons) == 1
    return batons[0]


def _mirrored(kp3d: np.ndarray) -> np.ndarray:
    """The performance of a left-handed conductor: mirrored about the body midline (x = 0.5), sides swapped."""
    swap = [0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11]
    out = kp3d[:, swap].copy()
    out[..., 0] = 1.0 - out[..., 0]
    return out


def _tip_world(baton) -> np.ndarray:
    """World position of the baton's tip: the vertex farthest from the mesh's centre (the shaft is long)."""
    from mathutils import Vector

    co = np.array([v.co for v in baton.data.vertices])
    tip = co[np.argmax(np.linalg.norm(co - co.mean(axis=0), axis=1))]
    return np.array(baton.matrix_world @ Vector(tip))


def test_left_handed_and_no_baton_takes_move_and_hide_the_baton(bpy):
    from virtual_conductor_addon.blender import takes

    kp3d = authored_motion()
    tip = kp3d[:, 10] + 0.1 * np.array([0.0, -0.2, 1.0])  # ahead of the right wrist
    right = motion_file(kp3d[..., :2].astype(np.float32), kp3d.astype(np.float32))
    right.baton_tip = tip.astype(np.float32)
    left3d = _mirrored(kp3d)
    left = motion_file(left3d[..., :2].astype(np.float32), left3d.astype(np.float32))
    left.baton_tip = (tip * [-1.0, 1.0, 1.0] + [1.0, 0.0, 0.0]).astype(np.float32)  # x -> 1 - x
    bare = motion_file(kp3d[..., :2].astype(np.float32), kp3d.astype(np.float32))  # 3D, no baton
    assert bare.baton_tip is None

    scene, rig, _frames = key_motion(bpy, right, smoothing=0.0)
    baton = _baton(rig)
    scene.frame_set(1)
    assert baton.parent_bone == "hand.R" and not baton.hide_viewport and not baton.hide_render
    right_tip = _tip_world(baton)
    right_action = rig.animation_data.action

    from virtual_conductor_addon.blender import generate  # key the other takes on the same rig

    def apply(motion, name):
        request = generate.Request(**{**_request_fields(bpy, rig, motion), "strip_name": name})
        return generate.apply_result(request, motion)

    bpy.ops.ed.undo_push(message="right-handed take")
    left_action = apply(left, "left")
    scene.frame_set(1)
    assert baton.parent_bone == "hand.L" and not baton.hide_viewport
    # the mirrored grip at a mirrored pose: the tip is where the right-handed tip is, mirrored (armature x)
    left_tip = _tip_world(baton)
    assert np.allclose(left_tip * [-1.0, 1.0, 1.0], right_tip, atol=0.02), (left_tip, right_tip)

    bare_action = apply(bare, "bare")
    assert baton.hide_viewport and baton.hide_render

    takes.activate_take(rig, left_action)
    assert baton.parent_bone == "hand.L" and not baton.hide_viewport
    takes.activate_take(rig, bare_action)
    assert baton.hide_viewport and baton.hide_render
    takes.activate_take(rig, right_action)
    assert baton.parent_bone == "hand.R" and not baton.hide_render

    # undo: the left-handed and bare takes' steps go back to the right-handed take's state
    takes.activate_take(rig, bare_action)
    bpy.ops.ed.undo_push(message="bare shown")
    name = rig.name
    bpy.ops.ed.undo()
    rig = bpy.data.objects[name]
    baton = _baton(rig)
    assert baton.parent_bone == "hand.R" and not baton.hide_viewport and not baton.hide_render


def _request_fields(bpy, rig, motion) -> dict:
    from virtual_conductor_addon.blender.audio import FrameRange
    from virtual_conductor_addon.motion import LiftConfig, detect_bone_map

    return {
        "pcm": np.zeros(1, np.float32),
        "sample_rate": 22050,
        "model": "file",
        "seed": 0,
        "frames": FrameRange(1.0, 1.0 + motion.num_frames, 30.0),
        "armature_name": rig.name,
        "bone_map": detect_bone_map(rig.data.bones.keys())[1],
        "store_bone_map": False,
        "lift": LiftConfig(smoothing=0.0),
    }


def test_two_d_takes_follow_the_requested_style(bpy):
    from virtual_conductor_addon.blender.baton import baton_side
    from virtual_conductor_addon.contract_style import ConductingStyle

    kp3d = authored_motion()
    learned = motion_file(kp3d[..., :2].astype(np.float32))  # 2D only: says nothing about a baton
    assert baton_side(learned) == "R"
    assert baton_side(learned, ConductingStyle(left_handed=True)) == "L"
    assert baton_side(learned, ConductingStyle(baton=False)) == ""
    authored = motion_file(kp3d[..., :2].astype(np.float32), kp3d.astype(np.float32))
    assert baton_side(authored, ConductingStyle(left_handed=True)) == ""  # authored 3D without a tip
