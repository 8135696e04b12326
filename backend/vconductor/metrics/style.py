"""Conducting-style statistics of one motion (T, 13, 2), in shoulder widths (docs/metrics.md#style): how big
the right hand's gestures are, how high it works, and whether the left hand only mirrors it."""

from dataclasses import asdict, dataclass

import numpy as np

from ..skeleton import FPS, JOINT
from .common import MetricError, as_batch

MIRROR_WINDOW_S = 2.0
MIRROR_CORRELATION = (
    0.8  # a window is mirrored when the left velocity follows the mirrored right one this closely
)
MIRROR_MIN_MOTION = 0.3  # ... and the left hand moves at least this much of the right's motion (RMS)
STILL_SW = 0.1  # windows where the right hand moves slower than this RMS (shoulder widths/s) are not counted


@dataclass(frozen=True)
class StyleStats:
    amplitude: float  # right wrist: mean distance from its own mean
    height_range: float  # right wrist: 10th-90th percentile of its height
    height: float  # right wrist: median height relative to the shoulders' midpoint (up positive)
    left_amplitude: float  # left wrist: mean distance from its own mean
    left_height: float  # left wrist: median height relative to the shoulders
    mirrored: float  # fraction of 2 s windows in which the left hand mirrors the right

    def as_dict(self) -> dict:
        return asdict(self)


def shoulder_width(motion: np.ndarray) -> float:
    x = as_batch(motion)[0]
    width = float(
        np.median(np.linalg.norm(x[:, JOINT["left_shoulder"]] - x[:, JOINT["right_shoulder"]], axis=1))
    )
    if width <= 1e-9:
        raise MetricError("the shoulders coincide: no shoulder width to measure in")
    return width


def style_stats(motion: np.ndarray, fps: float = FPS) -> StyleStats:
    """The statistics of one motion; y is image y (down), reported with up positive."""
    x = as_batch(motion)[0]
    sw = shoulder_width(x)
    shoulders = 0.5 * (x[:, JOINT["left_shoulder"]] + x[:, JOINT["right_shoulder"]])
    right, left = x[:, JOINT["right_wrist"]], x[:, JOINT["left_wrist"]]
    low, high = np.percentile(right[:, 1], [10, 90])
    return StyleStats(
        amplitude=_amplitude(right) / sw,
        height_range=float(high - low) / sw,
        height=float(np.median(shoulders[:, 1] - right[:, 1])) / sw,
        left_amplitude=_amplitude(left) / sw,
        left_height=float(np.median(shoulders[:, 1] - left[:, 1])) / sw,
        mirrored=mirrored_fraction(x, fps),
    )


def mirrored_fraction(motion: np.ndarray, fps: float = FPS, window_s: float = MIRROR_WINDOW_S) -> float:
    """Fraction of the non-overlapping `window_s` windows (where the right hand moves) in which the left wrist's
    velocity follows the right wrist's mirrored about the body's vertical axis: correlation above
    MIRROR_CORRELATION with at least MIRROR_MIN_MOTION of its motion. NaN with no such window."""
    x = as_batch(motion)[0]
    sw = shoulder_width(x)
    size = max(int(round(window_s * fps)), 2)
    count = len(x) // size
    right = x[: count * size, JOINT["right_wrist"]].reshape(count, size, 2) * [-1.0, 1.0]
    left = x[: count * size, JOINT["left_wrist"]].reshape(count, size, 2)
    right, left = np.diff(right, axis=1) * fps, np.diff(left, axis=1) * fps  # shoulder widths per second
    right = right - right.mean(axis=1, keepdims=True)
    left = left - left.mean(axis=1, keepdims=True)
    right_rms = np.sqrt((right**2).sum(axis=2).mean(axis=1))
    left_rms = np.sqrt((left**2).sum(axis=2).mean(axis=1))
    moving = right_rms > STILL_SW * sw
    if not moving.any():
        return float("nan")
    correlation = (left * right).sum(axis=(1, 2)) / np.maximum((size - 1) * left_rms * right_rms, 1e-12)
    mirrored = (correlation > MIRROR_CORRELATION) & (left_rms >= MIRROR_MIN_MOTION * right_rms)
    return float(mirrored[moving].mean())


def _amplitude(path: np.ndarray) -> float:
    return float(np.linalg.norm(path - path.mean(axis=0), axis=1).mean())
