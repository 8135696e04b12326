"""The user's beats drive the take, in real Blender with the real backend and the example's audio: timeline
markers (tapped, or the analysis' markers edited) become the beats the conductor hits, at 24 and 29.97 fps on
a trimmed strip that starts late; a score file goes to the service beside the audio; the panel says why not."""

import numpy as np
import pytest

from .blender_scene import EXAMPLE, add_sound_strip, create_rig, posed_joints, set_fps

NTSC = (30000, 1001.0)
CONDUCTED_S = (1.5, 27.5)  # audio time where the example sounds: beats there are all conducted


def _setup(bpy, fps, base, frame_start, trim_start, trim_end):
    scene = bpy.context.scene
    set_fps(scene, fps, base)
    strip = add_sound_strip(scene, EXAMPLE, frame_start, trim_start, trim_end)
    rig = create_rig(bpy)
    settings = scene.vconductor
    settings.model, settings.seed, settings.smoothing = "procedural", 0, 0.0
    return scene, strip, rig


def _tap(scene, frames) -> None:
    for index, frame in enumerate(frames):
        scene.timeline_markers.new(f"F_{index + 1:02d}", frame=int(frame))


def _ictus_frames(bpy, scene, rig, strip) -> np.ndarray:
    """Frames where the keyed right wrist is slowest (local minima of its speed): the ictus of each beat."""
    frames = np.arange(strip.frame_final_start, strip.frame_final_end)
    wrist = posed_joints(bpy, scene, rig, frames)["forearm.R.tail"]
    speed = np.linalg.norm(np.diff(wrist, axis=0), axis=1)  # speed[i]: frames[i] -> frames[i + 1]
    minima = np.flatnonzero((speed[1:-1] < speed[:-2]) & (speed[1:-1] <= speed[2:])) + 1
    return frames[minima] + 0.5  # the middle of the slowest step


def _misses(marker_frames, ictus, start, fps) -> tuple[np.ndarray, np.ndarray]:
    """(distance in frames from each conducted marker to the nearest ictus, those markers)."""
    marker_frames = np.asarray(marker_frames, float)
    t = (marker_frames - start) / fps
    inside = marker_frames[(t >= CONDUCTED_S[0]) & (t <= CONDUCTED_S[1])]
    return np.abs(inside[:, None] - ictus[None, :]).min(axis=1), inside


def _take_beat_frames(rig) -> np.ndarray:
    from virtual_conductor_addon.blender import take_data

    beats, frame_start, fps = take_data.take_beats(rig.animation_data.action)
    return frame_start + beats.beats_s * fps, beats


@pytest.mark.parametrize(
    ("fps", "base", "frame_start", "trim_start"), [(24, 1.0, 37, 30), (*NTSC, 11, 45)], ids=["24", "29.97"]
)
def test_tapped_markers_are_the_beats_the_wrist_hits(
    bpy, started_backend, fps, base, frame_start, trim_start
):
    scene, strip, rig = _setup(bpy, fps, base, frame_start, trim_start, 60)
    strip.sound_offset = 0.25 if fps == 24 else 0.0  # the sound slid in its strip: the markers still count
    rate = fps / base
    start = strip.frame_final_start
    assert start == frame_start + trim_start
    # taps 7 % slower than the music drift through every phase of its beat: agreement cannot come from the tracker
    taps = np.round(start + np.arange(0.2, 29.5, 0.62) * rate).astype(int)
    _tap(scene, taps)
    scene.timeline_markers.new("F_00", frame=start - 5)  # before the played range: not a beat
    settings = scene.vconductor
    settings.beat_source, settings.marker_downbeats, settings.beats_per_bar = "MARKERS", "FIRST", 3
    assert bpy.ops.vconductor.generate() == {"FINISHED"}, bpy.context.window_manager.vconductor_job.last_error

    inside = taps[taps < strip.frame_final_end]
    take_frames, beats = _take_beat_frames(rig)
    assert np.allclose(take_frames, inside, atol=1e-3)  # the backend got the markers, in the strip's time
    assert beats.beat_in_bar[:7].tolist() == [0, 1, 2, 0, 1, 2, 0]
    state = bpy.context.window_manager.vconductor_job
    assert state.beat_note.startswith(f"Beats: {len(inside)} timeline markers")

    distance, conducted = _misses(inside, _ictus_frames(bpy, scene, rig, strip), start, rate)
    print(
        f"\n{rate:.3f} fps: {len(conducted)} markers, ictus distance (frames) median {np.median(distance):.2f}"
        f" max {distance.max():.2f}, within 1 frame {np.mean(distance <= 1.0):.0%}"
    )
    assert len(conducted) >= 40 and np.mean(distance <= 1.0) >= 0.95 and np.median(distance) <= 0.5


