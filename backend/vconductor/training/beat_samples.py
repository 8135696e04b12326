"""The beat tracker's training samples: beats-data folders (NAME.flac + NAME.json) as input frames and targets.

- Input: each sample's scaled log-mel frames (beat_tracking.features), computed once and cached as float16 .npy
  in DATA/.beat_features/<features version>/ (recomputed when the FLAC is newer), read memory-mapped.
- Targets: per frame, 1 at the frame nearest each beat (downbeat) and 0.5 at its two neighbours, else 0.
- Split by work: whole works go to validation (never the same work on both sides), chosen by a hash of the work
  id, so a split stays put as a dataset grows.
"""

import hashlib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..beat_data.samples import BeatDataError, read_record, sample_jsons, sample_work
from ..beat_tracking import FEATURES_VERSION, FRAME_RATE, N_BANDS, file_frames
from ..contract import atomic_output

FEATURE_CACHE = ".beat_features"
NEIGHBOUR_TARGET = 0.5


@dataclass(frozen=True)
class SampleFiles:
    name: str
    work: str
    flac: Path
    beats_s: np.ndarray
    downbeats_s: np.ndarray


@dataclass
class BeatSample:
    name: str
    work: str
    frames: np.ndarray  # (n, bands) float16, memory-mapped
    targets: np.ndarray  # (2, n) float32: beat, downbeat
    beats_s: np.ndarray
    downbeats_s: np.ndarray


def list_samples(root: str | Path) -> list[SampleFiles]:
    """Every complete sample of a beats-data folder (its JSON is written last), by name."""
    root = Path(root)
    if not root.is_dir():
        raise BeatDataError(f"{root}: no such dataset folder (make one with `vconductor beats-data build`)")
    samples = []
    for json_path in sample_jsons(root):
        record = read_record(json_path)
        missing = [k for k in ("beats_s", "downbeats_s") if k not in record]
        if missing:
            raise BeatDataError(f"{json_path}: no {', '.join(missing)}: not a beats-data sample")
        work = sample_work(record) or json_path.stem
        beats, downbeats = (np.asarray(record[k], np.float64) for k in ("beats_s", "downbeats_s"))
        samples.append(SampleFiles(json_path.stem, work, json_path.with_suffix(".flac"), beats, downbeats))
    if not samples:
        raise BeatDataError(
            f"{root}: no samples (NAME.flac + NAME.json); make some with `vconductor beats-data build`"
        )
    return samples


def _work_order(work: str) -> str:
    return hashlib.sha1(work.encode("utf-8")).hexdigest()


def split_by_work(
    samples: list[SampleFiles], val_fraction: float
) -> tuple[list[SampleFiles], list[SampleFiles]]:
    """(train, validation): works in hash order go to validation while they fit in `val_fraction` of the
    samples (the smallest work when none fits); at least one work always stays for training."""
    counts = Counter(s.work for s in samples)
    if len(counts) < 2:
        raise BeatDataError(
            f"all {len(samples)} samples are of one work ({next(iter(counts))}): validation needs another work"
        )
    budget, taken, val_works = val_fraction * len(samples), 0, set()
    for work in sorted(counts, key=_work_order):
        if taken + counts[work] <= budget:
            val_works.add(work)
            taken += counts[work]
    if not val_works:
        val_works = {min(counts, key=lambda w: (counts[w], _work_order(w)))}
    return [s for s in samples if s.work not in val_works], [s for s in samples if s.work in val_works]


def frame_targets(times_s: np.ndarray, n_frames: int) -> np.ndarray:
    """(n_frames,) 1 at the frame nearest each time, NEIGHBOUR_TARGET at the frames either side, else 0."""
    target = np.zeros(n_frames, np.float32)
    centre = np.rint(np.asarray(times_s) * FRAME_RATE).astype(np.int64)
    for offset, value in ((-1, NEIGHBOUR_TARGET), (1, NEIGHBOUR_TARGET), (0, 1.0)):
        frames = centre + offset
        frames = frames[(frames >= 0) & (frames < n_frames)]
        target[frames] = np.maximum(target[frames], value)
    return target


def cached_frames(root: Path, sample: SampleFiles) -> np.ndarray:
    """The sample's input frames from the cache, computed and written (atomically) first when missing."""
    path = root / FEATURE_CACHE / FEATURES_VERSION / f"{sample.name}.npy"
    if not path.is_file() or path.stat().st_mtime < sample.flac.stat().st_mtime:
        frames = file_frames(sample.flac).astype(np.float16)
        with atomic_output(path) as tmp, open(tmp, "xb") as f:
            np.save(f, frames)
    frames = np.load(path, mmap_mode="r", allow_pickle=False)
    if frames.ndim != 2 or frames.shape[1] != N_BANDS:
        raise BeatDataError(f"{path}: a feature cache of shape {frames.shape}; delete it to recompute")
    return frames


def load_samples(root: str | Path, files: list[SampleFiles], progress: bool = False) -> list[BeatSample]:
    """Frames (cached) and targets of `files`; the first run computes the frames, with a progress bar."""
    root = Path(root)
    if progress:
        from tqdm import tqdm

        files = tqdm(files, desc="beat features", unit="sample", leave=False)
    out = []
    for f in files:
        frames = cached_frames(root, f)
        targets = np.stack([frame_targets(f.beats_s, len(frames)), frame_targets(f.downbeats_s, len(frames))])
        out.append(BeatSample(f.name, f.work, frames, targets, f.beats_s, f.downbeats_s))
    return out


