"""Input handling shared by the metrics: motion arrays (T, 13, 2) or batches (N, T, 13, 2)."""

import numpy as np

from ..skeleton import NUM_JOINTS

DEFINITIONS = ("official", "paper")


class MetricError(ValueError):
    """Metric inputs or models that cannot be used, with a one-line message."""


def as_batch(motion, name: str = "motion") -> np.ndarray:
    """A float64 (N, T, 13, 2) copy of one motion (T, 13, 2) or a batch (N, T, 13, 2)."""
    x = np.asarray(motion, dtype=np.float64)
    if x.ndim == 3:
        x = x[None]
    if x.ndim != 4 or x.shape[2:] != (NUM_JOINTS, 2):
        raise MetricError(f"{name}: expected (T, {NUM_JOINTS}, 2) or (N, T, {NUM_JOINTS}, 2), got {x.shape}")
    if x.shape[0] == 0 or x.shape[1] < 2:
        raise MetricError(f"{name}: needs at least one sample of at least 2 frames, got {x.shape}")
    if not np.isfinite(x).all():
        raise MetricError(f"{name}: contains non-finite values")
    return x


def as_pair(real, fake) -> tuple[np.ndarray, np.ndarray]:
    """Both motions as batches of the same shape."""
    r, f = as_batch(real, "real"), as_batch(fake, "fake")
    if r.shape != f.shape:
        raise MetricError(f"real {r.shape} and fake {f.shape} must have the same shape")
    return r, f


def flat(x: np.ndarray) -> np.ndarray:
    """(N, T, 13, 2) -> (N, T, 26), index joint*2 + coord as the official code flattens."""
    return x.reshape(x.shape[0], x.shape[1], -1)


def check_definition(definition: str) -> str:
    if definition not in DEFINITIONS:
        raise MetricError(f"definition must be one of {DEFINITIONS}, not {definition!r}")
    return definition
