"""The streamed spectrogram: the same numbers as librosa on the whole signal, in memory bounded by a block."""

import pickle
import tracemalloc

import librosa
import numpy as np
import pytest
import soundfile as sf

from vconductor.audio import (
    HOP,
    SAMPLE_RATE,
    CropOutside,
    audio_spectrogram,
    load_audio,
    mel_features,
    mel_power,
    official_features,
)
from vconductor.audio.frame_store import FrameStore
from vconductor.conducting.features import spectral_features

SR = SAMPLE_RATE


def music_like(seconds: float, seed: int = 0) -> np.ndarray:
    """Decaying tones on a beat over a little noise: onsets, harmony and silence for the features to see."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    beat = (t % 0.5) / 0.5
    pitch = 220.0 * 2 ** (rng.integers(0, 12, size=int(seconds / 0.5) + 1)[(t // 0.5).astype(int)] / 12)
    y = 0.4 * np.sin(2 * np.pi * pitch * t) * np.exp(-6 * beat) + 0.01 * rng.standard_normal(len(t))
    y[int(2 * SR) : int(2.6 * SR)] = 0.0  # a rest
    return y.astype(np.float32)


def reference_logmel(y: np.ndarray) -> np.ndarray:
    return librosa.power_to_db(mel_power(y), ref=1.0, amin=1e-10, top_db=80.0)


@pytest.mark.parametrize("seconds", [0.05, 3.0, 7.31])
def test_streamed_log_mel_and_rms_equal_librosa_on_the_whole_signal(seconds):
    y = music_like(seconds)
    spec = audio_spectrogram((y, SR))
    assert spec.num_samples == len(y) and spec.num_frames == 1 + len(y) // HOP
    np.testing.assert_array_equal(spec.logmel_rows(0, spec.num_frames).T, reference_logmel(y))
    rms = librosa.feature.rms(y=y, frame_length=1024, hop_length=HOP)[0]
    np.testing.assert_allclose(spec.rms, rms, rtol=1e-5, atol=1e-7)
    assert spec.peak == float(np.abs(y).max())


def test_resampled_stereo_file_gives_the_spectrogram_of_its_decoded_samples(tmp_path):
    path = tmp_path / "stereo.flac"
    y = music_like(6.0, seed=3)
    stereo = np.stack([y, 0.5 * y], axis=1)
    sf.write(path, librosa.resample(stereo.T, orig_sr=SR, target_sr=44100).T, 44100, subtype="PCM_24")
    spec = audio_spectrogram(path)
    decoded = load_audio(path).samples
    assert spec.num_samples == len(decoded)
    np.testing.assert_array_equal(spec.logmel_rows(0, spec.num_frames).T, reference_logmel(decoded))


def test_crop_equals_the_cropped_signal_and_a_crop_past_the_end_is_refused():
    y = music_like(5.0)
    spec = audio_spectrogram((y, SR), crop=(1.25, 3.5))
    cropped = y[round(1.25 * SR) : round(3.5 * SR)]
    np.testing.assert_array_equal(spec.logmel_rows(0, spec.num_frames).T, reference_logmel(cropped))
    assert audio_spectrogram((y, SR), crop=(4.0, 99.0)).num_samples == len(y) - 4 * SR
    with pytest.raises(CropOutside, match="not before the end"):
        audio_spectrogram((y, SR), crop=(5.5, None))


def test_long_pieces_spill_to_a_scratch_file_that_reads_back_the_same_and_is_deleted(tmp_path):
    y = music_like(8.0)
    in_memory = audio_spectrogram((y, SR))
    spilled = audio_spectrogram((y, SR), spill_dir=tmp_path, spill_after=100)
    assert spilled.frames.on_disk and not in_memory.frames.on_disk
    assert len(list(tmp_path.iterdir())) == 1
    a, b = in_memory.logmel_rows(0, 10**6), spilled.logmel_rows(0, 10**6)
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(
        spilled.frames.rows_at([5, 0, 5, 600]), in_memory.frames.rows_at([5, 0, 5, 600])
    )
    received = pickle.loads(pickle.dumps(spilled))  # how the CLI's decoding worker hands it over
    del spilled
    np.testing.assert_array_equal(received.logmel_rows(0, 10**6), a)  # the sender no longer owns the file
    received.close()
    assert list(tmp_path.iterdir()) == []


def test_a_cut_scratch_file_is_an_error_not_zeros(tmp_path):
    store = FrameStore(tmp_path, spill_after=0)
    store.append(np.ones((10, 128), np.float32))
    store.seal()
    with open(store.path, "r+b") as f:
        f.truncate(512 * 4)
    with pytest.raises(OSError, match="cut short"):
        store.rows(0, 10)
    store.close()


def test_official_features_by_window_equal_the_whole_array_and_repeat_the_last_frame():
    y = music_like(4.0)
    whole = mel_features((y, SR))
    features = official_features(audio_spectrogram((y, SR)))
    assert len(features) == len(whole) == int(4.0 * 90)
    np.testing.assert_array_equal(features.window(100, 200), whole[100:200])
    tail = features.window(len(whole) - 2, len(whole) + 3)
    np.testing.assert_array_equal(tail, np.concatenate([whole[-2:], np.repeat(whole[-1:], 3, axis=0)]))


def test_onset_strength_and_band_sums_equal_librosa_and_numpy_on_the_whole_spectrogram():
    y = music_like(9.0)
    logmel = reference_logmel(y).astype(np.float32)
    features = spectral_features(audio_spectrogram((y, SR)))
    onset = librosa.onset.onset_strength(S=logmel, sr=SR, hop_length=HOP)
    sounding = features.active
    np.testing.assert_allclose(features.onset[sounding], onset[sounding], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(features.mfcc, librosa.feature.mfcc(S=logmel, n_mfcc=13), atol=1e-4)
    cumulative = np.concatenate([np.zeros((128, 1)), np.cumsum(logmel, axis=1, dtype=np.float64)], axis=1)
    index = np.array([0, 1, 77, logmel.shape[1], 3])
    np.testing.assert_allclose(features.band_sums(index), cumulative[:, index], rtol=1e-12)
    features.close()


def test_decoding_a_long_file_holds_a_block_not_the_piece(tmp_path):
    """20 minutes of audio decode into their spectrogram without ever holding the 106 MB of samples (frames
    straight to disk here; by default the first 12.7 minutes' frames, 32 MB, wait in memory)."""
    path = tmp_path / "long.flac"
    minute = music_like(60.0)
    with sf.SoundFile(path, "w", SR, 1, subtype="PCM_16") as f:
        for _ in range(20):
            f.write(minute)
    tracemalloc.start()
    try:
        spec = audio_spectrogram(path, spill_dir=tmp_path, spill_after=0)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    samples_bytes = 20 * 60 * SR * 4
    assert spec.num_samples == 20 * 60 * SR and spec.frames.on_disk
    assert peak < samples_bytes / 5, f"peak {peak / 2**20:.0f} MiB while decoding"
    spec.close()
