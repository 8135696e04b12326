"""Takes: each generation is an action; show one to compare, push one to the NLA, blend two on the NLA."""

import numpy as np
import pytest

from .any_rig_scene import MIXAMO, ROLLS, RigCase, add_music, build_rig

BONE = 'pose.bones["mixamorig:RightForeArm"]'
FRAME = 40


def two_takes(bpy):
    scene, _strip = add_music(bpy, seconds=3.0)
    rig = build_rig(bpy, RigCase(MIXAMO, "mixamorig:", arm_angle_deg=40, rolls=ROLLS))
    settings = scene.vconductor
    settings.armature, settings.model = rig, "procedural"
    for seed in (0, 1):
        settings.seed = seed
        assert bpy.ops.vconductor.generate() == {"FINISHED"}
    take_a, take_b = (
        bpy.data.actions["VC music procedural seed0"],
        bpy.data.actions["VC music procedural seed1"],
    )
    return scene, rig, take_a, take_b


def keyed_quaternion(action, bone_path: str, frame: float) -> np.ndarray:
    """What the take's F-curves hold for the bone at `frame` (w, x, y, z)."""
    from virtual_conductor_addon.blender import compat

    curves = {
        fc.array_index: fc
        for fc in compat.action_fcurves(action)
        if fc.data_path == f"{bone_path}.rotation_quaternion"
    }
    return np.array([curves[i].evaluate(frame) for i in range(4)])


def shown_quaternion(bpy, scene, rig, frame: int) -> np.ndarray:
    scene.frame_set(frame)
    q = np.array(rig.pose.bones["mixamorig:RightForeArm"].rotation_quaternion)
    return q / np.linalg.norm(q)


def same_rotation(a, b) -> bool:
    return abs(float(np.dot(a / np.linalg.norm(a), b / np.linalg.norm(b)))) > 1 - 1e-6


class Layout:
    """A stand-in layout: records operator calls and their properties."""

    def __init__(self, log=None):
        self.log = [] if log is None else log

    def row(self, **_kwargs):
        return Layout(self.log)

    column = box = row

    def operator(self, idname, **kwargs):
        props = type("Props", (), {})()
        self.log.append((idname, kwargs.get("text", ""), props))
        return props

    def operator_menu_enum(self, idname, _prop, **kwargs):
        self.log.append((idname, kwargs.get("text", ""), None))

    def label(self, text="", **_kwargs):
        self.log.append(("label", text, None))

    def prop(self, *_args, **_kwargs):
        pass


def test_takes_are_listed_and_showing_one_compares_it(bpy, started_backend):
    from virtual_conductor_addon.blender import compat, panels, take_data, takes

    scene, rig, take_a, take_b = two_takes(bpy)
    assert takes.rig_takes(rig) == [take_a, take_b] and takes.active_take(rig) == take_b
    assert take_data.take_summary(take_a) == "procedural seed 0, 3.0 s"

    layout = Layout()
    panels.draw_takes(layout, bpy.context)
    shown = [(text, props.take) for idname, text, props in layout.log if idname == "vconductor.take_activate"]
    assert shown == [(take_a.name, take_a.name), (take_b.name, take_b.name)]
    assert any(entry[0] == "vconductor.blend_takes" for entry in layout.log)

    assert bpy.ops.vconductor.take_activate(take=take_a.name) == {"FINISHED"}
    assert rig.animation_data.action == take_a
    if compat.SLOTTED_ACTIONS:
        assert rig.animation_data.action_slot == take_a.slots[0]
    qa = shown_quaternion(bpy, scene, rig, FRAME)
    assert same_rotation(qa, keyed_quaternion(take_a, BONE, FRAME))
    assert bpy.ops.vconductor.take_activate(take=take_b.name) == {"FINISHED"}
    qb = shown_quaternion(bpy, scene, rig, FRAME)
    assert same_rotation(qb, keyed_quaternion(take_b, BONE, FRAME)) and not same_rotation(qa, qb)

    bpy.data.actions.new("hand keyed")
    with pytest.raises(RuntimeError, match="'hand keyed' is not a take"):
        bpy.ops.vconductor.take_activate(take="hand keyed")
    assert rig.animation_data.action == take_b


