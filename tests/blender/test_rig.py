"""The default conductor rig, and reading armatures into the motion core's numpy rest pose."""

import math

import numpy as np
import pytest

from .blender_scene import create_rig

CONDUCTOR_BONES = {
    "hips": None,
    "spine": "hips",
    "chest": "spine",
    "neck": "chest",
    "head": "neck",
    "shoulder.L": "chest",
    "upper_arm.L": "shoulder.L",
    "forearm.L": "upper_arm.L",
    "hand.L": "forearm.L",
    "shoulder.R": "chest",
    "upper_arm.R": "shoulder.R",
    "forearm.R": "upper_arm.R",
    "hand.R": "forearm.R",
    "baton": "hand.R",
}


ARM_BONES = ("upper_arm.L", "forearm.L", "hand.L", "upper_arm.R", "forearm.R", "hand.R")


def figure_parts(bpy, rig):
    """(body, baton): the skinned mesh and the baton object the builder hung on the rig."""
    (body,) = [o for o in rig.children if o.type == "MESH" and o.parent_type == "OBJECT"]
    (baton,) = [o for o in rig.children if o.type == "MESH" and o.parent_type == "BONE"]
    return body, baton


def evaluated_vertices(bpy, obj) -> np.ndarray:
    """World-space positions of the object's vertices after its modifiers (the armature)."""
    bpy.context.view_layer.update()
    evaluated = obj.evaluated_get(bpy.context.evaluated_depsgraph_get())
    mesh = evaluated.to_mesh()
    co = np.empty(3 * len(mesh.vertices))
    mesh.vertices.foreach_get("co", co)
    evaluated.to_mesh_clear()
    co = co.reshape(-1, 3)
    return co @ np.array(obj.matrix_world)[:3, :3].T + np.array(obj.matrix_world)[:3, 3]


def group_weights(body, bone: str) -> np.ndarray:
    index = body.vertex_groups[bone].index
    return np.array([sum(g.weight for g in v.groups if g.group == index) for v in body.data.vertices])


def rest_point(rig, bone: str, t: float) -> np.ndarray:
    data = rig.data.bones[bone]
    head, tail = np.array(data.head_local), np.array(data.tail_local)
    return np.array(rig.matrix_world)[:3, :3] @ (head + t * (tail - head)) + np.array(rig.matrix_world)[:3, 3]


def rotate(rig, bone: str, angle: float, axis=(1.0, 0.0, 0.0)) -> None:
    x, y, z = np.asarray(axis) * math.sin(angle / 2)
    rig.pose.bones[bone].rotation_quaternion = (math.cos(angle / 2), x, y, z)


def test_create_rig_builds_a_skinned_upright_conductor_at_the_cursor(bpy):
    bpy.context.scene.cursor.location = (1.0, 2.0, 0.5)
    rig = create_rig(bpy)
    assert rig.type == "ARMATURE" and tuple(rig.location) == pytest.approx((1.0, 2.0, 0.5))
    assert {b.name: b.parent.name if b.parent else None for b in rig.data.bones} == CONDUCTOR_BONES
    assert bpy.context.scene.vconductor.armature == rig

    body, baton = figure_parts(bpy, rig)
    assert [o for o in bpy.data.objects if o.type == "MESH"] == sorted([body, baton], key=lambda o: o.name)
    assert [m.object for m in body.modifiers if m.type == "ARMATURE"] == [rig]
    co = np.array([v.co for v in body.data.vertices])
    assert len(co) > 2000 and np.isfinite(co).all()  # a smooth body, not boxes
    assert co[:, 2].min() == pytest.approx(0.0, abs=0.02) and co[:, 2].max() == pytest.approx(1.75, abs=0.02)
    assert co[:, 0].max() == pytest.approx(-co[:, 0].min(), abs=1e-3)  # left-right symmetric
    assert min(p.area for p in body.data.polygons) > 1e-8  # no degenerate faces
    assert len({tuple(np.round(c, 6)) for c in co}) == len(co)  # no doubled vertices

    # smooth skinning: every vertex weighted, weights summing to 1, blended across the joints
    assert set(ARM_BONES) <= {g.name for g in body.vertex_groups}
    totals = np.array([sum(g.weight for g in v.groups) for v in body.data.vertices])
    np.testing.assert_allclose(totals, 1.0, atol=0.01)
    forearm = group_weights(body, "forearm.R")
    assert ((forearm > 0.2) & (forearm < 0.8)).sum() > 20

    # the baton: a thin tapered stick, parented to the right hand bone, pointing away from the hand
    assert (baton.parent, baton.parent_type, baton.parent_bone) == (rig, "BONE", "hand.R")
    stick = np.array([baton.matrix_world @ v.co for v in baton.data.vertices])
    butt, tip = stick[0], stick[-1]
    assert 0.35 <= np.linalg.norm(tip - butt) <= 0.42
    assert np.linalg.norm(butt - rest_point(rig, "hand.R", 0.5)) < 0.05
    assert np.linalg.norm(tip - rest_point(rig, "hand.R", 0.5)) > 0.3
    assert body.active_material.diffuse_color[:] != baton.active_material.diffuse_color[:]

    # the bone map is stored on the armature and is complete
    stored = {e.semantic: e.bone for e in rig.data.vconductor_bones}
    assert all(stored[name] == name for name in CONDUCTOR_BONES if name != "baton")


