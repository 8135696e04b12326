"""Set-level and continuity metrics: diversity across motions, and the step/jerk at chunk seams.

The official inference (``test_unseen.py``) generates independent 60 s chunks, so the motion can jump every
1800 frames; vconductor.generation is seamless. :func:`seam_jerk` measures that: the frame-to-frame step (and
jerk) at the chunk boundaries against the same quantity everywhere else.
"""

from dataclasses import dataclass

import numpy as np

from ..skeleton import FPS
from .common import MetricError, as_batch, flat

OFFICIAL_CHUNK_FRAMES = 60 * FPS  # test_unseen.py's 60 s chunks


def frame_steps(motion: np.ndarray) -> np.ndarray:
    """Frame-to-frame motion (T - 1,): L2 norm over the 26 coordinates of x[t] - x[t-1], for t >= 1."""
    x = flat(as_batch(motion))[0]
    return np.linalg.norm(np.diff(x, axis=0), axis=1)


def frame_jerk(motion: np.ndarray) -> np.ndarray:
    """Third difference per frame (T - 3,): L2 norm over the 26 coordinates; entry k spans frames k..k+3."""
    x = flat(as_batch(motion))[0]
    return np.linalg.norm(np.diff(x, n=3, axis=0), axis=1)


@dataclass(frozen=True)
class SeamJerk:
    """Steps and jerk at chunk boundaries vs elsewhere (ratios near 1: no visible seams)."""

    boundary_steps: np.ndarray  # step from frame b-1 to frame b, for each boundary b
    typical_step: float  # median step away from the boundaries
    high_step: float  # 99.5th percentile of the steps away from the boundaries
    step_ratio: float  # max boundary step / high_step
    boundary_jerk: np.ndarray  # largest third difference among the windows containing each boundary step
    high_jerk: float  # 99.5th percentile of the jerk away from the boundaries
    jerk_ratio: float  # max boundary jerk / high_jerk


def seam_jerk(motion: np.ndarray, chunk_frames: int = OFFICIAL_CHUNK_FRAMES) -> SeamJerk:
    """Step size and jerk at the boundaries b = chunk_frames, 2 chunk_frames, ... against all other frames."""
    steps, jerk = frame_steps(motion), frame_jerk(motion)
    if chunk_frames < 4:
        raise MetricError(f"chunk_frames must be at least 4, got {chunk_frames}")
    boundaries = np.arange(chunk_frames, len(steps) + 1, chunk_frames)
    if len(boundaries) == 0:
        raise MetricError(f"no chunk boundary: the motion has {len(steps) + 1} frames, chunks {chunk_frames}")
    step_at = boundaries - 1  # steps[k] is the step from frame k to k+1
    away = np.ones(len(steps), bool)
    away[step_at] = False
    # jerk[k] uses frames k..k+3; it contains the boundary step (frames b-1, b) for k in b-3..b-1
    jerk_windows = np.clip(step_at[:, None] + np.arange(-2, 1)[None, :], 0, len(jerk) - 1)
    jerk_away = np.ones(len(jerk), bool)
    jerk_away[jerk_windows.ravel()] = False
    boundary_jerk = jerk[jerk_windows].max(axis=1)
    high_step = float(np.percentile(steps[away], 99.5))
    high_jerk = float(np.percentile(jerk[jerk_away], 99.5))
    return SeamJerk(
        boundary_steps=steps[step_at],
        typical_step=float(np.median(steps[away])),
        high_step=high_step,
        step_ratio=float(steps[step_at].max() / high_step) if high_step > 0 else float("inf"),
        boundary_jerk=boundary_jerk,
        high_jerk=high_jerk,
        jerk_ratio=float(boundary_jerk.max() / high_jerk) if high_jerk > 0 else float("inf"),
    )


def motion_signature(motion, fps: float = FPS) -> np.ndarray:
    """Per-sample (N, 52) features: the std over time of each of the 26 coordinates (amplitude, image units)
    and the mean |velocity| of each (image units per second)."""
    x = flat(as_batch(motion))
    return np.concatenate([x.std(axis=1), np.abs(np.diff(x, axis=1)).mean(axis=1) * fps], axis=1)


def diversity(motions, fps: float = FPS) -> float:
    """Mean pairwise Euclidean distance between the :func:`motion_signature` of distinct motions of a set
    (N, T, 13, 2): how different the generated pieces are from each other (0 when all move alike). Compare with
    the same number on the real motions. NaN for fewer than two motions."""
    feats = motion_signature(motions, fps)
    n = len(feats)
    if n < 2:
        return float("nan")
    from scipy.spatial.distance import pdist

    return float(pdist(feats).mean())
