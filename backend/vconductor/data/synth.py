"""`vconductor data synth`: a synthetic dataset in the ConductorMotion100 layout whose motion is truly
synchronised to its music.

Each sample is a piece from :mod:`vconductor.data.synth_music` (tempo, metre, dynamics, articulation, rests all
known) conducted by :func:`vconductor.conducting.conduct` from a :class:`MusicAnalysis` built from what was
composed, never from analysing the audio. The conductor's build varies per sample (pattern size and width, beat
plane, head and torso motion, left-hand habits, the seed's personal touch), so the motion is not a function of
the music alone and its beats and sizes must be read from the music. The piece starts before the excerpt and
goes on after it, so most excerpts begin and end mid-flow as cuts of a longer recording do.

Samples are seeded by (seed, split, index): the same command gives the same files whatever the number of
workers, and ``train:100`` is the first 100 samples of ``train:200``. Each sample folder is written under a
hidden name and renamed into place, so an interrupted run leaves no half sample (``--resume`` finishes it).
"""

import json
import os
import shutil
import zlib
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from ..audio import SAMPLE_RATE, mel_features
from ..conducting import ConductorConfig, conduct
from ..skeleton import FPS, MEL_RATE
from .dataset import MEL_FILE, MOTION_FILE, write_sample
from .options import SynthOptions
from .synth_music import compose, render

MANIFEST_FILE = "synth.json"
DEFAULT_FRACTIONS = {"train": 0.8, "val": 0.1, "test": 0.1}


class SynthError(ValueError):
    """Bad synthesis options, with a one-line message."""


@dataclass
class SynthSample:
    mel: np.ndarray  # (seconds*90, 128) float32
    motion: np.ndarray  # (seconds*30, 13, 2) float32
    meta: dict  # the known beats (s, excerpt time), beat positions, tempo, metre, conductor settings


def split_code(split: str) -> int:
    """A stable number for a split name (part of every sample's seed)."""
    return zlib.crc32(split.encode())


def conductor_config(rng: np.random.Generator) -> ConductorConfig:
    """A conductor of the sample's own build and habits."""
    u = rng.uniform
    return ConductorConfig(
        size_soft=u(0.03, 0.05),
        size_loud=u(0.08, 0.14),
        width_ratio=u(1.1, 1.7),
        beat_plane_y=u(0.57, 0.61),
        pattern_centre_x=u(0.40, 0.445),
        left_mirror_loudness=u(0.45, 0.85),
        left_cues=bool(rng.random() < 0.7),
        head_motion=u(0.4, 1.4),
        torso_motion=u(0.4, 1.4),
        variation=u(0.6, 1.4),
        upper_arm=u(0.135, 0.145),
        forearm=u(0.12, 0.13),
    )


def synth_sample(seed: int, split: str, index: int, options: SynthOptions) -> SynthSample:
    """One sample, fully determined by (seed, split, index) and the options."""
    if options.seconds < 1 or int(options.seconds) != options.seconds:
        raise SynthError(f"seconds must be a whole number of at least 1, got {options.seconds}")
    seconds = int(options.seconds)
    rng = np.random.default_rng([seed, split_code(split), index])
    piece = compose(rng, seconds, options.music, frame_rate=FPS)
    audio = render(piece, rng, options.music)
    config = conductor_config(rng)
    conductor_seed = int(rng.integers(2**31))
    analysis = piece.analysis()
    motion = conduct(analysis, analysis.num_frames, seed=conductor_seed, config=config).keypoints

    start = int(round(piece.excerpt_start_s * FPS))
    motion = motion[start : start + seconds * FPS]
    if options.keypoint_noise > 0:
        motion = motion + rng.normal(0.0, options.keypoint_noise, motion.shape).astype(np.float32)
    first = int(round(piece.excerpt_start_s * SAMPLE_RATE))
    mel = mel_features(
        (audio[first : first + seconds * SAMPLE_RATE], SAMPLE_RATE), num_frames=seconds * MEL_RATE
    )

    inside = (piece.beats_s >= piece.excerpt_start_s) & (piece.beats_s < piece.excerpt_start_s + seconds)
    meta = {
        "seed": [seed, split, index],
        "seconds": seconds,
        "meter": piece.meter,
        "beats_s": np.round(piece.beats_s[inside] - piece.excerpt_start_s, 5).tolist(),
        "beat_in_bar": piece.beat_in_bar[inside].tolist(),
        "tempo_bpm": np.round(piece.tempo_bpm[inside], 3).tolist(),
        "conductor": {**asdict(config), "seed": conductor_seed},
    }
    return SynthSample(mel.astype(np.float32), np.ascontiguousarray(motion, np.float32), meta)