def test_bending_the_right_elbow_moves_the_right_hand_and_the_baton_only(bpy):
    rig = create_rig(bpy)
    body, baton = figure_parts(bpy, rig)
    rest = evaluated_vertices(bpy, body)
    near_right_wrist = np.linalg.norm(rest - rest_point(rig, "hand.R", 0.0), axis=1) < 0.06
    near_left_hand = np.linalg.norm(rest - rest_point(rig, "hand.L", 0.5), axis=1) < 0.08
    baton_rest = evaluated_vertices(bpy, baton)

    rotate(rig, "forearm.R", 0.8)
    posed = evaluated_vertices(bpy, body)
    moved = np.linalg.norm(posed - rest, axis=1)
    assert near_right_wrist.sum() > 30 and (moved[near_right_wrist] > 0.05).all()
    assert near_left_hand.sum() > 30 and (moved[near_left_hand] < 1e-6).all()
    assert (moved[rest[:, 2] < 0.9] < 1e-6).all()  # the legs stay

    # vertices wholly on the hand follow the hand bone rigidly: nothing is left behind
    hand = rig.pose.bones["hand.R"]
    world = np.array(rig.matrix_world)
    to_pose = np.array(hand.matrix) @ np.linalg.inv(np.array(hand.bone.matrix_local))
    deform = world @ to_pose @ np.linalg.inv(world)
    on_hand = group_weights(body, "hand.R") > 0.999
    assert on_hand.sum() > 50
    expected = rest[on_hand] @ deform[:3, :3].T + deform[:3, 3]
    np.testing.assert_allclose(posed[on_hand], expected, atol=1e-4)

    # the baton goes with the hand, rigidly
    baton_posed = evaluated_vertices(bpy, baton)
    assert np.linalg.norm(baton_posed[-1] - baton_rest[-1]) > 0.2
    np.testing.assert_allclose(baton_posed, baton_rest @ deform[:3, :3].T + deform[:3, 3], atol=1e-4)


@pytest.mark.parametrize("bone, angle, axis", [("forearm.R", 1.9, (1, 0, 0)), ("hand.R", 2.0, (0, 1, 0))])
def test_conducting_range_keeps_the_arm_round(bpy, bone, angle, axis):
    """A 110 degree elbow bend and a 115 degree wrist twist: no candy-wrapper collapse near the joint."""
    rig = create_rig(bpy)
    body, _baton = figure_parts(bpy, rig)
    rest = evaluated_vertices(bpy, body)
    rotate(rig, bone, angle, axis)
    posed = evaluated_vertices(bpy, body)
    assert np.isfinite(posed).all()
    joint = rest_point(rig, bone, 0.0)
    along = joint - rest_point(rig, rig.pose.bones[bone].parent.name, 0.0)
    in_plane = np.abs((rest - joint) @ along) < 0.01 * np.linalg.norm(along)
    ring = in_plane & (np.linalg.norm(rest - joint, axis=1) < 0.08)
    assert ring.sum() >= 8  # the cross-section of the limb at the joint
    world = np.array(rig.matrix_world)
    head = world[:3, :3] @ np.array(rig.pose.bones[bone].head) + world[:3, 3]
    before = np.linalg.norm(rest[ring] - joint, axis=1)
    after = np.linalg.norm(posed[ring] - head, axis=1)  # linear blending would pull these to the joint
    assert after.min() > 0.6 * before.min(), (after.min(), before.min())


@pytest.mark.parametrize("roll_deg", [0.0, 30.0, -75.0, 90.0, 180.0])
def test_bone_matrix_local_equals_the_motion_cores_bone_matrix(bpy, roll_deg):
    from virtual_conductor_addon.motion.rig import bone_matrix

    along_axes = [(0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1), (1, 0, 0)]
    directions = along_axes + [(0.7, -0.2, -0.7), (-0.3, 0.05, 0.9), (1e-5, -1, 2e-5)]
    armature = bpy.data.armatures.new("Rolls")
    obj = bpy.data.objects.new("Rolls", armature)
    bpy.context.scene.collection.objects.link(obj)
    bpy.context.view_layer.objects.active = obj
    bpy.ops.object.mode_set(mode="EDIT")
    specs = []
    for i, d in enumerate(directions):
        head = np.array([0.1 * i, 0.2, 0.3])
        tail = head + 0.4 * np.asarray(d) / np.linalg.norm(d)
        bone = armature.edit_bones.new(f"b{i}")
        bone.head, bone.tail, bone.roll = head, tail, math.radians(roll_deg)
        specs.append(
            (bone.name, np.array(bone.head), np.array(bone.tail), bone.roll)
        )  # as Blender stored them
    bpy.ops.object.mode_set(mode="OBJECT")
    for name, head, tail, roll in specs:
        expected = bone_matrix(head, tail, roll)
        np.testing.assert_allclose(
            np.array(armature.bones[name].matrix_local), expected, atol=2e-6, err_msg=name
        )


def test_rig_rest_reads_every_bone(bpy):
    from virtual_conductor_addon.blender.armature import rig_rest
    from virtual_conductor_addon.motion.rig import bone_matrix

    rig = create_rig(bpy)
    rest = rig_rest(rig)
    assert set(rest.bones) == set(CONDUCTOR_BONES)
    forearm = rest.bones["forearm.L"]
    assert forearm.parent == "upper_arm.L"
    np.testing.assert_allclose(forearm.tail, np.array(rig.data.bones["forearm.L"].tail_local), atol=1e-6)
    data = rig.data.bones["upper_arm.R"]
    expected = bone_matrix(data.head_local, data.tail_local, 0.0)  # the rig file's arms have roll 0
    np.testing.assert_allclose(rest.bones["upper_arm.R"].matrix, expected, atol=1e-6)
