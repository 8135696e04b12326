"""Linked armatures: a rig linked from another .blend (two real files in a tmp dir). Through a library override
the take goes on the override, is saved with the file and plays after reopening; the bone map of the linked
armature data is detected, not written into the library's data; a rig linked without an override is refused
with one message saying what to do, and nothing changes."""

import numpy as np
import pytest

from .any_rig_scene import MIXAMO, RigCase, add_music, build_rig

COLLECTION = "ConductorRig"


def _write_library(bpy, path) -> None:
    bpy.ops.wm.read_homefile(use_empty=True)
    rig = build_rig(bpy, RigCase(MIXAMO, "mixamorig:", arm_angle_deg=40))
    collection = bpy.data.collections.new(COLLECTION)
    bpy.context.scene.collection.children.link(collection)
    collection.objects.link(rig)
    bpy.context.scene.collection.objects.unlink(rig)
    bpy.ops.wm.save_as_mainfile(filepath=str(path), copy=True)
    bpy.ops.wm.read_homefile(use_empty=True)


def _link(bpy, path, override: bool):
    """The library's rig collection linked into the scene; with `override`, replaced by a library override."""
    with bpy.data.libraries.load(str(path), link=True) as (_source, target):
        target.collections = [COLLECTION]
    linked = target.collections[0]
    scene = bpy.context.scene
    scene.collection.children.link(linked)
    if not override:
        return next(o for o in linked.all_objects if o.type == "ARMATURE")
    local = linked.override_hierarchy_create(scene, bpy.context.view_layer)
    if linked.name in scene.collection.children and scene.collection.children[linked.name].library:
        scene.collection.children.unlink(linked)
    return next(o for o in local.all_objects if o.type == "ARMATURE")


def _pose(scene, rig, frames) -> np.ndarray:
    out = []
    for frame in frames:
        scene.frame_set(int(frame))
        out.append([np.array(b.head) for b in rig.pose.bones])
    return np.array(out)


def test_a_library_override_is_keyed_saved_and_plays_after_reopening(bpy, started_backend, tmp_path):
    library, main = tmp_path / "conductor_lib.blend", tmp_path / "shot.blend"
    _write_library(bpy, library)
    rig = _link(bpy, library, override=True)
    assert rig.override_library is not None and rig.library is None and rig.data.library is not None
    scene, _strip = add_music(bpy, seconds=4.0)
    settings = scene.vconductor
    settings.armature, settings.model = rig, "procedural"
    assert bpy.ops.vconductor.add_baton() == {"FINISHED"}  # a local object in the override's hand
    assert bpy.ops.vconductor.generate() == {"FINISHED"}, bpy.context.window_manager.vconductor_job.last_error
    action = rig.animation_data.action
    assert action is not None and action.library is None
    notes = bpy.context.window_manager.vconductor_job.rig_notes
    assert "is linked from 'conductor_lib.blend'" in notes and "bone map" in notes
    assert len(rig.data.vconductor_bones) == 0  # nothing written into the library's data
    frames = np.arange(scene.frame_start, scene.frame_end + 1, 5)
    before = _pose(scene, rig, frames)
    hand = [b.name for b in rig.pose.bones].index("mixamorig:RightHand")
    assert np.ptp(before[:, hand], axis=0).max() > 0.05  # the hand conducts

    rig_name, action_name = rig.name, action.name
    bpy.ops.wm.save_as_mainfile(filepath=str(main))
    bpy.ops.wm.open_mainfile(filepath=str(main))
    rig = bpy.data.objects[(rig_name, None)]
    assert rig.override_library is not None and rig.animation_data.action.name == action_name
    from virtual_conductor_addon.blender.baton import rig_batons

    assert [b.parent_bone for b in rig_batons(rig)] == ["mixamorig:RightHand"]
    after = _pose(bpy.context.scene, rig, frames)
    print(f"\noverride: largest joint change after save and reopen {np.abs(after - before).max():.2e} m")
    np.testing.assert_allclose(after, before, atol=1e-6)


def test_a_linked_rig_without_override_is_refused_with_what_to_do(bpy, started_backend, tmp_path):
    library = tmp_path / "conductor_lib.blend"
    _write_library(bpy, library)
    rig = _link(bpy, library, override=False)
    scene, _strip = add_music(bpy, seconds=4.0)
    scene.vconductor.armature, scene.vconductor.model = rig, "procedural"
    actions = set(bpy.data.actions)
    from virtual_conductor_addon.blender import request

    reason = request.why_not_generate(bpy.context)
    assert "is linked from 'conductor_lib.blend'" in reason and "library override" in reason
    with pytest.raises(RuntimeError, match="make it a library override"):
        bpy.ops.vconductor.generate("EXEC_DEFAULT")
    assert set(bpy.data.actions) == actions and rig.animation_data is None
    with pytest.raises(RuntimeError, match="bone map"):  # editing its map says where it lives
        bpy.ops.vconductor.detect_bone_map()
