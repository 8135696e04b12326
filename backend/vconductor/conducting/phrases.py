"""Phrase starts: the return of sound after a rest, and peaks of timbre/harmony novelty between spans of beats."""

import numpy as np

from ..progress import cancellation_point
from . import tuning as tun
from .beats import DetectedBeats
from .features import FEATURE_RATE, SpectralFeatures


def phrase_starts(features: SpectralFeatures, beats: DetectedBeats) -> np.ndarray:
    """Phrase starts in seconds, at beats, PHRASE_MIN_SPACING_S apart; returns after rests go first."""
    times = beats.times
    if len(times) < 4:
        return np.zeros(0)
    frames = np.clip(np.round((times + tun.LATENCY_S) * FEATURE_RATE).astype(int), 0, features.num_frames - 1)
    found = [(time, 0) for time in _after_rests(features, times, frames)]  # (time, priority)
    cancellation_point()
    found += [(time, 1) for time in _novelty_peaks(features, times, frames)]
    found.sort(key=lambda x: (x[1], x[0]))
    chosen: list[float] = []
    for time, _ in found:
        spaced = all(abs(time - c) >= tun.PHRASE_MIN_SPACING_S for c in chosen)
        if time > times[0] + tun.PHRASE_AFTER_FIRST_BEAT_S and spaced:
            chosen.append(time)
    return np.array(sorted(chosen), dtype=np.float64)


def _diagonal_novelty(x: np.ndarray, half: int) -> np.ndarray:
    """The checkerboard kernel (2 half beats square) along the diagonal of the self-similarity x.T @ x, edges
    extended. Only the diagonal band is computed: the whole matrix of a 3 h piece's beats would be gigabytes."""
    k = np.arange(-half, half)
    sign = np.where(k[:, None] < 0, 1.0, -1.0) * np.where(k[None, :] < 0, 1.0, -1.0)
    taper = np.exp(-0.5 * ((k[:, None] + 0.5) ** 2 + (k[None, :] + 0.5) ** 2) / half**2)
    kernel = sign * taper
    n = x.shape[1]
    novelty = np.empty(n)
    for a in range(0, n, 4096):
        cancellation_point()
        index = np.clip(np.arange(a, min(n, a + 4096))[:, None] + k[None, :], 0, n - 1)  # (beats, 2 half)
        near = x[:, index]  # (bands, beats, 2 half)
        novelty[a : a + len(index)] = np.einsum("bik,bil,kl->i", near, near, kernel)
    return novelty


def _after_rests(features: SpectralFeatures, times: np.ndarray, frames: np.ndarray) -> list:
    """The first beat after each rest inside the music."""
    found = []
    edges = np.flatnonzero(np.diff(features.silent.astype(np.int8)) == -1) + 1  # silent -> sounding
    for edge in edges:
        first_after = int(np.searchsorted(frames, edge - int(0.1 * FEATURE_RATE)))
        if 0 < first_after < len(times):
            found.append(times[first_after])
    return found


def _novelty_peaks(features: SpectralFeatures, times: np.ndarray, frames: np.ndarray) -> list:
    """Beats where the beat-synchronous timbre and harmony (MFCC) change: peaks of a checkerboard kernel along
    the diagonal of their self-similarity."""
    half = tun.PHRASE_HALF_BEATS
    if len(times) < 4 * half:
        return []
    synced = span_means(features.mfcc, frames)[:, 1:]  # the span from each beat
    x = (synced - synced.mean(axis=1, keepdims=True)) / (synced.std(axis=1, keepdims=True) + 1e-9)
    x /= np.linalg.norm(x, axis=0, keepdims=True) + 1e-9
    novelty = np.maximum(_diagonal_novelty(x, half), 0)
    if not novelty.max() > 0:
        return []
    novelty /= novelty.max()
    peaks = peak_pick(novelty, half, half, 2 * half, 2 * half, tun.PHRASE_NOVELTY_DELTA, 2 * half)
    return [times[p] for p in peaks if half <= p < len(times) - half]


def span_means(data: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """librosa.util.sync(data, frames, aggregate=np.mean): the mean of `data`'s columns over each span between
    consecutive boundaries (0, the frames, the end; repeats merged). Importing librosa.util compiles its numba
    functions (seconds on a first run)."""
    n = data.shape[-1]
    edges = np.unique(np.concatenate(([0, n], np.clip(frames, 0, n)))).astype(int).tolist()
    means = np.empty(data.shape[:-1] + (len(edges) - 1,), dtype=data.dtype)
    for k, (start, stop) in enumerate(zip(edges[:-1], edges[1:], strict=True)):
        if k % 4096 == 0:
            cancellation_point()
        means[..., k] = np.mean(data[..., start:stop], axis=-1)
    return means


def peak_pick(x, pre_max: int, post_max: int, pre_avg: int, post_avg: int, delta: float, wait: int):
    """librosa.util.peak_pick (0.11) without its compiled loop: the n where x[n] is the maximum of
    x[n - pre_max : n + post_max] and at least `delta` over the mean of x[n - pre_avg : n + post_avg], each
    more than `wait` after the last one kept. Bit for bit librosa's: its mean adds in order and its delta is a
    float32."""
    import scipy.ndimage as ndi

    x = np.asarray(x, dtype=np.float64)
    size = pre_max + post_max
    window_max = ndi.maximum_filter1d(x, size, mode="constant", cval=-np.inf, origin=pre_max - size // 2)
    candidates = np.flatnonzero(x == window_max)
    start = np.maximum(candidates - pre_avg, 0)
    stop = np.minimum(candidates + post_avg, len(x))
    total = np.zeros(len(candidates))
    for step in range(pre_avg + post_avg):
        total += np.where(start + step < stop, x[np.minimum(start + step, len(x) - 1)], 0.0)
    above = x[candidates] >= total / (stop - start) + float(np.float32(delta))
    kept: list[int] = []
    for n in candidates[above].tolist():
        if not kept or n > kept[-1] + wait:
            kept.append(n)
    return np.array(kept, dtype=np.int64)