@dataclass(frozen=True)
class ExcerptAugment:
    """Random changes to each training excerpt: a tempo change (the frames resampled in time, the targets moved
    with them), so the network hears every piece at many tempi, a shift of the mel bands (a transposition), and
    sometimes noise added in the mel domain (`noisy`), so no excerpt is heard with only its render's noise."""

    max_stretch: float = 1.3  # tempo ratios drawn log-uniformly in [1 / max_stretch, max_stretch]
    max_band_shift: int = 3
    noise_probability: float = 0.0  # share of excerpts given noise at NOISE_SNR_DB

    @classmethod
    def none(cls) -> "ExcerptAugment":
        return cls(1.0, 0)


def _draw(gen: torch.Generator) -> float:
    return float(torch.rand((), generator=gen))


@dataclass(frozen=True)
class ExcerptDraw:
    """What was drawn for one excerpt (the same draws, in the same order, wherever the excerpt is cut)."""

    rate: float  # source frames per excerpt frame
    shift: int  # mel bands moved up
    start: int  # first source frame
    length: int  # excerpt frames inside the sample
    noise_seed: int | None  # None: no noise


def draw_excerpt(n: int, length: int, gen: torch.Generator, augment: ExcerptAugment) -> ExcerptDraw:
    """The draws for an excerpt of `length` frames from a sample of n frames."""
    rate = float(np.exp((2 * _draw(gen) - 1) * np.log(augment.max_stretch)))
    shift = int(round((2 * _draw(gen) - 1) * augment.max_band_shift))
    span = min(n, int(np.ceil(length * rate)))
    start = int(torch.randint(0, max(1, n - span + 1), (1,), generator=gen))
    m = min(length, int((n - 1 - start) / rate) + 1)
    seed = None
    if _draw(gen) < augment.noise_probability:
        seed = int(torch.randint(0, 2**31, (1,), generator=gen))
    return ExcerptDraw(rate, shift, start, m, seed)


def excerpt_targets(sample: BeatSample, draw: ExcerptDraw) -> np.ndarray:
    """(2, draw.length) beat and downbeat targets of the excerpt: the sample's times moved with its tempo."""
    moved = [
        (np.asarray(t) * FRAME_RATE - draw.start) / draw.rate / FRAME_RATE
        for t in (sample.beats_s, sample.downbeats_s)
    ]
    return np.stack([frame_targets(t, draw.length) for t in moved])


def excerpt_batch(
    samples: list[BeatSample], length: int, gen: torch.Generator, augment: ExcerptAugment | None = None
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random excerpts of `length` frames, one per sample: frames (B, L, bands), targets (B, 2, L) and a
    mask (B, L) of the frames inside the sample (a shorter sample is padded with silence, masked out)."""
    augment = augment or ExcerptAugment.none()
    frames = torch.zeros(len(samples), length, N_BANDS)
    targets = torch.zeros(len(samples), 2, length)
    mask = torch.zeros(len(samples), length)
    for i, s in enumerate(samples):
        d = draw_excerpt(len(s.frames), length, gen, augment)
        excerpt = _resampled(s.frames, d.start + np.arange(d.length) * d.rate, d.shift)
        if d.noise_seed is not None:
            excerpt = noisy(excerpt, np.random.default_rng(d.noise_seed))
        frames[i, : d.length] = torch.from_numpy(excerpt)
        targets[i, :, : d.length] = torch.from_numpy(excerpt_targets(s, d))
        mask[i, : d.length] = 1.0
    return frames, targets, mask


def _resampled(frames: np.ndarray, position: np.ndarray, band_shift: int) -> np.ndarray:
    """Frames at fractional `position`s (linear interpolation), the bands moved up by `band_shift`."""
    lo = np.floor(position).astype(np.int64)
    hi = np.minimum(lo + 1, len(frames) - 1)
    frac = (position - lo).astype(np.float32)[:, None]
    block = np.asarray(frames[lo[0] : hi[-1] + 1], np.float32)
    out = block[lo - lo[0]] * (1 - frac) + block[hi - lo[0]] * frac
    if band_shift > 0:
        out = np.concatenate([np.zeros_like(out[:, :band_shift]), out[:, :-band_shift]], axis=1)
    elif band_shift < 0:
        out = np.concatenate([out[:, -band_shift:], np.zeros_like(out[:, :-band_shift])], axis=1)
    return out


NOISE_SNR_DB = (8.0, 35.0)  # the excerpt's mean power over the noise's, drawn uniformly
NOISE_TILT = 3.0  # the noise spectrum's log power tilts by up to this from the lowest band to the highest


def noisy(frames: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Scaled log-mel frames (features.scaled_rows: 80 dB over [0, 1]) with stationary coloured noise added in
    power at a random signal-to-noise ratio, fluctuating from frame to frame as a band of real noise does."""
    power = 10.0 ** (8.0 * frames.astype(np.float64))
    snr_db = rng.uniform(*NOISE_SNR_DB)
    shape = np.exp(rng.uniform(-NOISE_TILT, NOISE_TILT) * np.linspace(-0.5, 0.5, frames.shape[1]))
    level = power.mean() * 10 ** (-snr_db / 10) * shape / shape.mean()
    hiss = level * rng.lognormal(0.0, 0.3, frames.shape)
    return np.clip(np.log10(power + hiss) / 8.0, 0.0, 1.0).astype(np.float32)


def masked_bce(
    logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor, downbeat_weight: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """(beat + downbeat_weight * downbeat loss, (2,) the two losses): binary cross-entropy per frame, averaged
    over masked frames."""
    per_frame = F.binary_cross_entropy_with_logits(logits, targets, reduction="none")
    per_output = (per_frame * mask[:, None]).sum(dim=(0, 2)) / mask.sum().clamp(min=1.0)
    return per_output[0] + downbeat_weight * per_output[1], per_output
