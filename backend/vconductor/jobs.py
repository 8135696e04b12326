"""One generation job: audio in, a Motion out. Shared by the CLI and (later) the HTTP service.

Reading the audio needs no torch, so callers can decode and compute features while the model loads
(``prepare_input`` then ``run``); ``generate`` does both in turn.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter

import numpy as np

from .audio import SILENCE_PEAK, Audio, AudioError, load_audio, mel_features
from .motion_io import Motion
from .skeleton import FPS

MIN_DURATION_S = 0.5


@dataclass
class JobReport:
    """Wall-clock seconds per stage of a job, for --timings and benchmarks."""

    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class PreparedInput:
    """What generation needs from the audio (small enough to pass between processes)."""

    name: str
    duration_s: float
    mel: np.ndarray  # (T, 128) official features at 90 Hz
    num_frames: int  # ceil(duration * 30)


def motion_frames(num_samples: int, sample_rate: int) -> int:
    """ceil(duration * 30) in exact integer arithmetic."""
    return -(-num_samples * FPS // sample_rate)


def check_usable(audio: Audio) -> None:
    """Reject audio that cannot give a meaningful performance, with a reason."""
    if audio.duration_s < MIN_DURATION_S:
        raise AudioError(
            f"{audio.name}: too short ({audio.duration_s:.2f} s); at least {MIN_DURATION_S} s of music is needed"
        )
    if audio.peak < SILENCE_PEAK:
        raise AudioError(f"{audio.name}: the audio is silent (peak {audio.peak:.1e}, below -80 dBFS)")


def load_model(name_or_path: str, device: str = "auto", config=None):
    """(MotionGenerator with its fast paths built, model id) for a registered name or a checkpoint path."""
    from .generation import MotionGenerator
    from .models import load_generator
    from .registry import resolve_model

    entry = resolve_model(name_or_path, kind="generator")
    generator = MotionGenerator(load_generator(entry.path), device, config)
    generator.music_encoder()  # build the fused encoder now, not inside the first job
    return generator, entry.id


def prepare_input(source, report: JobReport | None = None) -> PreparedInput:
    """Decode, check and compute features (no torch involved)."""
    report = report if report is not None else JobReport()
    t0 = perf_counter()
    audio = source if isinstance(source, Audio) else load_audio(source)
    check_usable(audio)
    report.seconds["decode"] = perf_counter() - t0
    t0 = perf_counter()
    mel = mel_features(audio)
    report.seconds["features"] = perf_counter() - t0
    name = Path(audio.name).name if audio.name != "<samples>" else ""
    return PreparedInput(name, audio.duration_s, mel, motion_frames(len(audio.samples), audio.sample_rate))


def run(
    prepared: PreparedInput,
    generator,
    model_id: str,
    seed: int = 0,
    progress: Callable[[float, str], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    report: JobReport | None = None,
) -> Motion:
    """Generate the motion for prepared input with a MotionGenerator."""
    report = report if report is not None else JobReport()
    keypoints = generator(prepared.mel, prepared.num_frames, seed, progress, should_cancel, report.seconds)
    return Motion(keypoints, duration_s=prepared.duration_s, model=model_id, seed=seed, source=prepared.name)


def generate(
    source, generator, model_id: str, seed: int = 0, progress=None, should_cancel=None, report=None
) -> Motion:
    """Audio (path, (samples, rate) or Audio) -> Motion of ceil(duration * 30) frames."""
    report = report if report is not None else JobReport()
    return run(prepare_input(source, report), generator, model_id, seed, progress, should_cancel, report)
