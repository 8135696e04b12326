"""Metre: beat accents, bar-accent templates fitted to them, beats per bar and the downbeat phase."""

import numpy as np

from ..audio import N_MELS
from . import tuning as tun
from .features import SpectralFeatures


def local_max(x: np.ndarray, index: np.ndarray, radius: int) -> np.ndarray:
    """Maximum of `x` within `radius` frames of each index."""
    window = np.clip(index[:, None] + np.arange(-radius, radius + 1)[None, :], 0, len(x) - 1)
    return x[window].max(axis=1)


def zscore(x: np.ndarray) -> np.ndarray:
    sd = x.std()
    return (x - x.mean()) / sd if sd > 1e-9 else np.zeros_like(x)


def span_change(features: SpectralFeatures, index: np.ndarray, width: np.ndarray, bands: int) -> np.ndarray:
    """Distance between the mean log-mel spectra (lowest `bands` bands) of `width` frames after and before each
    index: large where the harmony or the bass changes. Computed SPAN_CHUNK indices at a time (a 3 h piece's
    eighth notes would otherwise take a gigabyte of band sums)."""
    n = features.num_frames
    out = np.empty(len(index))
    for a in range(0, len(index), SPAN_CHUNK):
        at = np.clip(index[a : a + SPAN_CHUNK], 0, n)
        start = np.clip(at - width[a : a + SPAN_CHUNK], 0, n)
        end = np.clip(at + width[a : a + SPAN_CHUNK], 0, n)
        sums = features.band_sums(np.concatenate([start, at, end]))[:bands]
        at_start, at_middle, at_end = np.split(sums, 3, axis=1)
        before = (at_middle - at_start) / np.maximum(at - start, 1)
        after = (at_end - at_middle) / np.maximum(end - at, 1)
        out[a : a + SPAN_CHUNK] = np.linalg.norm(after - before, axis=0) / np.sqrt(bands)
    return out


SPAN_CHUNK = 2048


def beat_accents(features: SpectralFeatures, frames: np.ndarray) -> np.ndarray:
    """Accent of each beat: onset strength, bass onsets and the spectral change from the previous beat's span
    to this one's (whole spectrum and bass), each z-scored."""
    if len(frames) < 2:
        return np.zeros(len(frames))
    width = np.maximum(np.diff(frames, append=frames[-1] + np.diff(frames)[-1]), 1)
    return (
        zscore(local_max(features.onset, frames, 2))
        + zscore(local_max(features.bass_onset, frames, 2))
        + zscore(span_change(features, frames, width, N_MELS))
        + zscore(span_change(features, frames, width, 16))
    )


def bar_levels(beats_per_bar: int) -> tuple[int, ...]:
    """The accent template's levels for a bar: 4/4 has a weaker mid-bar accent."""
    return (beats_per_bar, 2) if beats_per_bar == 4 else (beats_per_bar,)


def fit_bar_template(accents: np.ndarray, levels: tuple) -> tuple[float, int]:
    """Fit a metrical accent template to an accent sequence over all phases.

    `levels` are periods in sequence steps, coarse to fine: each step belongs to the class of the first level
    dividing its position in the bar, the template is the class means, and the bar starts on its most accented
    class. Returns the fit (a log-likelihood ratio against no structure, per step, penalised for the template's
    size; -inf when there is too little to fit) and the phase (sequence index of the first bar start)."""
    bar = levels[0]
    n = len(accents)
    if n < 2 * bar:
        return -np.inf, 0
    centred = accents - accents.mean()
    total = float((centred * centred).sum())
    if total <= 1e-12:
        return -np.inf, 0
    position = np.arange(n) % bar
    sums = np.bincount(position, weights=centred, minlength=bar)
    counts = np.bincount(position, minlength=bar).astype(float)
    best, best_phase = (False, -1.0), 0
    for phase in range(bar):
        explained, accented = _template_fit(sums, counts, levels, phase)
        if (accented, explained) > best:
            best, best_phase = (accented, explained), phase
    r2 = min(best[1] / total, 0.999)
    ratio = -n * np.log(1.0 - r2) - len(levels) * np.log(n) / 2 - np.log(bar)
    return ratio / np.sqrt(n), best_phase


def _template_fit(sums: np.ndarray, counts: np.ndarray, levels: tuple, phase: int) -> tuple[float, bool]:
    """The between-class sum of squares of a template at `phase`, and whether the bar starts on its strongest
    class."""
    bar = levels[0]
    in_bar = (np.arange(bar) - phase) % bar
    classes = np.full(bar, len(levels))
    for c, period in reversed(list(enumerate(levels))):
        classes[in_bar % period == 0] = c
    class_sums = np.bincount(classes, weights=sums, minlength=len(levels) + 1)
    class_counts = np.bincount(classes, weights=counts, minlength=len(levels) + 1)
    used = class_counts > 0
    explained = float((class_sums[used] ** 2 / class_counts[used]).sum())
    means = class_sums / np.maximum(class_counts, 1)
    accented = bool(class_counts[0] > 0 and means[0] >= means[used].max())
    return explained, accented


def ternary_evidence(features: SpectralFeatures, frames: np.ndarray) -> float:
    """Split each beat into three (eighth notes): how much better their accents fit 6/8 (accents on eighths 0
    and 3 of six) than 3/4 (on 0, 2 and 4). Runs of eighth notes alone cannot tell the two apart."""
    if len(frames) < 8:
        return 0.0
    following = np.r_[frames[1:], 2 * frames[-1] - frames[-2]]
    eighths = np.round(np.stack([frames + (following - frames) * k / 3.0 for k in range(3)], axis=1).ravel())
    index = np.clip(eighths.astype(int), 0, features.num_frames - 1)
    width = np.maximum(np.diff(index, append=index[-1] + 1), 1)
    accents = (
        zscore(local_max(features.onset, index, 2))
        + zscore(local_max(features.bass_onset, index, 2))
        + zscore(span_change(features, index, width, N_MELS))
    )
    return fit_bar_template(accents, (6, 3))[0] - fit_bar_template(accents, (6, 2))[0]


def choose_beats_per_bar(bar_fits: dict, num_beats: int, compound: bool) -> int:
    """3 or 2 beats per bar when the bar-accent templates clearly say so, else 4 (compound beats: else 2,
    6/8 being far more common than 12/8). `bar_fits`: beats per bar -> (fit, phase)."""
    fit = {g: bar_fits[g][0] if np.isfinite(bar_fits[g][0]) else -np.inf for g in (2, 3, 4)}
    chance = 4.0 / np.sqrt(max(num_beats, 1))  # a chance gain of a likelihood ratio of ~4, per sqrt(step)
    if fit[3] > max(fit[2], fit[4]) + max(tun.TRIPLE_MARGIN, chance) and fit[3] > tun.MIN_TRIPLE_FIT:
        return 3
    margin = max(tun.DUPLE_MARGIN, chance)
    if compound:  # 12/8 is rare: it needs twice the evidence
        return 4 if fit[4] > fit[2] + 2 * margin else 2
    return 2 if fit[2] > fit[4] + margin else 4
