"""Seamless generation: equal to one full-length pass, any length, deterministic, no seams, no zero tail."""

import copy

import numpy as np
import pytest
import soundfile as sf
import torch

from conftest import CORPUS, FIXTURES, randomized, requires_shared, write_music
from conftest import OFFICIAL_GENERATOR as OFFICIAL_GENERATOR_PATH
from vconductor import pipeline
from vconductor.audio import load_audio, mel_features
from vconductor.generation import (
    GenerationCancelled,
    GenerationConfig,
    MotionGenerator,
    sample_noise,
)
from vconductor.models import Generator, resolve_device
from vconductor.pipeline import motion_frames


@pytest.fixture(scope="module")
def random_generator():
    return randomized(Generator(), seed=2)


def small_windows(fused: bool) -> GenerationConfig:
    # tiny windows so that even short pieces cross many window boundaries
    return GenerationConfig(
        music_window_s=3, decoder_window_s=12, decoder_context_s=9, fused_cpu_encoder=fused
    )


@pytest.mark.parametrize("fused", [False, True])
@pytest.mark.parametrize("num_frames", [15, 16, 31, 128, 129, 700, 1801])
def test_windowed_generation_equals_one_full_pass(random_generator, fused, num_frames):
    mg = MotionGenerator(random_generator, "cpu", small_windows(fused))
    mel = np.random.default_rng(num_frames).random((3 * num_frames - 2, 128), dtype=np.float32)
    got = mg(mel, num_frames, seed=11)
    expected = mg.full_pass(mel, num_frames, seed=11)
    assert got.shape == (num_frames, 13, 2)
    # the eager path is the same arithmetic; the fused oneDNN encoder rounds differently (~1e-6)
    assert np.abs(got - expected).max() <= (1e-5 if fused else 1e-6)


def test_seed_determinism(random_generator):
    mg = MotionGenerator(random_generator, "cpu")
    mel = np.random.default_rng(0).random((900, 128), dtype=np.float32)
    a, b, c = mg(mel, 300, seed=1), mg(mel, 300, seed=1), mg(mel, 300, seed=2)
    assert np.array_equal(a, b)
    assert np.abs(a - c).max() > 1e-6  # the noise only nudges the motion, as in the official model
    assert torch.equal(sample_noise(7, 3), sample_noise(7, 3))


def test_progress_and_cancel(random_generator):
    mg = MotionGenerator(random_generator, "cpu", small_windows(False))
    mel = np.random.default_rng(0).random((2700, 128), dtype=np.float32)
    seen = []
    mg(mel, 900, 0, progress=lambda f, m: seen.append(f))
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0) and len(seen) > 5
    calls = []
    with pytest.raises(GenerationCancelled):
        mg(mel, 900, 0, should_cancel=lambda: calls.append(1) or len(calls) > 2)


def test_config_refuses_a_context_shorter_than_the_receptive_field():
    with pytest.raises(ValueError, match="radius"):
        GenerationConfig(decoder_context_s=8)


def test_cuda_request_without_a_gpu_is_a_clear_error():
    if torch.cuda.is_available():
        pytest.skip("a GPU is present")
    with pytest.raises(RuntimeError, match="no CUDA device"):
        resolve_device("cuda")
    assert resolve_device("auto").type == "cpu"


@pytest.mark.parametrize("seconds", [0.5, 1.0, 1.01, 4.99, 5.0, 61.7])
def test_frame_count_is_ceil_of_duration_times_30(tmp_path, random_generator, seconds):
    path = write_music(tmp_path / "m.wav", seconds)
    n = len(sf.read(path)[0])
    motion = pipeline.generate(
        path, pipeline.LearnedConductor(MotionGenerator(random_generator, "cpu"), "random")
    )
    assert motion.num_frames == motion_frames(n, 22050) == int(np.ceil(n * 30 / 22050))
    assert np.isfinite(motion.keypoints).all()
    assert (np.abs(motion.keypoints).sum(axis=(1, 2)) > 0).all()


@pytest.mark.slow
def test_one_hour_piece(random_generator):
    rate = 8000  # a cheap, low-rate source also exercises resampling
    seconds = 3600.4
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * np.sin(2 * np.pi * 220 * t) * (0.5 + 0.5 * np.sin(2 * np.pi * t))).astype(np.float32)
    audio = load_audio((samples, rate))
    motion = pipeline.generate(
        audio, pipeline.LearnedConductor(MotionGenerator(random_generator, "cpu"), "random")
    )
    assert motion.num_frames == int(np.ceil(len(audio.samples) * 30 / 22050)) == 108012
    assert np.isfinite(motion.keypoints).all()
    assert (np.abs(motion.keypoints).sum(axis=(1, 2)) > 0).all()


# --- with the official weights on real music ----------------------------------------------------------------


def frame_steps(keypoints: np.ndarray) -> np.ndarray:
    """Frame-to-frame motion: L2 norm over all 26 coordinates of x[t] - x[t-1], for t >= 1."""
    return np.linalg.norm(np.diff(keypoints.reshape(len(keypoints), -1), axis=0), axis=1)


def minute_jumps(keypoints: np.ndarray) -> np.ndarray:
    steps = frame_steps(keypoints)
    boundaries = np.arange(1800, len(keypoints), 1800)
    return steps[boundaries - 1]  # the step from frame b-1 to frame b


