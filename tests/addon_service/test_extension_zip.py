"""The extension zip that build_addon.py makes: its content, then installed into a fresh Blender (the bpy
module, in a subprocess with its own user folders) and used end to end: create the rig, start the backend
from the add-on preferences, generate procedural motion for a sound strip, and find the keys on the rig."""

import importlib.util
import json
import os
import subprocess
import sys
import wave
import zipfile

import numpy as np
import pytest
from service_harness import BLENDER50_PYTHON, REPO, backend_command, gone, music

# Not imported here: importing bpy in the test process would fix Blender's user folders for tests/blender too.
pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("bpy") is None, reason="needs the bpy wheel (pip install -e '.[blender]')"
)

MODULE = "bl_ext.user_default.virtual_conductor"
RESULT_TAG = "VCONDUCTOR_RESULT "

# Runs in a fresh interpreter: BLENDER_USER_RESOURCES and TMPDIR point into the test's folder.
INSTALL_AND_GENERATE = r"""
import json, os, sys, wave
import numpy as np
import bpy, addon_utils

zip_path, backend, wav_path = sys.argv[1:4]
MODULE = "bl_ext.user_default.virtual_conductor"
out = {}

def report(key, value):
    out[key] = value

def fcurves_of(action):
    layers = getattr(action, "layers", None)
    if layers:  # 4.4+: slotted actions
        return [fc for layer in layers for strip in layer.strips for bag in strip.channelbags for fc in bag.fcurves]
    return list(action.fcurves)

try:
    report("install", sorted(bpy.ops.extensions.package_install_files(
        filepath=zip_path, repo="user_default", enable_on_install=True)))
    report("enabled", MODULE in bpy.context.preferences.addons)
    report("loaded", addon_utils.check(MODULE))
    ops = {}
    for name in ("generate", "cancel", "create_rig"):
        try:
            getattr(bpy.ops.vconductor, name).get_rna_type()
            ops[name] = True
        except KeyError:
            ops[name] = False
    report("operators", ops)
    scene = bpy.context.scene
    report("scene_settings", hasattr(scene, "vconductor"))
    report("rigs_shipped", os.path.isfile(os.path.join(
        os.path.dirname(sys.modules[MODULE].__file__), "rigs", "conductor_rig.json")))

    before = set(bpy.data.objects)
    report("create_rig", sorted(bpy.ops.vconductor.create_rig()))
    rigs = [o for o in bpy.data.objects if o not in before and o.type == "ARMATURE"]
    report("rigs_created", len(rigs))
    rig = rigs[0]

    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs.backend_mode = "START"
    prefs.backend_command = backend
    prefs.device = "cpu"

    editor = scene.sequence_editor_create()
    strips = editor.strips if hasattr(editor, "strips") else editor.sequences  # 4.2: sequences only
    strip = strips.new_sound("music", wav_path, 1, 1)
    scene.frame_start, scene.frame_end = 1, int(strip.frame_final_end)
    settings = scene.vconductor
    settings.sound_strip = strip.name
    settings.armature = rig
    settings.model = "procedural"
    settings.seed = 3
    report("generate", sorted(bpy.ops.vconductor.generate()))
    action = rig.animation_data.action if rig.animation_data else None
    report("action", action.name if action else None)
    curves = fcurves_of(action) if action else []
    report("fcurves", len(curves))
    report("keys", sum(len(fc.keyframe_points) for fc in curves))
    bone = next(p for p in rig.pose.bones if p.name.lower().replace("_", "").startswith("forearm"))
    poses = []
    for frame in (10, 40, 70):
        scene.frame_set(frame)
        poses.append(list(bone.matrix.to_quaternion()))
    report("pose_changes", float(np.abs(np.diff(np.array(poses), axis=0)).max()))
    process = sys.modules[MODULE + ".blender.backend"].SESSION.process
    report("backend_pid", process.pid if process is not None and process.running else None)
except Exception as exc:
    report("error", f"{type(exc).__name__}: {exc}")
    raise
finally:
    if MODULE in bpy.context.preferences.addons:
        addon_utils.disable(MODULE, default_set=True)  # 4.5 hangs at exit while add-on classes are registered
    report("disabled", MODULE not in bpy.context.preferences.addons)
    print("VCONDUCTOR_RESULT " + json.dumps(out), flush=True)
"""


