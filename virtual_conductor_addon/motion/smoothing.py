"""Zero-phase (no lag) smoothing that stays within a tolerance of the input."""

from __future__ import annotations

import numpy as np


def gaussian_smooth(x: np.ndarray, sigma: float) -> np.ndarray:
    """Gaussian filter along axis 0, symmetric kernel (zero phase), mirrored edges."""
    if sigma <= 0 or len(x) < 2:
        return np.array(x, dtype=np.float64)
    radius = int(np.ceil(3.0 * sigma))
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    flat = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    index = np.abs(np.arange(-radius, len(x) + radius))  # reflect at the start ...
    index = np.where(index >= len(x), 2 * (len(x) - 1) - index, index)  # ... and at the end
    index = np.clip(index, 0, len(x) - 1)
    padded = flat[index]
    out = np.zeros_like(flat)
    for offset, weight in enumerate(kernel):  # a few taps over all columns: faster than per-column convolve
        out += weight * padded[offset : offset + len(x)]
    return out.reshape(np.shape(x))


def smooth_within(points: np.ndarray, sigma: float, tolerance: float, iterations: int = 12) -> np.ndarray:
    """Smoothest (least squared second difference) (T, J, 2) point tracks that stay within `tolerance`
    (Euclidean, per point and frame) of the input: projected gradient descent started from a Gaussian.
    Generated keypoints jitter by several percent of the shoulder width from frame to frame; this removes what
    the tolerance allows while the rig still provably follows the keypoints within `tolerance`."""
    points = np.asarray(points, dtype=np.float64)
    if sigma <= 0 or tolerance <= 0 or len(points) < 3:
        return points.copy()

    def into_tube(y: np.ndarray) -> np.ndarray:
        offset = y - points
        norm = np.sqrt(np.sum(offset * offset, axis=-1, keepdims=True))
        return points + offset * np.minimum(1.0, tolerance / np.maximum(norm, 1e-12))

    out = into_tube(gaussian_smooth(points, sigma))
    for _ in range(iterations):
        out = into_tube(out - _second_difference_gradient(out) / 16.0)  # 1/16: largest stable step
    return out


def _second_difference_gradient(y: np.ndarray) -> np.ndarray:
    """Gradient of 0.5 * sum ||y[t+1] - 2 y[t] + y[t-1]||^2 (edges held by repetition)."""
    padded = np.concatenate([y[:1], y, y[-1:]])
    d2 = padded[2:] - 2.0 * y + padded[:-2]
    padded = np.concatenate([d2[:1], d2, d2[-1:]])
    return padded[2:] - 2.0 * d2 + padded[:-2]
