"""Every training sample's frames in one tensor on the training device, and excerpts cut there.

On a GPU the per-excerpt numpy work of beat_samples.excerpt_batch (resampling, band shift, noise; about 2 ms an
excerpt) would leave the GPU waiting; here a whole batch is one gather. The random draws are the same, in the
same order, so without noise a batch equals excerpt_batch's (tested); the noise is drawn on the device.
"""

import numpy as np
import torch

from ..beat_tracking import N_BANDS
from .beat_samples import NOISE_SNR_DB, NOISE_TILT, BeatSample, ExcerptAugment, draw_excerpt, excerpt_targets


class FrameStore:
    """The samples' frames concatenated (float16) on `device`, with where each sample starts."""

    def __init__(self, samples: list[BeatSample], device: torch.device):
        lengths = [len(s.frames) for s in samples]
        self.samples, self.device = samples, device
        self.starts = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
        self.frames = torch.empty(sum(lengths), N_BANDS, dtype=torch.float16, device=device)
        for s, first in zip(samples, self.starts, strict=True):
            self.frames[first : first + len(s.frames)] = torch.from_numpy(
                np.array(s.frames, np.float16)
            )  # a copy: the cache is read-only


def store_batch(
    store: FrameStore, indices: list[int], length: int, gen: torch.Generator, augment: ExcerptAugment
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """excerpt_batch for store.samples[indices], computed on the store's device: frames (B, L, bands),
    targets (B, 2, L), mask (B, L)."""
    draws = [draw_excerpt(len(store.samples[i].frames), length, gen, augment) for i in indices]
    dev = store.device
    rate = torch.tensor([d.rate for d in draws], dtype=torch.float64, device=dev)[:, None]
    start = torch.tensor([d.start for d in draws], dtype=torch.float64, device=dev)[:, None]
    inside = (
        torch.arange(length, device=dev)[None, :]
        < torch.tensor([d.length for d in draws], device=dev)[:, None]
    )
    position = torch.where(
        inside, start + torch.arange(length, device=dev, dtype=torch.float64) * rate, start
    )
    last = torch.tensor([len(store.samples[i].frames) - 1 for i in indices], device=dev)[:, None]
    lo = position.floor().long()
    hi = torch.minimum(lo + 1, last)
    frac = (position - lo).float()[..., None]
    first = torch.from_numpy(store.starts[indices]).to(dev)[:, None]
    frames = store.frames[first + lo].float() * (1 - frac) + store.frames[first + hi].float() * frac
    frames = _shifted(frames, torch.tensor([d.shift for d in draws], device=dev))
    noisy = [b for b, d in enumerate(draws) if d.noise_seed is not None]
    if noisy:
        noise_gen = torch.Generator(device=dev).manual_seed(draws[noisy[0]].noise_seed)
        frames[noisy] = _noisy(frames[noisy], inside[noisy], noise_gen)
    mask = inside.float()
    targets = torch.zeros(len(indices), 2, length)
    for b, (i, d) in enumerate(zip(indices, draws, strict=True)):
        targets[b, :, : d.length] = torch.from_numpy(excerpt_targets(store.samples[i], d))
    return frames * mask[..., None], targets.to(dev), mask


def _shifted(frames: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Each excerpt's bands moved up by its shift, zeros coming in."""
    source = torch.arange(N_BANDS, device=frames.device)[None, :] - shift[:, None]  # (B, bands)
    valid = (source >= 0) & (source < N_BANDS)
    index = source.clamp(0, N_BANDS - 1)[:, None, :].expand(-1, frames.shape[1], -1)
    return torch.gather(frames, 2, index) * valid[:, None, :]


def _noisy(frames: torch.Tensor, inside: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """beat_samples.noisy for every excerpt at once (each one's mean power over its frames inside the sample),
    drawn with `gen` on the frames' device."""
    b, _, bands = frames.shape
    draws = torch.rand(b, 2, generator=gen, device=frames.device)
    snr_db = NOISE_SNR_DB[0] + (NOISE_SNR_DB[1] - NOISE_SNR_DB[0]) * draws[:, 0]
    tilt = (2 * draws[:, 1] - 1) * NOISE_TILT
    shape = torch.exp(tilt[:, None] * torch.linspace(-0.5, 0.5, bands, device=frames.device)[None, :])
    shape = shape / shape.mean(dim=1, keepdim=True)
    power = 10.0 ** (8.0 * frames)
    weights = inside[..., None].float()
    mean = (power * weights).sum(dim=(1, 2)) / (weights.sum(dim=(1, 2)) * bands).clamp(min=1)
    level = (mean * 10 ** (-snr_db / 10))[:, None, None] * shape[:, None, :]
    spread = torch.randn(frames.shape, generator=gen, device=frames.device) * 0.3
    return (torch.log10(power + level * spread.exp()) / 8.0).clamp(0.0, 1.0)