def test_edited_analysis_markers_drive_the_next_take(bpy, started_backend):
    """The issue's workflow: the analysis' beats as markers, edited by hand, Generate again from them."""
    scene, strip, rig = _setup(bpy, *NTSC, 11, 45, 60)
    rate = NTSC[0] / NTSC[1]
    start = strip.frame_final_start
    assert bpy.ops.vconductor.generate() == {"FINISHED"}
    tracked_ictus = _ictus_frames(bpy, scene, rig, strip)
    assert bpy.ops.vconductor.add_beat_markers() == {"FINISHED"}
    ours = sorted((m for m in scene.timeline_markers if m.name.startswith("VC ")), key=lambda m: m.frame)
    period = np.median(np.diff([m.frame for m in ours]))
    for marker in ours:  # the edit: every beat half a beat later (names, and so the bars, kept)
        marker.frame += int(round(period / 2))
    edited = np.array([m.frame for m in ours if m.frame < strip.frame_final_end])
    downbeats = [m.frame for m in ours if m.name.endswith(".1") and m.frame < strip.frame_final_end]

    scene.vconductor.beat_source = "MARKERS"  # downbeats: markers named *.1 (the default)
    assert bpy.ops.vconductor.generate() == {"FINISHED"}, bpy.context.window_manager.vconductor_job.last_error
    take_frames, beats = _take_beat_frames(rig)
    assert np.allclose(take_frames, edited, atol=1e-3)
    assert np.allclose(take_frames[beats.beat_in_bar == 0], downbeats, atol=1e-3)

    distance, conducted = _misses(edited, _ictus_frames(bpy, scene, rig, strip), start, rate)
    before, _ = _misses(edited, tracked_ictus, start, rate)
    print(
        f"\nedited markers: {len(conducted)}, within 1 frame {np.mean(distance <= 1.0):.0%} "
        f"(the tracked take: {np.mean(before <= 1.0):.0%})"
    )
    assert np.mean(distance <= 1.0) >= 0.95 and np.mean(before <= 1.0) <= 0.5
    assert bpy.ops.vconductor.add_beat_markers() == {"FINISHED"}  # the edited beats come back as markers
    again = sorted(m.frame for m in scene.timeline_markers if m.name.startswith("VC "))
    assert again == edited.tolist()


def test_the_panel_says_why_the_markers_or_the_score_cannot_be_used(bpy, tmp_path):
    from virtual_conductor_addon.blender import panels, request

    from .test_ui import RecordingLayout

    scene, strip, _rig = _setup(bpy, 24, 1.0, 37, 30, 60)
    start = strip.frame_final_start
    settings = scene.vconductor
    settings.beat_source = "MARKERS"
    scene.timeline_markers.new("F_01", frame=start + 10)
    scene.timeline_markers.new("F_02", frame=start - 1)  # before the played range
    reasons = [request.why_not_generate(bpy.context)]
    assert not bpy.ops.vconductor.generate.poll()
    scene.timeline_markers.new("F_03", frame=start + 12)
    reasons.append(request.why_not_generate(bpy.context))
    assert reasons == [
        f"1 timeline marker(s) on frames {start}-{strip.frame_final_end - 1} (the strip's played range): add at "
        "least 2 (M during playback)",
        f"Markers 'F_01' (frame {start + 10}) and 'F_03' (frame {start + 12}) are 83 ms apart: beats must be at "
        "least 100 ms apart",
    ]
    layout = RecordingLayout()
    panels.draw_generation(layout, bpy.context)
    assert ("label", reasons[1]) in layout.log and ("prop", "marker_downbeats") in layout.log
    scene.timeline_markers["F_03"].frame = start + 13
    assert request.why_not_generate(bpy.context) is None and bpy.ops.vconductor.generate.poll()

    settings.beat_source = "SCORE"
    assert request.why_not_generate(bpy.context).startswith("Beats from a score: choose a score file")
    (tmp_path / "notes.txt").write_text("not a score")
    assert bpy.ops.vconductor.choose_score(filepath=str(tmp_path / "notes.txt")) == {"FINISHED"}
    assert request.why_not_generate(bpy.context) == "Score 'notes.txt' is not MusicXML or MIDI " + (
        "(.musicxml, .xml, .mxl, .mid, .midi)"
    )
    settings.score_file = str(tmp_path / "gone.mid")
    assert request.why_not_generate(bpy.context) == f"Score file not found: {tmp_path / 'gone.mid'}"
    layout = RecordingLayout()
    panels.draw_generation(layout, bpy.context)
    assert ("operator", "vconductor.choose_score") in layout.log and ("prop", "score_mismatch") in layout.log


