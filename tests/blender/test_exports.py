"""Exports: BVH of the keyed armature (Blender's exporter, headless) and a take's keypoints as JSON/CSV in the
backend's own formats, also after saving and reopening the .blend; bone maps saved and loaded as JSON."""

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from .any_rig_scene import MIXAMO, ROLLS, RigCase, add_music, build_rig
from .test_generate import _backend_motion

CASE = RigCase(MIXAMO, "mixamorig:", arm_angle_deg=40, rolls=ROLLS)


def generated(bpy, fps: int = 24, base: float = 1.0):
    scene, strip = add_music(bpy, fps=fps, seconds=3.0, base=base)
    rig = build_rig(bpy, CASE)
    scene.vconductor.armature, scene.vconductor.model = rig, "procedural"
    assert bpy.ops.vconductor.generate() == {"FINISHED"}
    return scene, strip, rig


def parse_bvh(text: str) -> tuple[list[str], list[int], int, float, np.ndarray]:
    """(joint names, channels per joint, frame count, frame time, motion (frames, channels))."""
    lines = text.splitlines()
    names, channels = [], []
    i = 0
    while lines[i].strip() != "MOTION":
        words = lines[i].split()
        if words and words[0] in ("ROOT", "JOINT"):
            names.append(" ".join(words[1:]))
        elif words and words[0] == "CHANNELS":
            channels.append(int(words[1]))
        i += 1
    frames = int(lines[i + 1].split(":")[1])
    frame_time = float(lines[i + 2].split(":")[1])
    motion = np.array([[float(v) for v in line.split()] for line in lines[i + 3 :] if line.strip()])
    return names, channels, frames, frame_time, motion


@pytest.mark.parametrize(("fps", "base"), [(24, 1.0), (30000, 1001.0)], ids=["24fps", "29.97fps"])
def test_bvh_of_the_keyed_rig_has_its_bones_the_scene_range_and_fps(
    bpy, started_backend, tmp_path, fps, base
):
    scene, _strip, rig = generated(bpy, fps=fps, base=base)
    path = tmp_path / "take.bvh"
    bpy.context.view_layer.objects.active = None  # the exporter gets the rig whatever is active
    assert bpy.ops.vconductor.export_bvh(filepath=str(path)) == {"FINISHED"}
    names, channels, frames, frame_time, motion = parse_bvh(path.read_text())

    assert sorted(names) == sorted(b.name for b in rig.data.bones)
    stored = {e.semantic: e.bone for e in rig.data.vconductor_bones if e.bone}
    assert set(stored.values()) <= set(names)
    assert frames == scene.frame_end - scene.frame_start + 1 == len(motion)
    assert frame_time == pytest.approx(base / fps, abs=1e-6)
    assert motion.shape[1] == sum(channels)
    # mapped arms move in the file; unmapped bones (legs, Spine1) keep constant channels
    offsets = np.cumsum([0, *channels])
    columns = {name: motion[:, offsets[k] : offsets[k + 1]] for k, name in enumerate(names)}
    assert np.ptp(columns[stored["forearm.R"]], axis=0).max() > 1.0  # degrees
    for unmapped in ("mixamorig:LeftUpLeg", "mixamorig:Spine1"):
        assert np.ptp(columns[unmapped], axis=0).max() < 1e-4


def read_keypoint_file(path) -> tuple[np.ndarray, dict]:
    """(keypoints (T, 13, 2), metadata) of a .json or .csv keypoint file, read without the backend."""
    if path.suffix == ".json":
        doc = json.loads(path.read_text())
        return np.array(doc.pop("keypoints"), np.float32), doc
    lines = path.read_text().splitlines()
    meta = dict(
        (line[2:].split(": ", 1)[0], json.loads(line[2:].split(": ", 1)[1]))
        for line in lines
        if line.startswith("# ")
    )
    rows = [line.split(",") for line in lines[len(meta) + 1 :]]
    assert [int(r[0]) for r in rows] == list(range(len(rows)))
    keypoints = [[float(v) for v in r[2:28]] for r in rows]  # any 3D columns follow the 2D ones
    return np.array(keypoints, np.float32).reshape(-1, 13, 2), meta


