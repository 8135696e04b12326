"""Excerpts cut on the training device (training/beat_frame_store.py) are the numpy path's excerpts: the same
draws in the same order, the same resampling, band shift, targets and mask; only the noise is drawn there."""

import numpy as np
import torch

from vconductor.beat_tracking import FRAME_RATE
from vconductor.training.beat_frame_store import FrameStore, store_batch
from vconductor.training.beat_samples import BeatSample, ExcerptAugment, excerpt_batch, frame_targets


def _samples(n: int = 5) -> list[BeatSample]:
    rng = np.random.default_rng(3)
    out = []
    for i in range(n):
        frames = rng.uniform(0, 1, (300 + 250 * i, 128)).astype(np.float16)
        beats = np.arange(0.3, len(frames) / FRAME_RATE, 0.5 + 0.1 * i)
        targets = np.stack([frame_targets(beats, len(frames)), frame_targets(beats[::3], len(frames))])
        out.append(BeatSample(f"s{i}", f"w{i}", frames, targets, beats, beats[::3]))
    return out


def test_device_excerpts_equal_the_numpy_excerpts_draw_for_draw():
    samples, augment = _samples(), ExcerptAugment(max_stretch=1.3, max_band_shift=3)
    store, batch = FrameStore(samples, torch.device("cpu")), [4, 0, 2, 2, 1, 3]
    for seed in range(4):  # short samples are padded and masked; long ones cut at random places
        expected = excerpt_batch(
            [samples[i] for i in batch], 600, torch.Generator().manual_seed(seed), augment
        )
        got = store_batch(store, batch, 600, torch.Generator().manual_seed(seed), augment)
        for e, g in zip(expected, got, strict=True):
            assert e.shape == g.shape
            torch.testing.assert_close(g, e, atol=1e-6, rtol=0)


def test_device_noise_raises_the_quiet_frames_and_leaves_the_rest_as_drawn():
    samples = _samples(3)
    for s in samples:
        s.frames[:] = 0.0
        s.frames[::40] = 0.9  # a loud frame every 40, silence between
    store, augment = FrameStore(samples, torch.device("cpu")), ExcerptAugment(1.0, 0, noise_probability=1.0)
    for i in range(3):  # one excerpt a batch: the noise's draws come after all of the clean excerpt's
        clean = store_batch(store, [i], 500, torch.Generator().manual_seed(i), ExcerptAugment(1.0, 0))
        noisy = store_batch(store, [i], 500, torch.Generator().manual_seed(i), augment)
        again = store_batch(store, [i], 500, torch.Generator().manual_seed(i), augment)
        assert torch.equal(noisy[0], again[0])  # reproducible from the step's generator
        assert torch.equal(noisy[1], clean[1]) and torch.equal(noisy[2], clean[2])  # targets, mask unchanged
        frames, inside = noisy[0], clean[2].bool()
        assert frames.min() >= 0 and frames.max() <= 1 and not frames[~inside].any()
        loud = clean[0] > 0.5
        assert (frames[loud] - 0.9).abs().max() < 0.01 and frames[inside][:, 0].mean() > 0.1
        power = 10 ** (8 * clean[0].double()[inside])
        snr_db = 10 * np.log10(float(power.mean() / (10 ** (8 * frames.double()[inside]) - power).mean()))
        assert 8 - 1 < snr_db < 35 + 1