def _ode_to_joy_midi(path) -> None:
    """The example's score (examples/example_score.py) as MIDI at its nominal tempo: no ritardando, no
    fermata (the audio's timing differs at the end, as a performance's would)."""
    import importlib.util

    mido = pytest.importorskip("mido", reason="writing the test's MIDI score needs mido")
    spec = importlib.util.spec_from_file_location("example_score", EXAMPLE.with_name("example_score.py"))
    score = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(score)
    song = mido.MidiFile(ticks_per_beat=480)
    parts = [
        (40, [((pitch,), start, length, velocity) for pitch, start, length, velocity in score.MELODY]),
        (48, score.CHORDS),
        (42, [((pitch,), start, length, velocity) for pitch, start, length, velocity in score.BASS]),
    ]
    for channel, (program, notes) in enumerate(parts):
        events = []
        for pitches, start, length, velocity in notes:
            for pitch in pitches:
                events.append((round(start * 480), "note_on", score.midi(pitch), velocity))
                events.append((round((start + length) * 480), "note_off", score.midi(pitch), 0))
        track = mido.MidiTrack()
        if channel == 0:
            track.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(score.BPM)))
            track.append(mido.MetaMessage("time_signature", numerator=4, denominator=4))
        track.append(mido.Message("program_change", program=program, channel=channel))
        now = 0
        for tick, kind, note, velocity in sorted(events, key=lambda e: (e[0], e[1] == "note_on")):
            track.append(mido.Message(kind, note=note, velocity=velocity, channel=channel, time=tick - now))
            now = tick
        song.tracks.append(track)
    song.save(str(path))


def test_a_score_file_gives_the_beats_of_a_trimmed_strip(bpy, started_backend, tmp_path):
    import json

    scene, strip, rig = _setup(bpy, *NTSC, 11, 10, 30)  # trims in the silence before and after the music
    rate = NTSC[0] / NTSC[1]
    _ode_to_joy_midi(tmp_path / "ode to joy.mid")
    settings = scene.vconductor
    settings.beat_source, settings.score_file, settings.score_mismatch = (
        "SCORE",
        str(tmp_path / "ode to joy.mid"),
        "error",
    )
    try:  # a failed operator reports an error, which raises in the background
        result = bpy.ops.vconductor.generate()
    except RuntimeError:
        result = {"CANCELLED"}
    state = bpy.context.window_manager.vconductor_job
    error = state.last_error
    assert result == {"FINISHED"}, error
    assert state.beat_note.startswith("Beats: score 'ode to joy.mid'; Score: the audio "), state.beat_note
    assert "alignment confidence" in state.beat_note

    truth = json.loads(EXAMPLE.with_suffix(".json").read_text())["beats_s"]
    true_frames = strip.frame_start + np.array(truth) * rate  # sound time 0 sits at frame_start
    true_frames = true_frames[
        (true_frames >= strip.frame_final_start) & (true_frames < strip.frame_final_end)
    ]
    take_frames, _beats = _take_beat_frames(rig)
    tolerance = 0.07 * rate
    hits = np.abs(true_frames[:, None] - take_frames[None, :]).min(axis=1) <= tolerance
    precise = np.abs(take_frames[:, None] - true_frames[None, :]).min(axis=1) <= tolerance
    print(f"\nscore: {state.beat_note}; recall {hits.mean():.2f} precision {precise.mean():.2f} (+-70 ms)")
    assert hits.mean() >= 0.9 and precise.mean() >= 0.9