def official_chunked(generator, mel: np.ndarray, seed: int) -> np.ndarray:
    """What the official script does: independent 60 s chunks, zeros after the last whole second."""
    out = np.zeros((len(mel) // 3 + 1, 13, 2), np.float32)
    gen = torch.Generator().manual_seed(seed)
    for k in range(len(mel) // 5400 + 1):
        chunk = mel[k * 5400 : (k + 1) * 5400]
        chunk = chunk[: len(chunk) - len(chunk) % 90]
        if len(chunk) < 450:
            continue
        z = torch.randn(1, len(chunk) // 90, 8, generator=gen)
        with torch.inference_mode():
            out[k * 1800 : k * 1800 + len(chunk) // 3] = generator(torch.from_numpy(chunk)[None], z)[
                0
            ].numpy()
    return out


@pytest.fixture(scope="module")
def ten_minute_piece(tmp_path_factory):
    """10 min 0.37 s of real (rendered) music: the corpus pieces played one after another, repeated."""
    pieces = sorted(CORPUS.glob("*.flac"))
    if not pieces:
        pytest.skip("needs ../shared/corpus")
    audio = [sf.read(p, dtype="float32")[0] for p in pieces]
    n = int(round(600.37 * 22050))
    y = np.concatenate(audio * (n // sum(map(len, audio)) + 1))[:n]
    path = tmp_path_factory.mktemp("long") / "ten_minutes.flac"
    sf.write(path, y, 22050)
    return path


@requires_shared
def test_ten_minute_piece_has_no_seams_and_no_zero_tail(official_generator, ten_minute_piece):
    mg = MotionGenerator(official_generator, "cpu")
    motion = pipeline.generate(ten_minute_piece, pipeline.LearnedConductor(mg, "official"), seed=0)
    kp = motion.keypoints
    assert motion.num_frames == int(np.ceil(600.37 * 30)) == 18012
    assert np.isfinite(kp).all()
    assert (np.abs(kp).sum(axis=(1, 2)) > 0).all(), "no frame may be zero-filled"
    limit = 1.5 * np.percentile(frame_steps(kp), 99.5)
    jumps = minute_jumps(kp)
    assert len(jumps) == 10 and (jumps <= limit).all(), f"minute-boundary jumps {jumps} exceed {limit}"

    # The same check fails on the official chunking (so it can fail): seams and a zero tail.
    official = official_chunked(official_generator, mel_features(ten_minute_piece), seed=0)
    assert (minute_jumps(official[:-12]) > limit).any()
    assert (np.abs(official[-12:]).sum(axis=(1, 2)) == 0).all()


@requires_shared
def test_official_whole_track_run_is_reproduced_chunk_by_chunk(official_generator):
    d = np.load(FIXTURES / "synth_3tempo_full_motion.npz")
    for k in range(3):
        z = torch.from_numpy(d[f"noise_chunk{k}"])
        mel = torch.from_numpy(d["mel"][k * 5400 : k * 5400 + 90 * z.shape[1]])[None]
        with torch.inference_mode():
            ours = official_generator(mel, z)[0].numpy()
        assert np.abs(ours - d["motion"][k * 1800 : k * 1800 + len(ours)]).max() <= 1e-4


@requires_shared
@pytest.mark.parametrize("piece", ["bach_bwv66.6", "beethoven_opus18no1_movement1", "mozart_k458_movement1"])
def test_official_corpus_runs_are_reproduced_from_our_features(official_generator, piece):
    d = np.load(CORPUS / f"{piece}.official.npz")
    mel = mel_features(CORPUS / f"{piece}.flac")  # our features, not the stored ones
    chunks = sorted(k for k in d.files if k.startswith("noise_chunk"))
    for k, key in enumerate(chunks):
        z = torch.from_numpy(d[key])
        with torch.inference_mode():
            ours = official_generator(torch.from_numpy(mel[k * 5400 : k * 5400 + 90 * z.shape[1]])[None], z)
        ref = d["motion"][k * 1800 : k * 1800 + ours.shape[1]]
        assert np.abs(ours[0].numpy() - ref).max() <= 1e-4


# --- CUDA (runs where a GPU is present; CI has none) ------------------------------------------------------

requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")


@requires_cuda
def test_cuda_windowed_generation_equals_the_cpu_full_pass(random_generator):
    mel = np.random.default_rng(1).random((3 * 2500, 128), dtype=np.float32)
    config = GenerationConfig(music_window_s=20, decoder_window_s=30)
    on_gpu = MotionGenerator(copy.deepcopy(random_generator), "cuda", config)(mel, 2500, seed=4)
    on_cpu = MotionGenerator(random_generator, "cpu", GenerationConfig(fused_cpu_encoder=False)).full_pass(
        mel, 2500, 4
    )
    assert np.abs(on_gpu - on_cpu).max() <= 1e-4  # cuDNN and CPU kernels round differently


@requires_cuda
@requires_shared
def test_cuda_generator_matches_official_outputs():
    from vconductor.models import load_generator

    g = MotionGenerator(load_generator(OFFICIAL_GENERATOR_PATH), "cuda").generator  # fp32, no TF32
    for case in ("generator_case1", "generator_case2"):
        d = np.load(FIXTURES / f"{case}.npz")
        with torch.inference_mode():
            out = g(torch.from_numpy(d["mel"]).cuda(), torch.from_numpy(d["noise"]).cuda()).cpu().numpy()
        assert np.abs(out - d["motion"]).max() <= 1e-4
