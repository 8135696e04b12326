"""On any failure the scene is left exactly as it was and the user gets one clear message (no traceback)."""

import os
import signal
import socket
import time

import pytest

from .blender_scene import EXAMPLE, add_sound_strip, create_rig, snapshot


def _scene_with_rig(bpy, sound=EXAMPLE):
    scene = bpy.context.scene
    add_sound_strip(scene, sound, frame_start=10, trim_end=500)
    rig = create_rig(bpy)
    scene.vconductor.model = "procedural"
    return scene, rig


def _generate_fails(bpy, pattern: str) -> str:
    """Run generate (background: synchronous); Blender raises ERROR reports of operators called from Python."""
    with pytest.raises(RuntimeError, match=pattern) as failure:
        bpy.ops.vconductor.generate()
    message = str(failure.value).strip()
    assert "Traceback" not in message and len(message.splitlines()) == 1
    return message


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def connect_mode(bpy):
    prefs = bpy.context.preferences.addons["virtual_conductor_addon"].preferences
    prefs.backend_mode = "CONNECT"
    yield prefs
    prefs.backend_mode, prefs.url, prefs.token = "START", "http://127.0.0.1:8765", ""


def test_backend_unreachable(bpy, connect_mode):
    _scene_with_rig(bpy)
    connect_mode.url = f"http://127.0.0.1:{_closed_port()}"
    before = snapshot(bpy)
    _generate_fails(bpy, "not running at http://127.0.0.1:.*connection refused")
    assert snapshot(bpy) == before
    assert "connection refused" in bpy.context.window_manager.vconductor_job.last_error


def test_remote_backend_needs_online_access(bpy, connect_mode):
    _scene_with_rig(bpy)
    connect_mode.url = "http://192.0.2.1:8765"  # never contacted: online access is off in background mode
    before = snapshot(bpy)
    _generate_fails(bpy, "Online access is off")
    assert snapshot(bpy) == before


def test_backend_start_failure_is_explained(bpy):
    prefs = bpy.context.preferences.addons["virtual_conductor_addon"].preferences
    command = prefs.backend_command
    prefs.backend_command = "/nonexistent/bin/vconductor"
    try:
        with pytest.raises(RuntimeError, match="executable not found: /nonexistent/bin/vconductor"):
            bpy.ops.vconductor.backend_start()
    finally:
        prefs.backend_command = command


def test_start_button_starts_the_backend_in_the_background(bpy, monkeypatch):
    """The GUI path: the button returns at once; a timer (called here by hand) shows the outcome in the panel."""
    from virtual_conductor_addon.blender import backend

    timers = []
    monkeypatch.setattr(bpy.app.timers, "register", lambda fn, **kw: timers.append(fn))
    prefs = bpy.context.preferences.addons["virtual_conductor_addon"].preferences
    command = prefs.backend_command
    prefs.backend_command = "/nonexistent/bin/vconductor"
    try:
        assert bpy.ops.vconductor.backend_start(mode="ASYNC") == {"FINISHED"}
        assert timers == [backend.poll_start]
        deadline = time.monotonic() + 30
        while backend.poll_start() is not None:
            assert time.monotonic() < deadline
            time.sleep(0.02)
    finally:
        prefs.backend_command = command
    error = bpy.context.window_manager.vconductor_job.last_error
    assert "executable not found: /nonexistent/bin/vconductor" in error and len(error.splitlines()) == 1
    assert backend.status_line() == "Backend not running" and bpy.ops.vconductor.backend_start.poll()


def _kill_mid_job(bpy, pid: int) -> str:
    """Start an asynchronous job, SIGKILL the backend once it owns the job, pump the timer; the error shown."""
    from virtual_conductor_addon.blender import generate

    bpy.ops.vconductor.generate(mode="ASYNC")
    deadline = time.monotonic() + 60
    while generate.current_job().job_id is None:  # submitted: the backend owns the job now
        assert generate.current_job().state == "running", generate.current_job().error
        assert time.monotonic() < deadline
        time.sleep(0.01)
    os.kill(pid, signal.SIGKILL)
    while generate.poll_job() is not None:
        assert time.monotonic() < deadline + 60
        time.sleep(0.05)
    error = bpy.context.window_manager.vconductor_job.last_error
    assert len(error.splitlines()) == 1, error
    return error


