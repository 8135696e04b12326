"""The baton in the right hand (docs/conducting.md#baton): held a little forward and in from the forearm's line,
its tip drawing the pattern with a flexible wrist, so the tip travels further than the hand (about 1.5x)."""

import numpy as np
from scipy.ndimage import gaussian_filter1d

from .tuning import BATON_HOLD, BATON_LENGTH, ConductorConfig


def baton_tip(elbow: np.ndarray, wrist: np.ndarray, fps: float, config: ConductorConfig) -> np.ndarray:
    """The tip (T, 3) in the body frame for the right arm's 3D `elbow` and `wrist` (T, 3).

    The wrist flexes with the hand's motion about its recent path: below it (into an ictus) the tip dips
    further, above it (the top of a rebound) the tip lifts, which is what makes the tip's pattern larger and
    crisper than the hand's."""
    forearm = _unit(wrist - elbow)
    held = _unit(forearm + np.asarray(BATON_HOLD))
    height = gaussian_filter1d(wrist[:, 1], 0.04 * fps, mode="nearest")
    recent = gaussian_filter1d(wrist[:, 1], 0.5 * fps, mode="nearest")
    flex = config.wrist_flex * np.tanh((height - recent) / 0.05)  # y is down: positive = below its path
    direction = _unit(held + np.column_stack([np.zeros_like(flex), flex, np.zeros_like(flex)]))
    return wrist + BATON_LENGTH * direction


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.maximum(np.linalg.norm(v, axis=-1, keepdims=True), 1e-9)
