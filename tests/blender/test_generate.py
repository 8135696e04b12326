"""vconductor.generate against a real backend started by the add-on (procedural model: no weights needed)."""

import math

import numpy as np
import pytest

from .blender_scene import EXAMPLE, add_sound_strip, create_rig, keyed_frames, posed_joints, set_fps, snapshot

# keypoint joints (backend order)
L_SHOULDER, R_SHOULDER, L_ELBOW, R_ELBOW, L_WRIST, R_WRIST = 5, 6, 7, 8, 9, 10
RIG_JOINTS = {  # keypoint joint -> posed rig point
    L_ELBOW: "forearm.L.head",
    L_WRIST: "forearm.L.tail",
    R_ELBOW: "forearm.R.head",
    R_WRIST: "forearm.R.tail",
}


def _setup(bpy, fps: int, base: float, frame_start: int, trim_start: int, trim_end: int, seed: int = 0):
    scene = bpy.context.scene
    set_fps(scene, fps, base)
    strip = add_sound_strip(scene, EXAMPLE, frame_start, trim_start, trim_end)
    rig = create_rig(bpy)
    settings = scene.vconductor
    settings.model, settings.seed, settings.smoothing, settings.motion_size = "procedural", seed, 0.0, 1.0
    return scene, strip, rig


def _backend_keypoints(bpy, strip, scene) -> np.ndarray:
    """The backend's own keypoints for the same audio (what the rig must follow)."""
    return _backend_motion(bpy, strip, scene).keypoints


def _backend_motion(bpy, strip, scene):
    """The backend's own motion for the same audio (keypoints and any authored 3D)."""
    from virtual_conductor_addon.blender import audio
    from virtual_conductor_addon.blender.backend import SESSION

    frames = audio.strip_range(scene, strip)
    pcm = audio.strip_pcm(strip, frames)
    client = SESSION.process.client()
    settings = scene.vconductor
    handle = client.submit_pcm(pcm, audio.SAMPLE_RATE, model="procedural", seed=settings.seed)
    client.wait(handle.id, poll_s=0.1, timeout_s=120)
    return client.result(handle.id)


def _projection_errors(keypoints: np.ndarray, joints: dict, times_s: np.ndarray) -> np.ndarray:
    """Per-frame RMS distance (in rig shoulder widths) between the rig's elbows and wrists on the frontal plane
    and the keypoints, both relative to their shoulder midpoints, after one least-squares scale."""
    t = np.clip(times_s * 30.0, 0, len(keypoints) - 1)
    lo = np.floor(t).astype(int)
    hi = np.minimum(lo + 1, len(keypoints) - 1)
    kp = keypoints[lo] + (t - lo)[:, None, None] * (keypoints[hi] - keypoints[lo])
    kp_mid = (kp[:, L_SHOULDER] + kp[:, R_SHOULDER]) / 2
    width = np.median(np.linalg.norm(kp[:, L_SHOULDER] - kp[:, R_SHOULDER], axis=1))
    flip = np.array([1.0, -1.0])  # image y is down
    kp_rel = np.stack([(kp[:, j] - kp_mid) / width * flip for j in RIG_JOINTS], axis=1)

    def frontal(p):
        return p[:, [0, 2]]

    rig_mid = frontal((joints["upper_arm.L.head"] + joints["upper_arm.R.head"]) / 2)
    rig_width = np.linalg.norm(joints["upper_arm.L.head"][0] - joints["upper_arm.R.head"][0])
    rig_rel = np.stack([frontal(joints[name]) - rig_mid for name in RIG_JOINTS.values()], axis=1)
    scale = float(np.sum(kp_rel * rig_rel) / np.sum(kp_rel * kp_rel))
    return np.sqrt(np.mean(np.sum((scale * kp_rel - rig_rel) ** 2, axis=2), axis=1)) / rig_width


