"""A long strip's audio is decoded on the generation's worker thread: the operator returns at once, the main
thread keeps running (its timer ticks, the progress moves), Cancel stops the decoding within a second, and a
failure or a cancel leaves neither keys nor temporary files. The decoding itself (short aud steps joined
without a seam) gives exactly what one aud call over the whole range gives, for lossy files too."""

import os
import time
from itertools import pairwise

import numpy as np
import pytest
import soundfile as sf

from .blender_scene import EXAMPLE, add_sound_strip, create_rig, set_fps, snapshot

LONG_S = 20 * 60


@pytest.fixture(scope="module")
def long_wav(tmp_path_factory):
    """20 minutes of quiet noise, 16-bit mono (the format whose every aud step costs most to open)."""
    path = tmp_path_factory.mktemp("long") / "long.wav"
    noise = np.random.default_rng(0).integers(-3000, 3000, LONG_S * 22050, dtype=np.int16)
    sf.write(path, noise, 22050, subtype="PCM_16")
    return path


def _scene(bpy, sound):
    scene = bpy.context.scene
    set_fps(scene, 25)
    strip = add_sound_strip(scene, sound, frame_start=1)
    create_rig(bpy)
    scene.vconductor.model = "procedural"
    return strip


def _temporary_files(bpy) -> list[str]:
    return [name for name in os.listdir(bpy.app.tempdir) if name.startswith("vconductor-")]


def _start(bpy, monkeypatch):
    """Generate as the GUI does (the timer is called by hand here); the job, still reading the audio."""
    from virtual_conductor_addon.blender import generate

    monkeypatch.setattr(bpy.app.timers, "register", lambda fn, **kw: None)
    assert bpy.ops.vconductor.generate(mode="ASYNC") == {"FINISHED"}
    job = generate.current_job()
    assert job is not None and job.message.startswith("Reading the audio of "), job.message
    return job


def _cancel_within_a_second(bpy) -> None:
    from virtual_conductor_addon.blender import generate

    assert bpy.ops.vconductor.cancel() == {"FINISHED"}
    began = time.perf_counter()
    while generate.poll_job() is not None:
        assert time.perf_counter() - began < 1.0, generate.current_job().message
        time.sleep(0.01)
    assert bpy.context.window_manager.vconductor_job.message == "Cancelled"


def test_a_long_strip_is_read_off_the_main_thread_and_cancel_stops_it(bpy, long_wav, monkeypatch):
    from virtual_conductor_addon.blender import generate

    _scene(bpy, long_wav)
    before = snapshot(bpy)
    job = _start(bpy, monkeypatch)
    assert job.message == "Reading the audio of 'long.wav'"
    state = bpy.context.window_manager.vconductor_job
    gaps, shown = [], []
    last = time.perf_counter()
    while job.progress < 0.25:  # a quarter of the strip: several aud steps
        assert generate.poll_job() is not None and job.message.startswith("Reading"), job.error
        now = time.perf_counter()
        gaps.append(now - last)
        last = now
        shown.append((state.running, round(state.progress, 3), state.message))
        time.sleep(0.02)
    print(f"\n{len(gaps)} timer ticks while reading 5 of 20 minutes, longest gap {max(gaps):.3f} s")
    assert len(gaps) >= 3 and max(gaps) < 1.0
    assert all(running and message == "Reading the audio of 'long.wav'" for running, _p, message in shown)
    assert len({progress for _r, progress, _m in shown}) >= 2  # the bar moves
    _cancel_within_a_second(bpy)
    assert snapshot(bpy) == before and _temporary_files(bpy) == []


def test_cancel_while_a_packed_sound_is_read_leaves_no_files(bpy, long_wav, monkeypatch):
    strip = _scene(bpy, long_wav)
    strip.sound.pack()
    before = snapshot(bpy)
    _start(bpy, monkeypatch)
    _cancel_within_a_second(bpy)
    assert snapshot(bpy) == before and _temporary_files(bpy) == []


def test_unusable_audio_found_on_the_worker_thread_is_one_line_and_changes_nothing(
    bpy, tmp_path, monkeypatch
):
    from virtual_conductor_addon.blender import generate

    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(22050 * 120, np.int16), 22050, subtype="PCM_16")
    _scene(bpy, silent)
    before = snapshot(bpy)
    _start(bpy, monkeypatch)
    deadline = time.perf_counter() + 30
    while generate.poll_job() is not None:
        assert time.perf_counter() < deadline
        time.sleep(0.02)
    state = bpy.context.window_manager.vconductor_job
    assert state.last_error == "Strip 'music' is silent in the frame range" and not state.running
    assert snapshot(bpy) == before and _temporary_files(bpy) == []


@pytest.fixture(scope="module")
def lossy_mp3(bpy_module, tmp_path_factory):
    """12 s of a tone under noise as an mp3 written by Blender's own encoder: seeks in it are not sample-exact."""
    import aud

    t = np.arange(12 * 44100) / 44100
    signal = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.1 * np.random.default_rng(1).standard_normal(t.size)
    path = tmp_path_factory.mktemp("mp3") / "x.mp3"
    sound = aud.Sound.buffer(signal.astype(np.float32)[:, None], 44100)
    sound.write(
        str(path), rate=44100, channels=1, container=aud.CONTAINER_MP3, codec=aud.CODEC_MP3, bitrate=128000
    )
    return path


@pytest.mark.parametrize("lossy", ["ogg", "mp3"])
def test_steps_join_without_a_seam(bpy, lossy, lossy_mp3):
    import aud
    from virtual_conductor_addon.blender.pcm_decode import decode_range

    path = str(EXAMPLE if lossy == "ogg" else lossy_mp3)
    assert aud.Sound(path).specs[0] == 44100
    for start_s, end_s in ((0.0, 60.0), (1.2345, 10.5)):
        whole = aud.Sound(path).limit(start_s, end_s).rechannel(1)
        for rate, expected in (
            (44100, whole.data()[:, 0]),
            (22050, whole.resample(22050, False).data()[:, 0]),
        ):
            blocks = []
            assert decode_range(path, start_s, end_s, rate, blocks.append, steps_s=(1, 1, 1))
            np.testing.assert_array_equal(np.concatenate(blocks), expected)
    if lossy == "mp3":  # joining plain one-second limit() calls instead would leave seams in it
        bounds = [1.2345, *range(2, 11), 10.5]
        plain = [aud.Sound(path).limit(a, b).rechannel(1).data()[:, 0] for a, b in pairwise(bounds)]
        expected = aud.Sound(path).limit(1.2345, 10.5).rechannel(1).data()[:, 0]
        assert not np.array_equal(np.concatenate(plain), expected)


def test_resampling_does_not_depend_on_the_blocks(bpy):
    from virtual_conductor_addon.blender.pcm_decode import LinearResampler

    x = np.random.default_rng(2).standard_normal(48000 * 3).astype(np.float32)
    ratio = 48000 / 22050
    whole, pieces = [], []
    one = LinearResampler(ratio, whole.append)
    one.push(x)
    one.finish()
    cut = LinearResampler(ratio, pieces.append)
    for begin, end in zip([0, 1, 7, 5000, 90001], [1, 7, 5000, 90001, x.size], strict=True):
        cut.push(x[begin:end])
    cut.finish()
    whole, pieces = np.concatenate(whole), np.concatenate(pieces)
    np.testing.assert_array_equal(pieces, whole)
    positions = np.arange(whole.size) * ratio
    assert whole.size == int((x.size - 1) / ratio) + 1
    np.testing.assert_allclose(whole, np.interp(positions, np.arange(x.size), x), atol=1e-5)