def test_connected_backend_killed_mid_job(bpy, connect_mode, backend_command, monkeypatch):
    from virtual_conductor_addon.service.process import BackendProcess

    monkeypatch.setattr(bpy.app.timers, "register", lambda fn, **kw: None)
    process = BackendProcess([backend_command], device="cpu")
    connect_mode.url = process.start(timeout_s=120)
    connect_mode.token = process.token  # the backend makes its own per-launch token
    try:
        scene, _rig = _scene_with_rig(bpy)
        scene.sequence_editor.active_strip.frame_offset_end = 0  # 32 s: the first run also compiles librosa
        before = snapshot(bpy)
        error = _kill_mid_job(bpy, process.pid)
    finally:
        process.stop()
    assert "stopped while working on the job" in error
    assert snapshot(bpy) == before


def test_started_backend_killed_mid_job_is_explained_and_restarts(bpy, started_backend, monkeypatch):
    monkeypatch.setattr(bpy.app.timers, "register", lambda fn, **kw: None)
    scene, rig = _scene_with_rig(bpy)
    scene.sequence_editor.active_strip.frame_offset_end = 0
    before = snapshot(bpy)
    error = _kill_mid_job(bpy, started_backend.process.pid)
    print(f"\nstarted backend killed mid-job: {error}")
    assert "The backend exited (killed by SIGKILL)" in error, error
    assert snapshot(bpy) == before
    # the next generation starts a fresh backend
    scene.sequence_editor.active_strip.frame_offset_end = 600
    assert bpy.ops.vconductor.generate() == {"FINISHED"}
    assert started_backend.process.running and rig.animation_data.action is not None


def test_missing_sound_file(bpy, started_backend, tmp_path):
    _scene_with_rig(bpy, sound=tmp_path / "missing.ogg")
    before = snapshot(bpy)
    _generate_fails(bpy, r"sound file not found: .*missing\.ogg")
    assert snapshot(bpy) == before


def test_sound_file_that_is_not_audio(bpy, started_backend, tmp_path):
    fake = tmp_path / "fake.mp3"
    fake.write_bytes(os.urandom(20000))
    _scene_with_rig(bpy, sound=fake)
    before = snapshot(bpy)
    _generate_fails(bpy, "'fake.mp3' is not a readable audio file")
    assert snapshot(bpy) == before


def test_armature_without_arm_bones(bpy, started_backend):
    scene = bpy.context.scene
    add_sound_strip(scene, EXAMPLE, frame_start=1, trim_end=600)
    armature = bpy.data.armatures.new("Prop")
    prop = bpy.data.objects.new("Prop", armature)
    scene.collection.objects.link(prop)
    bpy.context.view_layer.objects.active = prop
    bpy.ops.object.mode_set(mode="EDIT")
    for name, z in (("root", 0.0), ("spine", 0.5)):
        bone = armature.edit_bones.new(name)
        bone.head, bone.tail = (0, 0, z), (0, 0, z + 0.5)
    bpy.ops.object.mode_set(mode="OBJECT")
    before = snapshot(bpy)
    message = _generate_fails(bpy, "Armature 'Prop' lacks bones for")
    assert all(name in message for name in ("upper_arm.L", "forearm.R"))
    assert snapshot(bpy) == before


def test_generate_is_disabled_with_a_reason(bpy):
    from virtual_conductor_addon.blender import request

    assert request.why_not_generate(bpy.context).startswith("No sound strip")
    add_sound_strip(bpy.context.scene, EXAMPLE, frame_start=1)
    assert request.why_not_generate(bpy.context).startswith("No armature")
    assert not bpy.ops.vconductor.generate.poll()
    create_rig(bpy)
    assert request.why_not_generate(bpy.context) is None
    assert not bpy.ops.vconductor.cancel.poll()


def test_loopback_urls_and_backend_commands(bpy, tmp_path):
    from virtual_conductor_addon.blender.backend import backend_command
    from virtual_conductor_addon.service.session import is_loopback

    assert all(
        map(
            is_loopback,
            ["http://127.0.0.1:8765", "http://localhost:1", "http://[::1]:80", "http://127.3.2.1"],
        )
    )
    assert not any(map(is_loopback, ["http://192.168.1.5:8765", "http://example.com", "https://10.0.0.1"]))
    program = tmp_path / "dir with space" / "vconductor"
    program.parent.mkdir()
    program.write_text("")
    assert backend_command(str(program)) == [str(program)]
    assert backend_command("vconductor") == ["vconductor"]
    assert backend_command("/opt/py/bin/python -m vconductor") == ["/opt/py/bin/python", "-m", "vconductor"]
