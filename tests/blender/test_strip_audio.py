"""The audio sent to the backend is exactly what the strip plays over its visible range, decoded by Blender."""

import numpy as np
import pytest
import soundfile as sf

from .blender_scene import add_sound_strip, set_fps

RATE = 22050


@pytest.fixture
def noise_wav(tmp_path):
    """White noise: any misalignment by even one sample shows in the correlation."""
    y = (0.3 * np.random.default_rng(0).standard_normal(RATE * 6)).astype(np.float32)
    path = tmp_path / "noise.wav"
    sf.write(path, y, RATE, subtype="FLOAT")
    return path, y


def _lag(reference: np.ndarray, got: np.ndarray) -> int:
    n = min(len(reference), len(got)) - 64
    scores = [float(np.dot(reference[32 + k : 32 + k + n - 64], got[32 : 32 + n - 64])) for k in range(-8, 9)]
    return int(np.argmax(scores)) - 8


@pytest.mark.parametrize(("fps", "base"), [(24, 1.0), (30000, 1001.0), (30, 1.001)])
def test_pcm_is_the_visible_range_of_a_trimmed_offset_strip(bpy, noise_wav, fps, base):
    from virtual_conductor_addon.blender.audio import SAMPLE_RATE, strip_pcm, strip_range

    path, y = noise_wav
    scene = bpy.context.scene
    set_fps(scene, fps, base)
    strip = add_sound_strip(scene, path, frame_start=37, trim_start=20, trim_end=15)
    strip.sound_offset = 0.25
    frames = strip_range(scene, strip)
    assert (
        (frames.start, frames.end)
        == (strip.frame_final_start, strip.frame_final_end)
        == (57, strip.frame_final_end)
    )
    pcm = strip_pcm(strip, frames)
    assert pcm.dtype == np.float32 and pcm.ndim == 1
    t0 = 20 / (fps / base) + 0.25
    t1 = (strip.frame_final_end - 37) / (fps / base) + 0.25
    assert len(pcm) == pytest.approx((t1 - t0) * SAMPLE_RATE, abs=2)
    expected = y[round(t0 * RATE) :]
    assert _lag(expected, pcm) == 0
    n = len(pcm) - 16
    assert np.corrcoef(expected[:n], pcm[:n])[0, 1] > 0.999


def test_user_frame_range_is_intersected_with_the_strip(bpy, noise_wav):
    from virtual_conductor_addon.blender.audio import AudioError, strip_range

    scene = bpy.context.scene
    set_fps(scene, 25)
    strip = add_sound_strip(scene, noise_wav[0], frame_start=10)  # visible 10 .. 160
    frames = strip_range(scene, strip, (40, 99))
    assert (frames.start, frames.end, frames.fps) == (40, 100, 25)
    assert (strip_range(scene, strip, (1, 1000)).start, strip_range(scene, strip, (1, 1000)).end) == (10, 160)
    with pytest.raises(AudioError, match="does not overlap"):
        strip_range(scene, strip, (200, 300))


def test_packed_sound_is_decoded_without_its_file(bpy, noise_wav, tmp_path):
    from virtual_conductor_addon.blender.audio import strip_pcm, strip_range

    path, y = noise_wav
    scene = bpy.context.scene
    set_fps(scene, 24)
    strip = add_sound_strip(scene, path, frame_start=1, trim_start=12)
    frames = strip_range(scene, strip)
    from_file = strip_pcm(strip, frames)
    strip.sound.pack()
    path.unlink()
    np.testing.assert_allclose(strip_pcm(strip, frames), from_file, atol=1e-6)


def test_missing_and_non_audio_files_give_one_clear_message(bpy, tmp_path):
    from virtual_conductor_addon.blender.audio import AudioError, strip_pcm, strip_range

    scene = bpy.context.scene
    missing = add_sound_strip(scene, tmp_path / "gone.wav", frame_start=1, name="gone")
    text = tmp_path / "notes.wav"
    text.write_text("not audio at all\n" * 100)
    not_audio = add_sound_strip(scene, text, frame_start=1, name="text")
    with pytest.raises(AudioError, match=r"sound file not found: .*gone\.wav"):
        strip_pcm(missing, strip_range(scene, missing))
    with pytest.raises(AudioError, match="'notes.wav' is not a readable audio file"):
        strip_pcm(not_audio, strip_range(scene, not_audio))