def parse_splits(text: str, samples: int | None) -> dict[str, int]:
    """ "train:80,val:10,test:10" (counts), "train:0.8,val:0.1,test:0.1" (fractions of `samples`) or
    "train,val,test" (`samples` shared 80/10/10, or evenly for other names)."""
    entries = [e.strip() for e in text.split(",") if e.strip()]
    if not entries:
        raise SynthError("--splits is empty; give e.g. train:80,val:10,test:10")
    names, values = [], []
    for entry in entries:
        name, _, value = entry.partition(":")
        name = name.strip()
        if not name or name.startswith(".") or "/" in name or "\\" in name:
            raise SynthError(f"--splits: {name!r} is not a usable split name")
        if name in names:
            raise SynthError(f"--splits: split {name!r} given twice")
        names.append(name)
        try:
            values.append(float(value) if value.strip() else None)
        except ValueError:
            raise SynthError(f"--splits: {entry!r} is not NAME:COUNT or NAME:FRACTION") from None
    if all(v is not None and v == int(v) and ("." not in e) for v, e in zip(values, entries, strict=True)):
        counts = {n: int(v) for n, v in zip(names, values, strict=True)}
        if samples is not None and samples != sum(counts.values()):
            raise SynthError(
                f"--samples {samples} differs from the split counts, which add up to {sum(counts.values())}"
            )
    else:
        if any(v is not None and v == int(v) and v > 1 for v in values):
            raise SynthError("--splits: give all splits as counts or all as fractions, not a mix")
        if samples is None:
            raise SynthError("--samples is needed when --splits gives fractions or plain names")
        if all(v is None for v in values):
            known = all(n in DEFAULT_FRACTIONS for n in names)
            values = [DEFAULT_FRACTIONS[n] if known else 1.0 for n in names]
        elif any(v is None for v in values):
            raise SynthError("--splits: give every split a count or fraction, or none of them")
        weights = np.array(values, float) / sum(values)
        raw = weights * samples
        base = np.floor(raw).astype(int)
        for k in np.argsort(-(raw - base), kind="stable")[: samples - base.sum()]:  # largest remainders
            base[k] += 1
        while samples >= len(base) and (base == 0).any():  # every named split gets at least one sample
            base[np.argmax(base)] -= 1
            base[np.argmin(base)] += 1
        counts = dict(zip(names, base.tolist(), strict=True))
    if any(c < 0 for c in counts.values()) or sum(counts.values()) < 1:
        raise SynthError(f"--splits gives no samples: {counts}")
    return counts


def _job(args) -> tuple[str, int, float]:
    out, split, index, options = args
    sample = synth_sample(options.seed, split, index, options)
    write_sample(Path(out) / split / str(index), sample.mel, sample.motion, sample.meta)
    return split, index, float(np.mean(sample.meta["tempo_bpm"])) if sample.meta["tempo_bpm"] else 0.0


def synth_dataset(
    out,
    splits: dict[str, int],
    options: SynthOptions | None = None,
    *,
    workers: int | None = None,
    overwrite: bool = False,
    resume: bool = False,
    progress: bool = True,
) -> dict:
    """Write ``out/<split>/<index>/{mel,motion}.npy`` (+ meta.json) and ``out/synth.json``; returns the manifest."""
    from ..contract import atomic_output

    options = options or SynthOptions()
    out = Path(out)
    if overwrite and resume:
        raise SynthError("--overwrite and --resume exclude each other")
    if out.exists() and not out.is_dir():
        raise SynthError(f"{out}: exists and is not a folder")
    jobs = [
        (str(out), split, index, options)
        for split, count in splits.items()
        for index in _indices_to_make(out / split, count, overwrite, resume)
    ]
    out.mkdir(parents=True, exist_ok=True)
    _run_jobs(jobs, workers, progress)
    manifest = _manifest(splits, options)
    with atomic_output(out / MANIFEST_FILE) as tmp:
        tmp.write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _indices_to_make(folder: Path, count: int, overwrite: bool, resume: bool) -> list[int]:
    """The sample indices of one split still to write, after clearing what an interrupted or earlier run left."""
    existing = [p for p in folder.iterdir() if not p.name.startswith(".")] if folder.is_dir() else []
    for stale in folder.glob(".*.tmp") if folder.is_dir() else ():  # left by an interrupted run
        shutil.rmtree(stale, ignore_errors=True)
    if existing and overwrite:
        shutil.rmtree(folder)
    elif existing and not resume:
        raise SynthError(f"{folder}: already holds {len(existing)} samples; use --overwrite or --resume")

    def done(index: int) -> bool:
        return (folder / str(index) / MEL_FILE).is_file() and (folder / str(index) / MOTION_FILE).is_file()

    return [index for index in range(count) if not (resume and done(index))]


def _run_jobs(jobs: list, workers: int | None, progress: bool) -> None:
    from tqdm import tqdm

    workers = max(1, min(workers or os.cpu_count() or 1, len(jobs) or 1))
    bar = tqdm(total=len(jobs), desc="synth", unit="sample", disable=not progress)
    try:
        if workers == 1:
            for job in jobs:
                _job(job)
                bar.update()
        else:
            with ProcessPoolExecutor(workers) as pool:
                for _ in pool.map(_job, jobs, chunksize=1):
                    bar.update()
    finally:
        bar.close()


def _manifest(splits: dict[str, int], options: SynthOptions) -> dict:
    return {
        "generator": "vconductor data synth",
        "splits": splits,
        "seconds": options.seconds,
        "seed": options.seed,
        "keypoint_noise": options.keypoint_noise,
        "music": asdict(options.music),
        "files": {
            "mel": f"({options.seconds * MEL_RATE}, 128) float32",
            "motion": f"({options.seconds * FPS}, 13, 2) float32",
        },
    }