def backend_writes(backend_command: str, motion, duration_s: float, path) -> bytes | None:
    """The bytes the backend's own writer (motion_io.save_motion, behind `vconductor generate -o`) gives for
    this motion (its 2D and any authored 3D), run in the backend's Python (the bpy 5.0 environment has no
    backend); None if unavailable."""
    python = Path(backend_command).with_name("python")
    if not python.is_file():
        return None
    arrays = {"keypoints": motion.keypoints, "keypoints3d": motion.keypoints3d, "baton_tip": motion.baton_tip}
    np.savez(path.with_suffix(".npz"), **{k: v for k, v in arrays.items() if v is not None})
    script = (
        "import sys, numpy as np; from vconductor.motion_io import Motion, save_motion; "
        "a = dict(np.load(sys.argv[1])); "
        "save_motion(Motion(a.pop('keypoints'), float(sys.argv[2]), 'procedural', 0, "
        "source='ode_to_joy.ogg', **a), sys.argv[3])"
    )
    done = subprocess.run(
        [str(python), "-c", script, str(path.with_suffix(".npz")), repr(duration_s), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return path.read_bytes()


def test_keypoints_export_matches_the_backend_and_survives_save_and_reopen(
    bpy, started_backend, backend_command, tmp_path
):
    scene, strip, rig = generated(bpy)
    motion = _backend_motion(bpy, strip, scene)
    expected = motion.keypoints
    take_name, rig_name = rig.animation_data.action.name, rig.name
    written = {}
    for suffix in (".json", ".csv"):
        path = tmp_path / f"take{suffix}"
        assert bpy.ops.vconductor.export_keypoints(filepath=str(path)) == {"FINISHED"}
        keypoints, meta = read_keypoint_file(path)
        np.testing.assert_allclose(keypoints, expected, atol=5.1e-7)  # files hold 6 decimals
        assert (meta["fps"], meta["model"], meta["seed"], meta["source"]) == (
            30,
            "procedural",
            0,
            "ode_to_joy.ogg",
        )
        assert meta["num_frames"] == len(expected) and meta["duration_s"] == pytest.approx(3.0, abs=1.0 / 24)
        # the very bytes `vconductor generate -o` writes for the same motion
        reference = backend_writes(backend_command, motion, meta["duration_s"], tmp_path / f"backend{suffix}")
        if reference is not None:
            assert path.read_bytes() == reference
        written[suffix] = path.read_bytes()

    blend = tmp_path / "takes.blend"
    bpy.ops.wm.save_as_mainfile(filepath=str(blend), compress=True)
    bpy.ops.wm.read_homefile(use_empty=True)
    bpy.ops.wm.open_mainfile(filepath=str(blend))
    rig = bpy.data.objects[rig_name]
    bpy.context.scene.vconductor.armature = rig
    assert rig.animation_data.action.name == take_name
    for suffix in (".json", ".csv"):
        again = tmp_path / f"reopened{suffix}"
        assert bpy.ops.vconductor.export_keypoints(filepath=str(again)) == {"FINISHED"}
        assert again.read_bytes() == written[suffix]
    print(f"\n.blend with one 3 s take: {blend.stat().st_size / 1e3:.0f} kB")


def test_keypoints_export_refuses_an_action_that_is_not_a_take(bpy, tmp_path):
    rig = build_rig(bpy, CASE)
    bpy.context.scene.vconductor.armature = rig
    rig.animation_data_create().action = bpy.data.actions.new("hand keyed")
    with pytest.raises(RuntimeError, match="'hand keyed' holds no generated keypoints"):
        bpy.ops.vconductor.export_keypoints(filepath=str(tmp_path / "x.json"))
    assert not (tmp_path / "x.json").exists()


def test_bone_map_presets_save_and_load(bpy, tmp_path):
    rig = build_rig(bpy, RigCase(MIXAMO, "mixamorig:"))
    bpy.context.scene.vconductor.armature = rig
    assert bpy.ops.vconductor.apply_bone_map_preset(preset="mixamo") == {"FINISHED"}
    stored = {e.semantic: e.bone for e in rig.data.vconductor_bones if e.bone}
    assert stored["upper_arm.L"] == "mixamorig:LeftArm" and stored["chest"] == "mixamorig:Spine2"
    assert len(stored) == 13 + 4  # and the two index segments of each hand the rig has

    path = tmp_path / "map.json"
    assert bpy.ops.vconductor.save_bone_map(filepath=str(path)) == {"FINISHED"}
    assert json.loads(path.read_text())["bones"] == stored
    # edit in the file, load it back: the panel's rows show the loaded map
    data = json.loads(path.read_text())
    del data["bones"]["chest"]
    data["bones"]["spine"] = "mixamorig:Spine1"
    path.write_text(json.dumps(data))
    assert bpy.ops.vconductor.load_bone_map(filepath=str(path)) == {"FINISHED"}
    loaded = {e.semantic: e.bone for e in rig.data.vconductor_bones}
    assert loaded["spine"] == "mixamorig:Spine1" and loaded["chest"] == "" and len(loaded) == 13 + 30  # rows

    # a preset whose names this rig lacks maps nothing required: stored anyway, with a warning
    assert bpy.ops.vconductor.apply_bone_map_preset(preset="ue_mannequin") == {"FINISHED"}
    assert all(not e.bone for e in rig.data.vconductor_bones)
    path.write_text("{not json")
    with pytest.raises(RuntimeError, match="not valid JSON"):
        bpy.ops.vconductor.load_bone_map(filepath=str(path))


def _world_heads(bpy, scene, rig, names, frames) -> np.ndarray:
    """(frames, bones, 3) world-space bone heads as Blender evaluates them (constraints, drivers, object)."""
    out = []
    for frame in frames:
        scene.frame_set(int(frame))
        world = np.array(rig.matrix_world)
        heads = np.array([rig.pose.bones[n].head for n in names])
        out.append(heads @ world[:3, :3].T + world[:3, 3])
    return np.array(out)


def _deformed_mesh(bpy, rig):
    """A small mesh parented to the rig, deformed by its right forearm (what a character's body is)."""
    mesh = bpy.data.meshes.new("Body")
    mesh.from_pydata([(0.3, 0, 1.4), (0.4, 0, 1.4), (0.35, 0.05, 1.45)], [], [(0, 1, 2)])
    body = bpy.data.objects.new("Body", mesh)
    bpy.context.scene.collection.objects.link(body)
    body.parent = rig
    group = body.vertex_groups.new(name=CASE.bone("forearm.R"))
    group.add([0, 1, 2], 1.0, "REPLACE")
    body.modifiers.new("Armature", "ARMATURE").object = rig
    return body


@pytest.mark.parametrize(("kind", "suffix"), [("FBX", ".fbx"), ("GLTF", ".glb")])
def test_game_export_reimported_into_an_empty_file_plays_the_same_motion(
    bpy, started_backend, tmp_path, kind, suffix
):
    """Export the animated rig (FBX: Y up, unit scale applied; glTF: Y up), open an empty file, import it with
    Blender's importer and compare every exported bone's world-space head (the joints; a bone's tail is its
    child's head) at every third frame: under 1 mm. The original must move (a lost animation fails)."""
    scene, _strip, rig = generated(bpy)
    _deformed_mesh(bpy, rig)
    stage = bpy.data.objects.new("Stage", None)  # not the rig's: stays out of the file
    scene.collection.objects.link(stage)
    names = [b.name for b in rig.data.bones]
    frames = np.arange(scene.frame_start, scene.frame_end + 1, 3)
    expected = _world_heads(bpy, scene, rig, names, frames)
    path = tmp_path / f"take{suffix}"
    operator = bpy.ops.vconductor.export_fbx if kind == "FBX" else bpy.ops.vconductor.export_gltf
    assert operator(filepath=str(path)) == {"FINISHED"}, kind

    bpy.ops.wm.read_homefile(use_empty=True)
    imported_scene = bpy.context.scene
    imported_scene.render.fps, imported_scene.render.fps_base = scene_fps, _ = 24, 1.0
    if (
        kind == "FBX"
    ):  # the file times the scene's frames (frame f at f / fps); the importer adds 1 unless told
        assert bpy.ops.import_scene.fbx(filepath=str(path), anim_offset=0.0) == {"FINISHED"}
    else:
        assert bpy.ops.import_scene.gltf(filepath=str(path), disable_bone_shape=True) == {"FINISHED"}
    armatures = [o for o in bpy.data.objects if o.type == "ARMATURE"]
    assert len(armatures) == 1 and "Stage" not in bpy.data.objects, [o.name for o in bpy.data.objects]
    meshes = [o for o in bpy.data.objects if o.type == "MESH"]
    assert [m.name for m in meshes] == ["Body"] and meshes[0].parent == armatures[0]
    imported = armatures[0]
    assert sorted(b.name for b in imported.data.bones) == sorted(names)
    got = _world_heads(bpy, imported_scene, imported, names, frames)

    travel = np.ptp(expected, axis=0).max()
    difference = np.linalg.norm(got - expected, axis=-1)
    print(
        f"\n{kind} at {scene_fps} fps: {len(frames)} frames x {len(names)} bones, joints travel up to "
        f"{travel * 100:.1f} cm; re-imported max difference {difference.max() * 1000:.3f} mm"
    )
    assert travel > 0.05
    assert difference.max() < 1e-3


@pytest.mark.parametrize("operator", ["export_fbx", "export_gltf"])
def test_game_export_errors_are_one_line_and_leave_the_scene_as_it_was(bpy, tmp_path, operator):
    rig = build_rig(bpy, CASE)
    scene = bpy.context.scene
    scene.vconductor.armature = rig
    scene.frame_start, scene.frame_end, scene.frame_current = 5, 40, 12
    export = getattr(bpy.ops.vconductor, operator)
    with pytest.raises(RuntimeError, match="has no active take: show one or export the scene") as refused:
        export(filepath=str(tmp_path / "x.fbx"), frame_range="TAKE")
    assert "\n" not in str(refused.value).strip()
    missing = tmp_path / "no such folder" / "take.fbx"
    with pytest.raises(RuntimeError, match=r"Export (FBX|glTF) failed: ") as failed:
        export(filepath=str(missing))
    print(f"\n{operator}: {str(failed.value).strip()}")
    assert len(str(failed.value).strip().splitlines()) == 1 and not missing.exists()
    taken = tmp_path / "take.glb"  # a folder where the file should go: the exporter itself fails
    taken.mkdir()
    with pytest.raises(RuntimeError, match=r"Export (FBX|glTF) failed: ") as failed:
        export(filepath=str(taken))
    print(f"{operator}: {str(failed.value).strip()}")
    assert len(str(failed.value).strip().splitlines()) == 1 and "Traceback" not in str(failed.value)
    assert "Errno 21" in str(failed.value) or "directory" in str(failed.value).lower()
    assert (scene.frame_start, scene.frame_end, scene.frame_current) == (5, 40, 12)
