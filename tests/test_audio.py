"""Audio decoding and the official mel features (docs/official-model.md#audio-features).

Parity with the official features is checked on ../shared (skips cleanly without it); everything else checks
`vconductor.audio` against librosa itself on real files written into tmp_path (soundfile, ffmpeg), no mocks.
"""

import math
import os
import pickle
import subprocess
import tracemalloc
import warnings

import librosa
import numpy as np
import pytest
import scipy.signal
import soundfile as sf

from conftest import CORPUS, FIXTURES, requires_shared
from vconductor.audio import (
    Audio,
    AudioError,
    AudioTooLong,
    filterbank,
    load_audio,
    mel_features,
    mel_frames_for,
    mel_power,
    resize_time_linear,
)

SR = 22050
PARITY_TOL = 2e-3
MP3_FIXTURE = FIXTURES / "synth_3tempo.mp3"
FIRST30_FIXTURE = FIXTURES / "mel_synth_first30s.npz"
FULL_FIXTURE = FIXTURES / "synth_3tempo_full_motion.npz"
CORPUS_FLACS = sorted(CORPUS.glob("*.flac")) if CORPUS.is_dir() else []


def ffmpeg_exe() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def ffmpeg_encode(src, dst, *codec_args) -> None:
    cmd = [ffmpeg_exe(), "-nostdin", "-y", "-v", "error", "-i", str(src), *codec_args, str(dst)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr


def chirp_noise(seconds: float, sr: int, channels: int = 1, seed: int = 0, amp: float = 0.5) -> np.ndarray:
    """A log chirp 50 Hz -> 8 kHz plus white noise; channels differ (delay, gain, own noise)."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    chirp = scipy.signal.chirp(t, 50, seconds, 8000, method="logarithmic")
    chans = [
        amp * (1 - 0.3 * c) * np.roll(chirp, 97 * c) + 0.1 * amp * rng.standard_normal(n)
        for c in range(channels)
    ]
    x = np.stack(chans, axis=1) if channels > 1 else chans[0]
    return x.astype(np.float32)


def music_signal(seconds: float, sr: int, seed: int = 0) -> np.ndarray:
    """Stereo amplitude-modulated partials plus a little noise: something lossy codecs treat like music."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    partials = ((220, 0.5), (330, 1.3), (523, 2.1), (1200, 0.7), (3100, 3.3))
    x = sum(0.15 * np.sin(2 * np.pi * f * t) * (0.5 + 0.5 * np.sin(2 * np.pi * r * t)) for f, r in partials)
    x = x + 0.02 * rng.standard_normal(len(t))
    return np.stack([x, x[::-1]], axis=1).astype(np.float32)


# ---- an independent float64 implementation of the official pipeline, on librosa itself ---------------------


def resize_half_pixel_f64(x: np.ndarray, width: int) -> np.ndarray:
    """cv2.resize INTER_LINEAR along the last axis, in float64 (matches cv2 to ~4e-8)."""
    w_in = x.shape[-1]
    src = np.clip((np.arange(width) + 0.5) * (w_in / width) - 0.5, 0, w_in - 1)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, w_in - 1)
    frac = src - i0
    x = x.astype(np.float64)
    return x[..., i0] * (1 - frac) + x[..., i1] * frac


