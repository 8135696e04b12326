"""Evaluate models on a ConductorMotion100-layout split: generate every clip, compute Table 2 metrics and more.

Protocol (as the official ``M2SGAN_eval.py``): each sample is cut into non-overlapping clips of `clip_seconds`
(30 s by default; the remainder is dropped, samples shorter than a clip are used whole), each model generates
each clip from its mel with its own seed (``seed + clip index``), and the metrics are computed per clip (batch of
one) and averaged over the clips; SDP is mean SD(fake) / mean SD(real) over the clips (ProspectiveCup/eval.py).
Beat metrics use each sample's known beats (``meta.json`` ``beats_s``, written by ``vconductor data synth``)
when present, else beats tracked on the whole sample's mel, cut to the clip.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import metrics
from ..data.dataset import META_FILE
from ..metrics.networks import DEFAULT_SYNC_MODEL
from ..skeleton import FPS, MEL_FRAMES_PER_MOTION_FRAME
from .sources import GroundTruth, MotionSource, as_source

OFFICIAL_CLIP_SECONDS = 30.0
COLUMNS = (  # (key, Table-2-style header, scale for the markdown table)
    ("mse", "MSE (x10^3)", 1e3),
    ("se", "SE", 1.0),
    ("w_dis", "W-dis (x10^3)", 1e3),
    ("rde", "RDE", 1.0),
    ("sce", "SCE", 1.0),
    ("sdp", "SDP (%)", 1.0),
    ("bas", "BAS", 1.0),
    ("beat_f", "Beat F", 1.0),
    ("diversity", "Diversity", 1.0),
)
EXTRA_COLUMNS = ("bas_music", "beat_precision", "beat_recall", "tempo_error")


class EvaluationError(ValueError):
    """An evaluation that cannot run, with a one-line message."""


@dataclass
class EvaluationConfig:
    clip_seconds: float | None = OFFICIAL_CLIP_SECONDS  # None or 0: whole samples
    seed: int = 0
    device: str = "auto"
    sync_model: object = DEFAULT_SYNC_MODEL  # registered name, path or module; None: no SE
    discriminator: object = None  # None: no W-dis (the official code releases no critic)
    definition: str = "official"  # or "paper" (docs/metrics.md)
    beat_tolerance_s: float = 0.1
    progress: bool = True


@dataclass
class ModelResult:
    name: str
    metrics: dict[str, float]
    motions: np.ndarray  # (clips, T, 13, 2) float32, for the plots
    generation_s: float


@dataclass
class Evaluation:
    dataset: str
    split: str
    samples: int
    clip_frames: int
    config: EvaluationConfig
    reals: np.ndarray  # (clips, T, 13, 2) float32
    results: list[ModelResult] = field(default_factory=list)
    beat_source: str = ""  # where the music beats came from

    @property
    def clips(self) -> int:
        return len(self.reals)


def clip_bounds(frames: int, clip_frames: int | None) -> list[tuple[int, int]]:
    """Non-overlapping [a, b) motion-frame ranges; the remainder is dropped, a short sample is one clip."""
    if not clip_frames or frames <= clip_frames:
        return [(0, frames)]
    return [(a, a + clip_frames) for a in range(0, frames - clip_frames + 1, clip_frames)]


def _clip_frames(dataset, clip_seconds) -> int:
    frames = dataset.motion_frames
    clip = int(round(clip_seconds * FPS)) if clip_seconds else frames
    clip = min(clip, frames)
    if clip < metrics.table2.POOL_KERNEL:
        raise EvaluationError(
            f"clips of {clip / FPS:g} s are too short: SCE needs at least {metrics.table2.POOL_KERNEL / FPS:g} s"
        )
    return clip


def evaluate(dataset, models: dict[str, object] | list[MotionSource], config: EvaluationConfig | None = None):
    """Metrics of each model on every clip of `dataset` (a ``ConductorMotionDataset``).

    `models`: name -> spec string / MotionSource / ``mel -> motion`` callable, or a list of MotionSources.
    """
    from tqdm import tqdm

    config = config or EvaluationConfig()
    metrics.common.check_definition(config.definition)
    sources = (
        [as_source(n, m) for n, m in models.items()]
        if isinstance(models, dict)
        else [as_source(s.name, s) for s in models]
    )
    if not sources:
        raise EvaluationError("no models to evaluate")
    names = [s.name for s in sources]
    if len(set(names)) != len(names):
        raise EvaluationError(f"model names must be distinct, got {names}")
    if len(dataset) == 0:
        raise EvaluationError(f"{dataset.root}/{dataset.split}: no samples")
    clip_frames = _clip_frames(dataset, config.clip_seconds)
    # load the networks first: a missing M2S-Net must fail before minutes of generation
    encoder = (
        None if config.sync_model is None else metrics.load_motion_encoder(config.sync_model, config.device)
    )
    critic = (
        None if config.discriminator is None else metrics.load_critic(config.discriminator, config.device)
    )

    clips = []  # (sample index, a, b, music beats in the clip (s), sample tempo)
    beat_sources = set()
    for i, sample in enumerate(tqdm(dataset, desc="music beats", disable=not config.progress, leave=False)):
        beats, tempo, origin = music_beats(dataset, sample)
        beat_sources.add(origin)
        for a, b in clip_bounds(len(sample.motion), clip_frames):
            inside = beats[(beats >= a / FPS) & (beats < b / FPS)] - a / FPS
            clips.append((i, a, b, inside, tempo))
    reals = np.stack([dataset[i].motion[a:b] for i, a, b, _, _ in clips]).astype(np.float32)

    evaluation = Evaluation(str(dataset.root), dataset.split, len(dataset), clip_frames, config, reals)
    evaluation.beat_source = " and ".join(sorted(beat_sources))
    for source in sources:
        t0 = time.perf_counter()
        if isinstance(source, GroundTruth):
            fakes = reals.copy()
        else:
            fakes = np.empty_like(reals)
            for k, (i, a, b, _, _) in enumerate(tqdm(clips, desc=source.name, disable=not config.progress)):
                mel = dataset[i].mel[a * MEL_FRAMES_PER_MOTION_FRAME : b * MEL_FRAMES_PER_MOTION_FRAME]
                fakes[k] = _checked(
                    source(np.array(mel, dtype=np.float32), config.seed + k), reals[k].shape, source.name
                )
        generation_s = time.perf_counter() - t0
        values = _metrics(reals, fakes, clips, encoder, critic, config)
        evaluation.results.append(ModelResult(source.name, values, fakes, generation_s))
    return evaluation


def music_beats(dataset, sample) -> tuple[np.ndarray, float, str]:
    """(beat times in s, tempo in BPM, origin) of a sample: the known beats of its meta.json when it has them
    (``vconductor data synth`` writes ``beats_s`` and ``tempo_bpm``), else beats tracked on its mel."""
    meta_path = Path(dataset.root) / dataset.split / sample.name / META_FILE
    try:
        meta = json.loads(meta_path.read_text()) if meta_path.is_file() else {}
        beats = np.asarray(meta.get("beats_s", []), dtype=np.float64).ravel()
    except (OSError, ValueError, TypeError):
        meta, beats = {}, np.empty(0)
    if len(beats) >= 2 and np.isfinite(beats).all():
        tempo = np.median(np.atleast_1d(np.asarray(meta.get("tempo_bpm", np.nan), dtype=np.float64)))
        if not np.isfinite(tempo) or tempo <= 0:
            tempo = 60.0 / np.median(np.diff(np.sort(beats)))
        return np.sort(beats), float(tempo), "known beats (meta.json)"
    beats, tempo = metrics.music_beats_from_mel(sample.mel)
    return beats, tempo, "beats tracked on the mel"


def _checked(motion, shape, name: str) -> np.ndarray:
    motion = np.asarray(motion)
    if motion.shape != shape:
        raise EvaluationError(f"model {name!r} returned motion of shape {motion.shape}, expected {shape}")
    if not np.isfinite(motion).all():
        raise EvaluationError(f"model {name!r} returned non-finite motion")
    return motion


def _metrics(reals, fakes, clips, encoder, critic, config: EvaluationConfig) -> dict[str, float]:
    d = config.definition
    values = {
        "mse": metrics.mse(reals, fakes, d, per_sample=True).mean(),
        "rde": metrics.rde(reals, fakes, d, per_sample=True).mean(),
        "sce": metrics.sce(reals, fakes, d, per_sample=True).mean(),
        "sdp": metrics.sdp(reals, fakes, d),
        "se": np.nan,
        "w_dis": np.nan,
    }
    if encoder is not None:
        values["se"] = metrics.sync_error(reals, fakes, encoder, d, per_sample=True).mean()
    if critic is not None:
        values["w_dis"] = metrics.w_dis(reals, fakes, critic, d, per_sample=True).mean()
    beat_rows = []
    for fake, (_, _, _, music_beats, tempo) in zip(fakes, clips, strict=True):
        moves = metrics.motion_beats(fake)
        f, p, r = metrics.beat_f_measure(moves, music_beats, config.beat_tolerance_s)
        beat_rows.append(
            (
                metrics.beat_align_score(moves, music_beats, average_over="motion"),
                metrics.beat_align_score(moves, music_beats, average_over="music"),
                f,
                p,
                r,
                metrics.tempo_error(fake, tempo),
            )
        )
    beat_rows = np.array(beat_rows, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        means = [np.nanmean(col) if np.isfinite(col).any() else np.nan for col in beat_rows.T]
    beat_keys = ("bas", "bas_music", "beat_f", "beat_precision", "beat_recall", "tempo_error")
    values.update(dict(zip(beat_keys, means, strict=True)))
    values["diversity"] = metrics.diversity(fakes)
    return {k: float(v) for k, v in values.items()}