def test_push_to_nla_keeps_the_action_and_plays_it_from_the_strip(bpy, started_backend):
    from virtual_conductor_addon.blender import compat

    scene, rig, take_a, take_b = two_takes(bpy)
    assert bpy.ops.vconductor.take_to_nla() == {"FINISHED"}  # the active take: B
    anim = rig.animation_data
    assert anim.action is None and take_b.name in bpy.data.actions
    (track,) = anim.nla_tracks
    (strip,) = track.strips
    assert track.name == take_b.name and strip.action == take_b
    assert strip.frame_start == take_b.frame_range[0] and strip.frame_end == take_b.frame_range[1]
    if compat.SLOTTED_ACTIONS:
        assert strip.action_slot == take_b.slots[0]
    assert same_rotation(shown_quaternion(bpy, scene, rig, FRAME), keyed_quaternion(take_b, BONE, FRAME))
    # showing another take plays it over the NLA: compare, then push it too
    assert bpy.ops.vconductor.take_activate(take=take_a.name) == {"FINISHED"}
    assert same_rotation(shown_quaternion(bpy, scene, rig, FRAME), keyed_quaternion(take_a, BONE, FRAME))
    assert bpy.ops.vconductor.take_to_nla(take=take_a.name) == {"FINISHED"}
    assert [t.name for t in anim.nla_tracks] == [take_b.name, take_a.name]


@pytest.mark.parametrize("factor", [0.25, 0.7])
def test_blending_two_takes_poses_the_rig_between_them(bpy, started_backend, factor):
    from virtual_conductor_addon.blender import takes

    scene, rig, take_a, take_b = two_takes(bpy)
    assert bpy.ops.vconductor.blend_takes(take_a=take_a.name, take_b=take_b.name, factor=factor) == {
        "FINISHED"
    }
    anim = rig.animation_data
    assert anim.action is None
    lower, upper = anim.nla_tracks
    assert lower.strips[0].action == take_a and upper.strips[0].action == take_b
    assert upper.strips[0].blend_type == "REPLACE" and upper.strips[0].influence == pytest.approx(factor)

    checked = 0
    for frame in (10, FRAME, 60):
        qa, qb = keyed_quaternion(take_a, BONE, frame), keyed_quaternion(take_b, BONE, frame)
        q = shown_quaternion(bpy, scene, rig, frame)
        # Replace blending mixes channels linearly: the rotation lies on the arc from A to B, `factor` of the way
        # in channel space
        assert same_rotation(q, (1 - factor) * qa + factor * qb)
        angle = lambda p, r: 2 * np.arccos(min(1.0, abs(float(np.dot(p, r)))))  # noqa: E731
        qa_n, qb_n = qa / np.linalg.norm(qa), qb / np.linalg.norm(qb)
        total = angle(qa_n, qb_n)
        if total > np.radians(5):
            assert angle(qa_n, q) + angle(q, qb_n) == pytest.approx(total, abs=1e-4)
            assert 0 < angle(qa_n, q) < total
            checked += 1
    assert checked >= 1
    # a second blend replaces the first (no pile of tracks); showing a take again overrides the blend
    takes.blend_takes(rig, take_b, take_a, 0.5)
    assert [t.name.split(":")[0] for t in anim.nla_tracks] == ["VC Blend A", "VC Blend B"]
    assert bpy.ops.vconductor.take_activate(take=take_a.name) == {"FINISHED"}
    assert same_rotation(shown_quaternion(bpy, scene, rig, FRAME), keyed_quaternion(take_a, BONE, FRAME))


def test_blend_needs_two_takes(bpy, started_backend):
    scene, _strip = add_music(bpy, seconds=2.0)
    rig = build_rig(bpy, RigCase(MIXAMO, "mixamorig:"))
    scene.vconductor.armature, scene.vconductor.model = rig, "procedural"
    assert not bpy.ops.vconductor.blend_takes.poll()
    assert bpy.ops.vconductor.generate() == {"FINISHED"}
    assert not bpy.ops.vconductor.blend_takes.poll() and bpy.ops.vconductor.take_to_nla.poll()
    scene.vconductor.seed = 1
    assert bpy.ops.vconductor.generate() == {"FINISHED"}
    assert bpy.ops.vconductor.blend_takes() == {"FINISHED"}  # no names: the last two takes, half and half
    lower, upper = rig.animation_data.nla_tracks
    assert lower.strips[0].action.name.endswith("seed0") and upper.strips[0].action.name.endswith("seed1")
    assert upper.strips[0].influence == pytest.approx(0.5)
