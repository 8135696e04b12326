"""One generation job: audio in, a Motion out. Shared by the CLI and (later) the HTTP service."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .audio import SILENCE_PEAK, Audio, AudioError, load_audio, mel_features
from .generation import GenerationConfig, GenerationStats, MotionGenerator, motion_frames
from .motion_io import Motion

MIN_DURATION_S = 0.5


@dataclass
class JobReport:
    """Wall-clock seconds per stage of a job, for --timings and benchmarks."""

    seconds: dict[str, float] = field(default_factory=dict)
    generation: GenerationStats = field(default_factory=GenerationStats)


def check_usable(audio: Audio) -> None:
    """Reject audio that cannot give a meaningful performance, with a reason."""
    if audio.duration_s < MIN_DURATION_S:
        raise AudioError(
            f"{audio.name}: too short ({audio.duration_s:.2f} s); at least {MIN_DURATION_S} s of music is needed"
        )
    if audio.peak < SILENCE_PEAK:
        raise AudioError(f"{audio.name}: the audio is silent (peak {audio.peak:.1e}, below -80 dBFS)")


def load_model(name_or_path: str, device: str = "auto", config: GenerationConfig | None = None):
    """(MotionGenerator, model id) for a registered model name or a checkpoint path."""
    from .models import load_generator
    from .registry import resolve_model

    entry = resolve_model(name_or_path, kind="generator")
    return MotionGenerator(load_generator(entry.path), device, config), entry.id


def generate(
    source,
    generator: MotionGenerator,
    model_id: str,
    seed: int = 0,
    progress: Callable[[float, str], None] | None = None,
    should_cancel: Callable[[], bool] | None = None,
    report: JobReport | None = None,
) -> Motion:
    """Audio (path, (samples, rate) or Audio) -> Motion of ceil(duration * 30) frames."""
    report = report if report is not None else JobReport()
    t0 = time.perf_counter()
    audio = source if isinstance(source, Audio) else load_audio(source)
    check_usable(audio)
    report.seconds["decode"] = time.perf_counter() - t0
    t0 = time.perf_counter()
    mel = mel_features(audio)
    report.seconds["features"] = time.perf_counter() - t0
    num_frames = motion_frames(len(audio.samples), audio.sample_rate)
    keypoints = generator(mel, num_frames, seed, progress, should_cancel, report.generation)
    report.seconds.update(report.generation.seconds)
    name = Path(audio.name).name if audio.name != "<samples>" else ""
    return Motion(keypoints, duration_s=audio.duration_s, model=model_id, seed=seed, source=name)
