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


def test_create_rig_builds_a_skinned_upright_conductor_at_the_cursor(bpy):
    bpy.context.scene.cursor.location = (1.0, 2.0, 0.5)
    rig = create_rig(bpy)
    assert rig.type == "ARMATURE" and tuple(rig.location) == pytest.approx((1.0, 2.0, 0.5))
    assert {b.name: b.parent.name if b.parent else None for b in rig.data.bones} == CONDUCTOR_BONES
    assert bpy.context.scene.vconductor.armature == rig

    (body,) = [o for o in bpy.data.objects if o.type == "MESH"]
    assert body.parent == rig
    assert [m.object for m in body.modifiers if m.type == "ARMATURE"] == [rig]
    heights = np.array([v.co.z for v in body.data.vertices])
    assert heights.min() == pytest.approx(0.0, abs=0.02) and heights.max() == pytest.approx(1.75, abs=0.03)
    # rigid skinning: every vertex in exactly one bone's group, with weight 1
    group_names = {g.index: g.name for g in body.vertex_groups}
    assert set(group_names.values()) == set(CONDUCTOR_BONES)
    assert all([g.weight for g in vertex.groups] == [1.0] for vertex in body.data.vertices)

    # the bone map is stored on the armature and is complete
    stored = {e.semantic: e.bone for e in rig.data.vconductor_bones}
    assert all(stored[name] == name for name in CONDUCTOR_BONES if name != "baton")


def test_posing_a_bone_moves_only_its_body_part(bpy):
    rig = create_rig(bpy)
    (body,) = [o for o in bpy.data.objects if o.type == "MESH"]
    hand_group = body.vertex_groups["hand.R"].index

    def evaluated_vertices():
        depsgraph = bpy.context.evaluated_depsgraph_get()
        mesh = body.evaluated_get(depsgraph).to_mesh()
        co = np.empty(3 * len(mesh.vertices))
        mesh.vertices.foreach_get("co", co)
        body.evaluated_get(depsgraph).to_mesh_clear()
        return co.reshape(-1, 3)

    rest = evaluated_vertices()
    rig.pose.bones["forearm.R"].rotation_quaternion = (math.cos(0.4), math.sin(0.4), 0, 0)
    bpy.context.view_layer.update()
    posed = evaluated_vertices()
    moved = np.linalg.norm(posed - rest, axis=1) > 1e-6
    groups = np.array([body.data.vertices[i].groups[0].group for i in range(len(rest))])
    moving_groups = {body.vertex_groups[g].name for g in np.unique(groups[moved])}
    assert moving_groups == {"forearm.R", "hand.R", "baton"}
    assert moved[groups == hand_group].all()


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