def load_build_addon():
    spec = importlib.util.spec_from_file_location("build_addon", REPO / "build_addon.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def addon_zip(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run(
        [sys.executable, str(REPO / "build_addon.py"), "--output-dir", str(out)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    path = done.stdout.strip().splitlines()[-1]
    assert path.endswith("virtual_conductor-0.1.0.zip") and os.path.isfile(path)
    return path


def test_zip_content(addon_zip):
    names = zipfile.ZipFile(addon_zip).namelist()
    for required in (
        "blender_manifest.toml",
        "__init__.py",
        "contract.py",
        "service/client.py",
        "service/process.py",
        "service/session.py",
        "rigs/conductor_rig.json",
    ):
        assert required in names
    assert any(n.startswith("presets/") and n.endswith(".json") for n in names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc") or n.startswith("tests/")]


def test_import_check_refuses_foreign_modules(tmp_path):
    build_addon = load_build_addon()
    assert build_addon.foreign_imports(REPO / "virtual_conductor_addon") == []
    (tmp_path / "ok.py").write_text(
        "import os, json\nimport numpy as np\nfrom mathutils import Vector\nfrom . import x\n"
    )
    (tmp_path / "bad.py").write_text(
        "import numpy\n\ndef f():\n    import requests\n    from scipy.signal import butter\n"
    )
    assert [p.rsplit(" ", 1)[1] for p in build_addon.foreign_imports(tmp_path)] == ["requests", "scipy"]


def test_build_fails_with_a_clear_line(tmp_path):
    done = subprocess.run(
        [sys.executable, str(REPO / "build_addon.py"), "--blender-ext", str(tmp_path / "nope.py")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (
        done.returncode == 1
        and done.stderr.strip() == f"error: --blender-ext {tmp_path / 'nope.py'}: no such file"
    )


BLENDERS = {
    "bpy-4.5": sys.executable,  # this environment's bpy wheel
    "bpy-5.0": str(BLENDER50_PYTHON),  # .venv-blender50, from scripts/blender50_env.sh
}


@pytest.mark.parametrize("blender", BLENDERS)
def test_install_and_generate_from_the_zip(addon_zip, tmp_path, blender):
    python = BLENDERS[blender]
    if not os.path.isfile(python):
        pytest.skip("no .venv-blender50 (bpy 5.0.1): create it with `bash scripts/blender50_env.sh`")
    wav = tmp_path / "music.wav"
    with wave.open(str(wav), "wb") as f:
        f.setnchannels(1)
        f.setsampwidth(2)
        f.setframerate(22050)
        f.writeframes((np.clip(music(4.0), -1, 1) * 32767).astype("<i2").tobytes())
    script = tmp_path / "install_and_generate.py"
    script.write_text(INSTALL_AND_GENERATE)
    (tmp_path / "user").mkdir()
    (tmp_path / "tmp").mkdir()
    env = {
        **os.environ,
        "BLENDER_USER_RESOURCES": str(tmp_path / "user"),
        "TMPDIR": str(tmp_path / "tmp"),
        "VCONDUCTOR_HOME": str(tmp_path / "home"),
    }
    done = subprocess.run(
        [python, str(script), addon_zip, backend_command(), str(wav)],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_TAG)]
    assert lines, f"no result (exit {done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    result = json.loads(lines[-1][len(RESULT_TAG) :])
    context = f"{result}\n{done.stderr[-2000:]}"
    assert "error" not in result, context
    assert result["install"] == ["FINISHED"] and result["enabled"] and result["loaded"] == [True, True], (
        context
    )
    assert result["operators"] == {"generate": True, "cancel": True, "create_rig": True}, context
    assert result["scene_settings"] and result["rigs_shipped"], context
    assert result["create_rig"] == ["FINISHED"] and result["rigs_created"] == 1, context
    assert result["generate"] == ["FINISHED"] and result["action"], context
    frames = 4 * 24  # the default scene's 24 fps over the 4 s strip
    assert result["fcurves"] >= 16 and result["keys"] == result["fcurves"] * frames, (
        context
    )  # a key per frame
    assert result["pose_changes"] > 1e-3, f"the forearm does not move: {context}"
    assert result["disabled"], context
    pid = result["backend_pid"]
    assert pid is not None, "the add-on's backend was not running after generation"
    assert gone(pid), "disabling the add-on must stop the backend it started"
    assert done.returncode == 0, context