@pytest.mark.parametrize(
    ("fps", "base", "frame_start", "trim_start", "trim_end"),
    [(24, 1.0, 37, 41, 500), (30000, 1001.0, 11, 23, 640)],
    ids=["24fps", "29.97fps"],
)
def test_keys_cover_the_visible_range_and_follow_the_backend(
    bpy, started_backend, fps, base, frame_start, trim_start, trim_end
):
    scene, strip, rig = _setup(bpy, fps, base, frame_start, trim_start, trim_end)
    assert strip.frame_final_start == frame_start + trim_start
    assert bpy.ops.vconductor.generate() == {"FINISHED"}

    action = rig.animation_data.action
    assert action.name == "VC music procedural seed0" and action.use_fake_user
    frames = keyed_frames(action)
    first, end = strip.frame_final_start, strip.frame_final_end
    assert frames[0] == math.ceil(first) and frames[-1] == end - 1 and len(frames) == end - first
    assert np.all(np.diff(frames) == 1)
    from virtual_conductor_addon.blender import properties

    assert "procedural" in started_backend.known_models  # what the panel's model field suggests
    assert properties._model_names(None, bpy.context, "")[0] == "procedural"

    keypoints = _backend_keypoints(bpy, strip, scene)
    joints = posed_joints(bpy, scene, rig, frames)
    times = (frames - first) / (fps / base)
    errors = _projection_errors(keypoints, joints, times)
    print(
        f"\n{fps}/{base:g} fps: {len(frames)} frames, projection RMS error max {errors.max():.2%} "
        f"mean {errors.mean():.2%} of the shoulder width"
    )
    assert errors.max() <= 0.03
    for bone in ("upper_arm.L", "forearm.L", "upper_arm.R", "forearm.R"):
        lengths = np.linalg.norm(joints[f"{bone}.tail"] - joints[f"{bone}.head"], axis=1)
        assert np.ptp(lengths) < 1e-5 and lengths[0] == pytest.approx(rig.data.bones[bone].length, abs=1e-5)
    # the motion moves (not a rest pose) and a second take is a new action, the first kept
    assert np.ptp(joints["forearm.R.tail"], axis=0).max() > 0.05
    scene.vconductor.seed = 1
    assert bpy.ops.vconductor.generate() == {"FINISHED"}
    assert rig.animation_data.action.name == "VC music procedural seed1"
    assert {"VC music procedural seed0", "VC music procedural seed1"} <= set(bpy.data.actions.keys())


def test_worker_thread_path_applies_through_poll_job_and_undo_restores(bpy, started_backend, monkeypatch):
    """The GUI path: a worker thread, a timer callback (called here by hand: timers never fire headless)."""
    import time

    from virtual_conductor_addon.blender import generate

    timers = []
    monkeypatch.setattr(bpy.app.timers, "register", lambda fn, **kw: timers.append(fn))
    scene, strip, rig = _setup(bpy, 25, 1.0, 5, 0, 600)
    bpy.ops.ed.undo_push(message="scene ready")
    before = snapshot(bpy)
    assert bpy.ops.vconductor.generate(mode="ASYNC") == {"FINISHED"}
    assert timers == [generate.poll_job] and generate.is_running()
    assert not bpy.ops.vconductor.generate.poll()  # one job at a time
    state = bpy.context.window_manager.vconductor_job
    seen_running = False
    deadline = time.monotonic() + 120
    while generate.poll_job() is not None:
        seen_running |= state.running
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert seen_running and not state.running and not state.last_error
    rig = bpy.data.objects[rig.name]
    assert rig.animation_data.action.name == "VC music procedural seed0"
    assert state.message == "Created action 'VC music procedural seed0'"

    bpy.ops.ed.undo()
    assert snapshot(bpy) == before


def test_cancel_leaves_the_scene_unchanged(bpy, started_backend, monkeypatch):
    import time

    from virtual_conductor_addon.blender import generate

    monkeypatch.setattr(bpy.app.timers, "register", lambda fn, **kw: None)
    _setup(bpy, 24, 1.0, 1, 0, 0)
    before = snapshot(bpy)
    bpy.ops.vconductor.generate(mode="ASYNC")
    assert bpy.ops.vconductor.cancel() == {"FINISHED"}
    deadline = time.monotonic() + 60
    while generate.poll_job() is not None:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert bpy.context.window_manager.vconductor_job.message == "Cancelled"
    assert snapshot(bpy) == before


def test_synchronous_generate_is_one_undo_step_and_stores_the_detected_bone_map(bpy, started_backend):
    scene, _strip, rig = _setup(bpy, 24, 1.0, 1, 0, 600)
    rig.data.vconductor_bones.clear()  # as on a user's own rig: the map is detected when generating
    scene.vconductor.model = ""  # the backend's default (no learned model registered there: procedural)
    bpy.ops.ed.undo_push(message="scene ready")
    before = snapshot(bpy)
    assert bpy.ops.vconductor.generate() == {"FINISHED"}
    rig = bpy.data.objects[rig.name]
    stored = {e.semantic: e.bone for e in rig.data.vconductor_bones}
    assert (
        stored["forearm.R"] == "forearm.R" and len([b for b in stored.values() if b]) == 13
    )  # no fingers on the default figure
    assert rig.animation_data.action.name == "VC music procedural seed0"
    # the GUI pushes the step of an {'UNDO'} operator itself; operators called from Python in background
    # mode get none, so push it here the way the GUI would
    bpy.ops.ed.undo_push(message="Generate")
    bpy.ops.ed.undo()
    assert snapshot(bpy) == before