def reference_features(y: np.ndarray, num_frames: int | None = None) -> np.ndarray:
    """utils/music_utils.extract_mel_feature after librosa.load, written out with librosa's own functions."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # n_fft larger than very short inputs
        mel = librosa.feature.melspectrogram(y=y, sr=SR, n_mels=128, hop_length=256)
    norm = np.abs(librosa.power_to_db(mel, ref=np.max) + 80) / 80
    norm = np.flip(norm, axis=0)
    width = int(len(y) / SR * 90) if num_frames is None else num_frames
    return resize_half_pixel_f64(norm, width).T


def max_err(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.abs(np.asarray(a, np.float64) - np.asarray(b, np.float64)).max())


def mel_band_of(freq_hz: float) -> int:
    """Row of the (flipped) feature matrix whose mel filter is centred nearest `freq_hz`."""
    centres = librosa.mel_frequencies(n_mels=130, fmin=0.0, fmax=SR / 2)[1:-1]
    return 127 - int(np.argmin(np.abs(centres - freq_hz)))


def assert_valid_features(m: np.ndarray, frames: int) -> None:
    assert m.shape == (frames, 128)
    assert m.dtype == np.float32
    assert np.isfinite(m).all()
    assert m.min() >= 0.0 and m.max() <= 1.0


# ---- 1. parity with the official features (../shared) ------------------------------------------------------


@pytest.mark.shared
@requires_shared
def test_parity_first30s_waveform_gives_official_model_input(record_property):
    d = np.load(FIRST30_FIXTURE)
    m = mel_features((d["waveform_22050_first30s"], SR))
    assert m.shape == d["model_input"].shape == (2700, 128)
    err = max_err(m, d["model_input"])
    record_property("max_abs_err", err)
    print(f"first30s model_input max abs err {err:.3g}")
    assert err <= PARITY_TOL


@pytest.mark.shared
@requires_shared
def test_parity_time_resize_matches_cv2_on_fixture():
    d = np.load(FIRST30_FIXTURE)
    out = resize_time_linear(d["pre_resize_norm_mel"], 2700).T
    assert max_err(out, d["model_input"]) <= 1e-6


@pytest.mark.shared
@requires_shared
def test_parity_mp3_decoding_equals_librosa_load():
    d = np.load(FIRST30_FIXTURE)
    audio = load_audio(MP3_FIXTURE)
    assert audio.source_rate == int(d["native_sr"]) == 44100
    assert audio.channels == 2
    assert audio.samples.dtype == np.float32
    assert len(audio.samples) == math.ceil(int(d["n_native_samples"]) * SR / 44100)
    ref = d["waveform_22050_first30s"]
    err = max_err(audio.samples[: len(ref)], ref)
    print(f"mp3 decode first 30 s max abs err {err:.3g}")
    assert err <= 1e-6


@pytest.mark.shared
@requires_shared
def test_parity_full_mp3_gives_official_full_track_input(record_property):
    official = np.load(FULL_FIXTURE)["mel"]
    m = mel_features(MP3_FIXTURE)
    assert m.shape == official.shape == (13500, 128)
    err = max_err(m, official)
    record_property("max_abs_err", err)
    print(f"full-track mel max abs err {err:.3g}")
    assert err <= PARITY_TOL
    first = np.load(FIRST30_FIXTURE)["fulltrack_model_input_first2700"]
    assert max_err(m[:2700], first) <= PARITY_TOL


@pytest.mark.shared
@requires_shared
@pytest.mark.parametrize(
    "flac",
    CORPUS_FLACS or [pytest.param(None, marks=pytest.mark.skip(reason=f"no corpus in {CORPUS}"))],
    ids=lambda p: p.stem if p else "none",
)
def test_parity_corpus(flac, record_property):
    official = np.load(flac.with_name(flac.stem + ".official.npz"))["mel"]
    m = mel_features(flac)
    assert m.shape == official.shape
    err = max_err(m, official)
    record_property("max_abs_err", err)
    print(f"{flac.name} max abs err {err:.3g}")
    assert err <= PARITY_TOL


# ---- 2. independent check against librosa ------------------------------------------------------------------

PIPELINE_CASES = {
    "mono-22050": dict(sr=22050, channels=1, amp=0.5),
    "stereo-44100": dict(sr=44100, channels=2, amp=0.5),
    "quiet-mono-16000": dict(sr=16000, channels=1, amp=1e-3),
    "loud-clipped-48000": dict(sr=48000, channels=2, amp=1.0),
}


@pytest.fixture(scope="module")
def pipeline_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("pipeline")
    files = {}
    for i, (name, p) in enumerate(PIPELINE_CASES.items()):
        x = np.clip(chirp_noise(7.3, p["sr"], p["channels"], seed=i, amp=p["amp"]), -1, 1)
        files[name] = folder / f"{name}.wav"
        sf.write(files[name], x, p["sr"], subtype="FLOAT")
    return files


@pytest.mark.parametrize("case", list(PIPELINE_CASES))
def test_features_match_librosa_reference_pipeline(case, pipeline_files):
    path = pipeline_files[case]
    y, sr = librosa.load(path)
    assert sr == SR
    m = mel_features(path)
    frames = int(len(y) / SR * 90)
    assert frames == mel_frames_for(len(y)) == int(7.3 * 90)
    assert_valid_features(m, frames)
    assert max_err(m, reference_features(y)) <= 1e-4
    # the same through an Audio and through a (samples, rate) tuple
    assert max_err(mel_features(load_audio(path)), m) == 0
    assert max_err(mel_features((y, SR)), m) <= 1e-6


@pytest.mark.parametrize("num_frames", [1, 2, 500, 657, 658, 2000])
def test_num_frames_forces_the_length(num_frames, pipeline_files):
    y, _ = librosa.load(pipeline_files["stereo-44100"])
    m = mel_features(pipeline_files["stereo-44100"], num_frames=num_frames)
    assert_valid_features(m, num_frames)
    assert max_err(m, reference_features(y, num_frames)) <= 1e-4


@pytest.mark.parametrize("num_frames", [0, -3])
def test_num_frames_below_one_is_an_audio_error(num_frames, pipeline_files):
    with pytest.raises(AudioError):
        mel_features(pipeline_files["mono-22050"], num_frames=num_frames)


@pytest.mark.parametrize("n", [1, 255, 256, 257, 2047, 2048, 2049, 100_000, 4096 * 256 + 5])
def test_mel_power_matches_librosa_melspectrogram(n):
    y = np.random.default_rng(n).standard_normal(n).astype(np.float32)
    ours = mel_power(y)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        ref = librosa.feature.melspectrogram(y=y, sr=SR, n_mels=128, hop_length=256)
    assert ours.shape == ref.shape == (128, 1 + n // 256)
    assert ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=1e-5, atol=1e-5 * float(ref.max()))


def test_stored_filterbank_is_librosas():
    basis, window = filterbank()
    np.testing.assert_array_equal(basis.toarray(), librosa.filters.mel(sr=SR, n_fft=2048, n_mels=128))
    np.testing.assert_array_equal(
        window, librosa.filters.get_window("hann", 2048, fftbins=True).astype(np.float32)
    )


@pytest.mark.parametrize("n", [0, 1, 244, 245, 246, 22050, 22051, 661500, 3307500, 13_230_000])
def test_mel_frames_for_is_the_official_floor(n):
    assert mel_frames_for(n) == int(n / 22050 * 90)


# ---- 3. sample rates ---------------------------------------------------------------------------------------

RATES = [8000, 11025, 16000, 22050, 44100, 48000, 96000]


def tone(sr: int, seconds: float = 3.1, freq: float = 440.0) -> np.ndarray:
    n = int(seconds * sr) + 3  # odd lengths; 3.1 s at 96 kHz spans two read blocks
    return (0.4 * np.sin(2 * np.pi * freq * np.arange(n) / sr)).astype(np.float32)


@pytest.mark.parametrize("ext", ["wav", "flac"])
@pytest.mark.parametrize("sr", RATES)
def test_sample_rate_file_is_resampled_like_librosa(sr, ext, tmp_path):
    x = tone(sr)
    path = tmp_path / f"tone{sr}.{ext}"
    sf.write(path, x, sr, subtype="FLOAT" if ext == "wav" else "PCM_24")
    audio = load_audio(path)
    assert audio.source_rate == sr and audio.channels == 1 and audio.sample_rate == SR
    y = audio.samples
    assert y.dtype == np.float32 and y.ndim == 1
    assert abs(len(y) - math.ceil(len(x) * SR / sr)) <= 1
    ref, _ = librosa.load(path)
    assert len(y) == len(ref)
    assert max_err(y, ref) <= 1e-5
    # the tone stays at 440 Hz: FFT peak (0.3 Hz bins after zero padding) and the loudest mel band
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y)), 4 * SR))
    assert abs(np.argmax(spectrum) * SR / (4 * SR) - 440) < 1.0
    m = mel_features(audio)
    assert abs(int(np.argmax(m.mean(axis=0))) - mel_band_of(440)) <= 1


@pytest.mark.parametrize("sr", RATES)
def test_sample_rate_tuple_is_resampled_like_librosa(sr):
    x = chirp_noise(3.1, sr, seed=sr)
    y = load_audio((x, sr)).samples
    ref = librosa.resample(x, orig_sr=sr, target_sr=SR)  # librosa's default res_type, soxr_hq
    assert len(y) == len(ref)
    assert max_err(y, ref) <= 1e-5


# ---- 4. channels -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sr", [22050, 44100])
@pytest.mark.parametrize("channels", [2, 6])
def test_multichannel_file_is_downmixed_to_the_channel_mean(channels, sr, tmp_path):
    x = chirp_noise(2.3, sr, channels, seed=channels)
    path = tmp_path / f"ch{channels}.wav"
    sf.write(path, x, sr, subtype="FLOAT")
    audio = load_audio(path)
    assert audio.channels == channels and audio.source_rate == sr
    mean = load_audio((x.astype(np.float64).mean(axis=1), sr)).samples
    assert max_err(audio.samples, mean) <= 1e-6
    ref, _ = librosa.load(path)
    assert max_err(audio.samples, ref) <= 1e-5


@pytest.mark.parametrize("sr", [22050, 48000])
@pytest.mark.parametrize("layout", ["frames-channels", "channels-frames", "mono"])
@pytest.mark.parametrize("channels", [2, 6])
def test_int16_tuple_layouts_downmix_to_the_channel_mean(layout, channels, sr):
    pcm = (chirp_noise(1.7, sr, channels, seed=3) * 32767).astype(np.int16)
    if layout == "mono":
        pcm = pcm[:, 0]
    arr = pcm.T if layout == "channels-frames" else pcm
    audio = load_audio((arr, sr))
    explicit = pcm.astype(np.float64) / 32768
    explicit = explicit.mean(axis=1) if explicit.ndim == 2 else explicit
    expected = load_audio((explicit.astype(np.float32), sr)).samples
    assert audio.channels == (1 if layout == "mono" else channels)
    assert audio.source_rate == sr
    assert max_err(audio.samples, expected) <= 1e-6
    if sr == SR:
        assert max_err(audio.samples, explicit) <= 1e-6


def test_int16_tuple_matches_the_same_pcm_read_from_a_wav(tmp_path):
    pcm = (chirp_noise(1.3, 44100, 2, seed=5) * 32767).astype(np.int16)
    path = tmp_path / "pcm16.wav"
    sf.write(path, pcm, 44100, subtype="PCM_16")
    assert max_err(load_audio((pcm, 44100)).samples, load_audio(path).samples) <= 1e-6


# ---- 5. formats --------------------------------------------------------------------------------------------

FORMAT_SECONDS = 6.0
FORMAT_SR = 44100


@pytest.fixture(scope="module")
def format_source(tmp_path_factory):
    folder = tmp_path_factory.mktemp("formats")
    x = music_signal(FORMAT_SECONDS, FORMAT_SR)
    base = folder / "base_float.wav"
    sf.write(base, x, FORMAT_SR, subtype="FLOAT")
    return folder, x, base, mel_features(base)


LOSSLESS = {
    # name: (file name, soundfile format, subtype, max abs feature error vs the float WAV)
    "wav-pcm16": ("a.wav", "WAV", "PCM_16", 1e-2),
    "wav-pcm24": ("b.wav", "WAV", "PCM_24", 1e-4),
    "wav-pcm32": ("c.wav", "WAV", "PCM_32", 1e-5),
    "wav-float": ("d.wav", "WAV", "FLOAT", 1e-6),
    "wav-double": ("e.wav", "WAV", "DOUBLE", 1e-6),
    "flac-16": ("f.flac", "FLAC", "PCM_16", 1e-2),
    "flac-24": ("g.flac", "FLAC", "PCM_24", 1e-4),
}


@pytest.mark.parametrize("fmt", list(LOSSLESS))
def test_lossless_formats_decode_to_the_same_features(fmt, format_source):
    folder, x, _, base = format_source
    name, major, subtype, tol = LOSSLESS[fmt]
    path = folder / name
    sf.write(path, x, FORMAT_SR, format=major, subtype=subtype)
    audio = load_audio(path)
    assert audio.source_rate == FORMAT_SR and audio.channels == 2
    m = mel_features(audio)
    assert_valid_features(m, len(base))
    assert max_err(m, base) <= tol


def _sf_write(major, subtype):
    def write(src, x, dst):
        if major not in sf.available_formats():
            pytest.skip(f"this libsndfile cannot write {major}")
        sf.write(dst, x, FORMAT_SR, format=major, subtype=subtype)

    return write


def _ffmpeg_write(*codec_args):
    def write(src, x, dst):
        ffmpeg_encode(src, dst, *codec_args)

    return write


LOSSY = {
    "ogg-vorbis": ("v.ogg", _sf_write("OGG", "VORBIS")),
    "ogg-opus": ("o.opus", _ffmpeg_write("-c:a", "libopus", "-b:a", "128k")),
    "mp3-libsndfile": ("s.mp3", _sf_write("MP3", "MPEG_LAYER_III")),
    "mp3-lame": ("l.mp3", _ffmpeg_write("-c:a", "libmp3lame", "-b:a", "192k")),
    "m4a-aac": ("a.m4a", _ffmpeg_write("-c:a", "aac", "-b:a", "160k")),
}


@pytest.mark.parametrize("fmt", list(LOSSY))
def test_lossy_formats_decode_to_similar_features(fmt, format_source):
    folder, x, src, base = format_source
    name, write = LOSSY[fmt]
    path = folder / name
    write(src, x, path)
    audio = load_audio(path)
    assert audio.channels == 2
    assert audio.source_rate in (FORMAT_SR, 48000)  # opus always decodes at 48 kHz
    m = mel_features(audio)
    assert abs(len(m) - len(base)) <= 3
    assert_valid_features(m, len(m))
    k = min(len(m), len(base))
    corr = np.corrcoef(m[:k].ravel(), base[:k].ravel())[0, 1]
    assert corr > 0.95, f"{fmt}: correlation {corr:.4f}"


# ---- 6. lengths --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("sr", [22050, 44100])
@pytest.mark.parametrize("seconds", [0.05, 1.0, 10.5])
def test_lengths_give_the_official_frame_count(seconds, sr, tmp_path):
    x = chirp_noise(seconds, sr, 2, seed=7)
    path = tmp_path / "len.flac"
    sf.write(path, x, sr)
    audio = load_audio(path)
    n = len(audio.samples)
    assert n == math.ceil(len(x) * SR / sr)
    assert audio.duration_s == pytest.approx(n / SR)
    m = mel_features(audio)
    assert_valid_features(m, int(n / 22050 * 90))
    assert max_err(m, reference_features(audio.samples)) <= 1e-4


@pytest.mark.parametrize("n", [1, 10, 244])
def test_too_short_for_one_frame_is_an_audio_error(n):
    y = np.full(n, 0.1, np.float32)
    assert len(load_audio((y, SR)).samples) == n  # decoding works ...
    with pytest.raises(AudioError, match="short"):  # ... but int(duration * 90) == 0 frames
        mel_features((y, SR))
    assert mel_features((y, SR), num_frames=3).shape == (3, 128)


def test_ten_minutes_are_fast_and_bounded_in_memory(tmp_path):
    seconds = 600
    # harmonics of SR/256 Hz repeat every hop, so every STFT frame (away from the padded ends) is the same
    t = np.arange(256) / SR
    period = sum(0.2 * np.sin(2 * np.pi * k * SR / 256 * t) for k in (2, 5, 13, 40))
    path = tmp_path / "ten_minutes.wav"
    sf.write(path, np.tile(period, seconds * SR // 256 + 1)[: seconds * SR], SR, subtype="PCM_16")
    tracemalloc.start()
    try:
        m = mel_features(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert_valid_features(m, seconds * 90)
    assert np.abs(m[20:-20] - m[20]).max() < 1e-4
    harmonic_bands = [mel_band_of(k * SR / 256) for k in (2, 5, 13, 40)]
    assert m[20, harmonic_bands].min() > 0.7 and np.median(m[20]) < 0.1
    samples_bytes = seconds * SR * 4
    print(f"10 min: traced peak {peak / 1e6:.0f} MB")
    assert peak < 6 * samples_bytes, f"peak {peak / 1e6:.0f} MB for {samples_bytes / 1e6:.0f} MB of samples"


# ---- 7. silence --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda p: (np.zeros(SR * 2, np.float32), SR), id="tuple-float"),
        pytest.param(lambda p: (np.zeros((2, 48000 * 2), np.int16), 48000), id="tuple-int16-stereo"),
        pytest.param(
            lambda p: _write(p / "s.wav", np.zeros(44100 * 3, np.float32), 44100, "PCM_16"), id="wav"
        ),
        pytest.param(lambda p: _write(p / "s.flac", np.zeros((16000, 2)), 16000, "PCM_24"), id="flac-stereo"),
    ],
)
def test_silence_gives_all_ones(make, tmp_path):
    source = make(tmp_path)
    audio = load_audio(source)
    assert audio.peak == 0.0
    m = mel_features(audio)
    assert m.shape == (mel_frames_for(len(audio.samples)), 128)
    # dB relative to the max of an all-zero input is 0, so every value is 1 (to float32 rounding: the official
    # code gives 0.9999999 because float32 log10(1e-10) is -10.000001)
    assert np.abs(m - 1.0).max() <= 1e-6
    assert max_err(m, reference_features(audio.samples)) <= 1e-6


def _write(path, x, sr, subtype):
    sf.write(path, x, sr, subtype=subtype)
    return path


# ---- 8. errors ---------------------------------------------------------------------------------------------


def _wav_bytes(tmp_path, fmt="WAV", subtype="PCM_16", seconds=1.0) -> bytes:
    path = tmp_path / f"_good.{fmt.lower()}"
    sf.write(path, chirp_noise(seconds, SR), SR, format=fmt, subtype=subtype)
    data = path.read_bytes()
    path.unlink()
    return data


def _file(name, content):
    def make(tmp_path):
        path = tmp_path / name
        path.write_bytes(content(tmp_path) if callable(content) else content)
        return path

    return make


def _folder(tmp_path):
    (tmp_path / "album.wav").mkdir()
    return tmp_path / "album.wav"


def _zero_sample_wav(tmp_path):
    path = tmp_path / "nothing.wav"
    sf.write(path, np.zeros((0, 2), np.float32), SR, subtype="PCM_16")
    return path


def _video_only(tmp_path):
    path = tmp_path / "video.mp4"
    cmd = [
        ffmpeg_exe(),
        "-nostdin",
        "-v",
        "error",
        "-f",
        "lavfi",
        "-i",
        "testsrc=duration=1:size=64x64:rate=10",
        str(path),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)
    return path


def _arr(x, sr=SR):
    return lambda tmp_path: (x, sr)


TONE = tone(SR, 0.5)
FILE_ERRORS = {
    # case: (make source, regex the message must contain besides the file name)
    "missing-file": (lambda p: p / "no_such_song.wav", r"not found|no such|does not exist"),
    "folder": (_folder, r"folder|directory"),
    "empty-file": (_file("empty.wav", b""), r"empty"),
    "text-as-wav": (_file("notes.wav", b"this is a text file, not audio\n" * 40), r"decod|audio|format"),
    "random-bytes-mp3": (_file("noise.mp3", np.random.default_rng(1).bytes(20000)), r"decod|audio|format"),
    "wav-header-cut": (_file("cut_header.wav", lambda p: _wav_bytes(p)[:30]), r"decod|audio|format"),
    "flac-header-cut": (
        _file("cut_header.flac", lambda p: _wav_bytes(p, "FLAC")[:20]),
        r"decod|audio|format",
    ),
    "wav-header-only": (
        _file("header_only.wav", lambda p: _wav_bytes(p)[:44]),
        r"no audio|empty|samples|truncated",
    ),
    "zero-sample-wav": (_zero_sample_wav, r"no audio|empty|samples"),
    "video-without-audio": (_video_only, r"decod|audio"),
}
SAMPLE_ERRORS = {
    "nan-samples": (_arr(np.r_[TONE, np.nan].astype(np.float32)), r"NaN|finite"),
    "inf-samples": (_arr(np.r_[np.inf, TONE].astype(np.float32)), r"finite|inf"),
    "all-nan-stereo": (_arr(np.full((1000, 2), np.nan)), r"NaN|finite"),
    "rate-0": (_arr(TONE, 0), r"sample rate"),
    "rate-negative": (_arr(TONE, -5), r"sample rate"),
    "rate-fractional": (_arr(TONE, 1.5), r"sample rate"),
    "rate-huge": (_arr(TONE, 10**9), r"sample rate"),
    "rate-nan": (_arr(TONE, float("nan")), r"sample rate"),
    "rate-string": (_arr(TONE, "22050"), r"sample rate"),
    "rate-none": (_arr(TONE, None), r"sample rate"),
    "empty-array": (_arr(np.zeros(0, np.float32)), r"empty|shape"),
    "empty-2d-array": (_arr(np.zeros((0, 2), np.float32)), r"empty|shape"),
    "3d-array": (_arr(np.zeros((2, 3, 1000), np.float32)), r"shape|D"),
    "scalar": (_arr(np.float32(0.5)), r"shape|D"),
    "string-array": (_arr(np.array(["a", "b"])), r"dtype"),
    "complex-array": (_arr(np.ones(1000, np.complex64)), r"dtype"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(FILE_ERRORS))
def test_bad_files_raise_audio_error_naming_the_file(case, tmp_path):
    make, problem = FILE_ERRORS[case]
    path = make(tmp_path)
    with pytest.raises(AudioError, match=problem) as info:
        load_audio(path)
    assert path.name in str(info.value)
    with pytest.raises(AudioError):
        mel_features(path)
    with pytest.raises(AudioError):
        mel_features(str(path))


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(SAMPLE_ERRORS))
def test_bad_samples_raise_audio_error(case, tmp_path):
    make, problem = SAMPLE_ERRORS[case]
    source = make(tmp_path)
    with pytest.raises(AudioError, match=problem) as info:
        load_audio(source)
    assert "samples" in str(info.value)
    with pytest.raises(AudioError):
        mel_features(source)


def test_audio_error_is_a_value_error():
    assert issubclass(AudioError, ValueError)


TRUNCATED = {
    "wav-data-cut": ("cut_data.wav", "WAV", "PCM_16"),
    "flac-data-cut": ("cut_data.flac", "FLAC", "PCM_16"),
    "ogg-data-cut": ("cut_data.ogg", "OGG", "VORBIS"),
}


@pytest.mark.timeout(60)
@pytest.mark.parametrize("case", list(TRUNCATED))
def test_truncated_data_never_crashes(case, tmp_path):
    """A file cut mid-data either raises AudioError or decodes to (at most) the audio that is there."""
    name, major, subtype = TRUNCATED[case]
    data = _wav_bytes(tmp_path, major, subtype, seconds=2.0)
    path = tmp_path / name
    path.write_bytes(data[: len(data) // 2])
    try:
        audio = load_audio(path)
    except AudioError as exc:
        assert name in str(exc)
        return
    assert 0 < len(audio.samples) <= 2 * SR
    assert np.isfinite(audio.samples).all()
    assert_valid_features(mel_features(audio), mel_frames_for(len(audio.samples)))


@pytest.mark.parametrize("case", ["wav-data-cut", "flac-data-cut"])
def test_truncated_data_raises_audio_error(case, tmp_path):
    name, major, subtype = TRUNCATED[case]
    data = _wav_bytes(tmp_path, major, subtype, seconds=2.0)
    path = tmp_path / name
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(AudioError, match=name):
        load_audio(path)


def test_relative_path_with_colon_decodes_through_ffmpeg(tmp_path, monkeypatch):
    src = tmp_path / "src.wav"
    sf.write(src, chirp_noise(1.0, 44100), 44100)
    ffmpeg_encode(src, tmp_path / "a:b.m4a", "-c:a", "aac")
    monkeypatch.chdir(tmp_path)
    assert os.path.exists("a:b.m4a")
    audio = load_audio("a:b.m4a")
    assert audio.source_rate == 44100


def test_audio_object_is_used_as_is():
    y = chirp_noise(2.0, SR)
    audio = Audio(y, SR, 1)
    assert audio.sample_rate == SR and audio.duration_s == pytest.approx(2.0)
    assert audio.peak == pytest.approx(float(np.abs(y).max()))
    assert max_err(mel_features(audio), mel_features((y, SR))) == 0


# ---- 9. limits and hostile files (docs/input-limits.md) ------------------------------------------------------


def _pipe_flac(src, dst) -> None:
    """FLAC as ffmpeg writes it to a pipe: STREAMINFO holds no length (libsndfile reports 2**63 - 1 frames)."""
    with open(dst, "wb") as f:
        cmd = [
            ffmpeg_exe(),
            "-nostdin",
            "-v",
            "error",
            "-i",
            str(src),
            "-c:a",
            "flac",
            "-f",
            "flac",
            "pipe:1",
        ]
        subprocess.run(cmd, check=True, stdout=f, timeout=60)


def test_flac_without_a_length_and_gsm_wav_decode_exactly(tmp_path):
    src = tmp_path / "src.wav"
    sf.write(src, chirp_noise(2.0, 44100), 44100, subtype="PCM_16")
    _pipe_flac(src, tmp_path / "streamed.flac")
    assert sf.info(tmp_path / "streamed.flac").frames == 2**63 - 1
    assert np.array_equal(load_audio(tmp_path / "streamed.flac").samples, load_audio(src).samples)
    gsm = tmp_path / "gsm.wav"  # libsndfile cannot seek in GSM 6.10: its reads go block by block
    sf.write(gsm, chirp_noise(2.0, 8000), 8000, subtype="GSM610")
    audio = load_audio(gsm)
    assert audio.source_rate == 8000 and len(audio.samples) == 2 * SR
    ffmpeg_encode(gsm, tmp_path / "gsm_as_float.wav", "-c:a", "pcm_f32le")
    assert np.array_equal(audio.samples, load_audio(tmp_path / "gsm_as_float.wav").samples)


def test_length_limit_from_the_header_and_while_decoding(tmp_path):
    wav = tmp_path / "two.wav"
    sf.write(wav, chirp_noise(2.0, SR), SR)
    _pipe_flac(wav, tmp_path / "two.flac")
    ffmpeg_encode(wav, tmp_path / "two.mka", "-c:a", "flac")
    for path, stopped in ((wav, False), (tmp_path / "two.mka", False), (tmp_path / "two.flac", True)):
        with pytest.raises(AudioTooLong, match=path.name) as info:
            load_audio(path, max_duration_s=1.5)
        assert info.value.stopped == stopped and info.value.limit_s == 1.5, path
        assert stopped or info.value.seconds == pytest.approx(2.0, abs=0.01)
        assert len(load_audio(path, max_duration_s=2.5).samples) == 2 * SR
    with pytest.raises(AudioTooLong, match=r"samples: 2.0 s of audio is over the limit of 1.5 s"):
        load_audio((chirp_noise(2.0, SR), SR), max_duration_s=1.5)
    copy = pickle.loads(pickle.dumps(info.value))  # the CLI decodes in a worker process
    assert str(copy) == str(info.value) and copy.stopped


HUGE_VALUES = {
    "float-wav-1e20": lambda p: _write(p / "huge.wav", chirp_noise(1.0, SR) * 1e20, SR, "FLOAT"),
    "float-wav-3e38": lambda p: _write(p / "max.wav", np.full(SR, 3e38, np.float32), SR, "FLOAT"),
    "double-wav-1e300": lambda p: _write(p / "double.wav", chirp_noise(1.0, SR) * 1e300, SR, "DOUBLE"),
    "float64-samples-1e300": lambda p: (chirp_noise(1.0, SR).astype(np.float64) * 1e300, SR),
    "float32-samples-1e11": lambda p: (np.full(SR, -1e11, np.float32), SR),
}


@pytest.mark.parametrize("case", list(HUGE_VALUES))
def test_absurd_sample_values_are_refused_not_turned_into_nan(case, tmp_path):
    source = HUGE_VALUES[case](tmp_path)
    with pytest.raises(AudioError, match=r"sample values reach .*not audio") as info:
        load_audio(source)
    name = source.name if isinstance(source, os.PathLike) else "samples"
    assert str(info.value).startswith(str(source) if name != "samples" else "samples")
    assert name in str(info.value)


def test_integer_scaled_float_audio_is_accepted_and_gives_the_same_features(tmp_path):
    y = chirp_noise(2.0, SR)
    path = _write(tmp_path / "int_scaled.wav", y * 32768, SR, "FLOAT")
    assert max_err(mel_features(path), mel_features((y, SR))) <= 1e-4
