"""Add Beat Markers in real Blender: the backend's beats of a take's audio as timeline markers, on the frames
where the beats sound, at 24 and 29.97 fps on a trimmed strip; our markers replaced, the user's kept."""

import numpy as np
import pytest

from .blender_scene import EXAMPLE, add_sound_strip, create_rig, set_fps


def _backend_beats(scene, strip):
    """The backend's own beats for the strip's audio (what the markers must show)."""
    from virtual_conductor_addon.blender import audio
    from virtual_conductor_addon.blender.backend import SESSION

    frames = audio.strip_range(scene, strip)
    client = SESSION.process.client()
    handle = client.submit_pcm(audio.strip_pcm(strip, frames), audio.SAMPLE_RATE, model="procedural", seed=0)
    client.wait(handle.id, poll_s=0.1, timeout_s=120)
    return client.beats(handle.id)


@pytest.mark.parametrize(("fps", "base"), [(24, 1.0), (30000, 1001.0)], ids=["24fps", "29.97fps"])
def test_beat_markers_sit_on_the_tracked_beats(bpy, started_backend, fps, base):
    scene = bpy.context.scene
    set_fps(scene, fps, base)
    strip = add_sound_strip(scene, EXAMPLE, 11, 29, 40)
    create_rig(bpy)
    scene.vconductor.model, scene.vconductor.seed = "procedural", 0
    scene.timeline_markers.new("my cue", frame=100)
    assert bpy.ops.vconductor.generate() == {"FINISHED"}

    assert bpy.ops.vconductor.add_beat_markers() == {"FINISHED"}
    ours = sorted((m.frame, m.name) for m in scene.timeline_markers if m.name.startswith("VC "))
    beats = _backend_beats(scene, strip)
    assert len(beats.beats_s) >= 20  # the example has a clear pulse
    expected = np.round(strip.frame_final_start + beats.beats_s * fps / base).astype(int)
    assert [frame for frame, _ in ours] == sorted(expected.tolist())
    bars = [name for _, name in ours if name.endswith(".1")]
    assert len(bars) == len(beats.downbeats_s) and bars[0] in ("VC 1.1", "VC 0.1")

    assert bpy.ops.vconductor.add_beat_markers(marks="DOWNBEATS") == {"FINISHED"}
    names = [m.name for m in scene.timeline_markers]
    assert "my cue" in names  # the user's marker is never touched
    assert sorted(n for n in names if n.startswith("VC ")) == sorted(bars)


def test_conducted_markers_follow_the_beats_the_hand_gives_a_bar(bpy, started_backend):
    """A take whose beats are conducted in one a bar (the document's `conducted`) gets a marker a bar."""
    import json

    from virtual_conductor_addon.blender import take_data, takes

    scene = bpy.context.scene
    set_fps(scene, 24, 1.0)
    strip = add_sound_strip(scene, EXAMPLE, 1, 0, 20)
    rig = create_rig(bpy)
    scene.vconductor.model, scene.vconductor.seed = "procedural", 0
    assert bpy.ops.vconductor.generate() == {"FINISHED"}
    action = takes.active_take(rig)
    document = json.loads(str(action[take_data.BEATS_KEY]))
    written = int(document["conducted"]["written_per_bar"])
    document["conducted"] = {"beats_per_bar": 1, "written_per_bar": written}
    action[take_data.BEATS_KEY] = json.dumps(document)

    assert bpy.ops.vconductor.add_beat_markers(marks="CONDUCTED") == {"FINISHED"}
    ours = sorted((m.frame, m.name) for m in scene.timeline_markers if m.name.startswith("VC "))
    beats, _, _ = take_data.take_beats(action)
    downbeats = np.round(strip.frame_final_start + beats.downbeats_s * 24).astype(int)
    assert [f for f, _ in ours] == sorted(downbeats.tolist()) and all(n.endswith(".1") for _, n in ours)


def test_the_button_says_why_it_cannot_add_markers(bpy):
    create_rig(bpy)
    assert not bpy.ops.vconductor.add_beat_markers.poll()
    from virtual_conductor_addon.blender import markers

    stored, reason = markers._take_with_beats(bpy.context)
    assert stored is None and "No active take" in reason
