"""Shared test fixtures. Reference data lives in ../shared beside the repository and is never copied in."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
REFERENCE = SHARED / "reference"
FIXTURES = REFERENCE / "fixtures"
CHECKPOINTS = REFERENCE / "checkpoints"
CORPUS = SHARED / "corpus"
OFFICIAL_GENERATOR = CHECKPOINTS / "M2SGAN_official_pretrained.pt"
OFFICIAL_M2SNET = CHECKPOINTS / "M2SNet_official_pretrained.pt"
OFFICIAL_M2SNET_TEST = CHECKPOINTS / "M2SNet_test_official_pretrained.pt"

requires_shared = pytest.mark.skipif(
    not (FIXTURES.is_dir() and CHECKPOINTS.is_dir()),
    reason="needs ../shared/reference (official weights and fixtures), which is not beside this checkout",
)


@pytest.fixture(scope="session")
def official_generator():
    if not OFFICIAL_GENERATOR.is_file():
        pytest.skip("needs ../shared/reference/checkpoints/M2SGAN_official_pretrained.pt")
    from vconductor.models import load_generator

    return load_generator(OFFICIAL_GENERATOR)


def randomized(model: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """A model with random weights and random (plausible) batch-norm statistics, in eval mode.

    Default-initialised BN (mean 0, var 1) hides mistakes in statistics handling; random ones do not.
    """
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, buf in model.named_buffers():
            if name.endswith("running_mean"):
                buf.copy_(torch.randn(buf.shape, generator=gen) * 0.1)
            elif name.endswith("running_var"):
                buf.copy_(torch.rand(buf.shape, generator=gen) + 0.5)
        for p in model.parameters():
            p.add_(torch.randn(p.shape, generator=gen) * 0.02)
    return model.eval()


@pytest.fixture(scope="session")
def random_generator_file(tmp_path_factory):
    """A vconductor-format generator checkpoint with random weights (no reference data needed)."""
    from vconductor.models import Generator, save_checkpoint

    path = tmp_path_factory.mktemp("ckpt") / "random_generator.pt"
    save_checkpoint(randomized(Generator(), seed=1), path, "generator")
    return path


def write_music(path, seconds: float, sample_rate: int = 22050, channels: int = 1, seed: int = 0):
    """A short music-like signal (a chord progression with a pulse) written with soundfile."""
    import soundfile as sf

    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    beat = 0.5
    pulse = np.exp(-((t % beat) / 0.05))
    freqs = 220 * 2 ** (np.array([0, 4, 7]) / 12) * 2 ** (np.floor(t / 2)[:, None] % 3 / 12)
    tone = np.sin(2 * np.pi * np.cumsum(freqs, axis=0) / sample_rate).sum(1) / 3
    y = (0.3 * tone * (0.4 + 0.6 * pulse) + 0.01 * rng.standard_normal(len(t))).astype(np.float32)
    data = np.stack([y * (1 - 0.2 * c) for c in range(channels)], axis=1) if channels > 1 else y
    sf.write(str(path), data, sample_rate)
    return path


def analyze_cli(audio: Path, score: Path, out: Path, *extra) -> subprocess.CompletedProcess:
    """`vconductor analyze AUDIO --score SCORE -o OUT [extra]` in a real process, from the repository root."""
    command = [
        sys.executable,
        "-m",
        "vconductor",
        "analyze",
        str(audio),
        "--score",
        str(score),
        "-o",
        str(out),
    ]
    return subprocess.run([*command, *extra], capture_output=True, text=True, cwd=REPO, timeout=300)


def analyzed_take(take, score: Path, folder: Path, *extra) -> dict:
    """A score render (`take`: samples at 22050 Hz) written as WAV and analysed with `--score` through the CLI:
    its beats document (the run must succeed)."""
    import soundfile as sf

    audio, out = folder / "take.wav", folder / "beats.json"
    sf.write(str(audio), take.samples, 22050)
    done = analyze_cli(audio, score, out, *extra)
    assert done.returncode == 0, done.stderr
    return json.loads(out.read_text())


def take_f_measures(doc: dict, take) -> tuple[float, float]:
    """Beat F and downbeat F (+-70 ms) of a beats document against a render's true beats."""
    from vconductor.metrics.beats import beat_f_measure

    beat_f = beat_f_measure(np.array(doc["beats_s"]), take.beats_s, 0.07)[0]
    return beat_f, beat_f_measure(np.array(doc["downbeats_s"]), take.downbeats_s, 0.07)[0]
