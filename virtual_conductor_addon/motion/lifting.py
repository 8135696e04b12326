"""2D keypoints -> 3D joint targets on the rig's frontal plane, in the rig's own proportions.

Elbows and wrists are placed at  shoulder midpoint + scale * keypoint offset  on the frontal plane (left, up),
with the depth that keeps each bone its own length, hands in front of the body:
elbow depth = sqrt(L_upper^2 - l^2) in front of the shoulder (l = projected shoulder->elbow distance), the
wrist likewise in front of the elbow. One scale for the whole clip: the rig's shoulder width, reduced where
the keypoint arm reaches further than the rig's arm could (so no frame needs clamping).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import MotionError

REACH = 0.95  # projected arm length may use this fraction of the bone: keeps the depth away from sqrt's cusp
LIMIT = 0.999  # beyond REACH (only on infeasible frames) the projected length saturates smoothly to this


@dataclass
class LiftConfig:
    """size scales the gestures about their clip median (1 = as generated); smoothing 0..1 (0 = off) is
    zero-phase and keeps each joint within 8% * smoothing of a shoulder width of the keypoints; sway 0..1 adds
    hips motion and spine lean from the keypoint hips/shoulders (0 leaves hips, spine and chest alone);
    see `choose_scale` for `unreached`."""

    size: float = 1.0
    smoothing: float = 0.3
    sway: float = 0.0
    # Fraction of elbow frames the clip scale may give up (soft-clamped, off target) for larger gestures.
    unreached: float = 0.0

    def validate(self) -> None:
        for name, low, high in (
            ("size", 0.0, 3.0),
            ("smoothing", 0.0, 1.0),
            ("sway", 0.0, 1.0),
            ("unreached", 0.0, 0.2),
        ):
            value = getattr(self, name)
            if not (np.isfinite(value) and low <= value <= high) or (name == "size" and value == 0):
                raise MotionError(
                    f"Motion {name} must be in {'(' if name == 'size' else '['}{low:g}, {high:g}]; got {value}."
                )

    @property
    def smoothing_sigma_frames(self) -> float:
        return 1.0 + 3.0 * self.smoothing if self.smoothing > 0 else 0.0

    @property
    def smoothing_tolerance(self) -> float:
        """Largest distance (in keypoint shoulder widths) smoothing may move an arm keypoint."""
        return 0.08 * self.smoothing


def choose_scale(
    natural: float,
    shoulders: dict[str, np.ndarray],
    elbows: dict[str, np.ndarray],
    wrists: dict[str, np.ndarray],
    upper_lengths: dict[str, float],
    fore_lengths: dict[str, float],
    unreached: float = 0.0,
) -> float:
    """One scale for the clip: the largest s <= natural that reaches the most elbow targets (all of them on any
    rig whose upper arm is longer than half its shoulder width), every wrist target always reachable.

    shoulders: side -> (F,2) posed shoulder relative to the posed shoulder midpoint (rig units, frontal plane);
    elbows/wrists: side -> (F,2) keypoint offsets from the shoulder midpoint (keypoint shoulder widths).
    Elbow: |s*v - h| <= REACH * L_upper gives per frame an interval of s (a quadratic in s).
    Wrist: s * |v_wrist - v_elbow| <= REACH * L_fore.
    unreached > 0 trades that fraction of elbow and of wrist frames (soft-clamped, off target) for a larger
    scale: a frame turned sideways with an elbow across the chest, or one overlong generated forearm, otherwise
    shrinks the gestures of the whole clip.
    """
    cap = float(natural)
    intervals = []
    for side in shoulders:
        forearm = float(np.quantile(np.linalg.norm(wrists[side] - elbows[side], axis=-1), 1.0 - unreached))
        if forearm > 1e-12:
            cap = min(cap, REACH * fore_lengths[side] / forearm)
        intervals.append(_elbow_intervals(elbows[side], shoulders[side], REACH * upper_lengths[side]))
    candidates = np.concatenate([[cap]] + [high[high < cap] for _, high in intervals])
    reached = np.zeros(len(candidates))
    for low, high in intervals:
        reached += np.searchsorted(np.sort(low), candidates, "right") - np.searchsorted(
            np.sort(high), candidates, "left"
        )
    allowed = np.floor(unreached * sum(len(low) for low, _ in intervals))
    best = candidates[reached >= reached.max() - allowed]
    return float(best.max())


def _elbow_intervals(v: np.ndarray, h: np.ndarray, reach: float) -> tuple[np.ndarray, np.ndarray]:
    """Per frame [low, high] of scales s with |s*v - h| <= reach ([inf, inf] where none)."""
    a = np.sum(v * v, axis=-1)
    b = np.sum(v * h, axis=-1)
    c = np.sum(h * h, axis=-1) - reach**2
    disc = b * b - a * c
    root = np.sqrt(np.maximum(disc, 0.0))
    safe_a = np.maximum(a, 1e-12)
    low, high = np.maximum((b - root) / safe_a, 0.0), (b + root) / safe_a
    still = a <= 1e-12  # target at the shoulder midpoint whatever the scale
    low, high = np.where(still, 0.0, low), np.where(still, np.inf, high)
    infeasible = np.where(still, c > 0, (disc < 0) | (high <= 0))
    return np.where(infeasible, np.inf, low), np.where(infeasible, np.inf, high)


def place_in_front(origin: np.ndarray, origin_depth: np.ndarray, target: np.ndarray, length: float):
    """Put a joint `length` away from `origin` (frontal-plane (F,2) + depth (F,)), at `target` on the plane
    where reachable, in front (smaller back-coordinate). Returns (plane position (F,2), depth (F,))."""
    offset = target - origin
    dist = np.linalg.norm(offset, axis=-1)
    knee, limit = REACH * length, LIMIT * length
    over = np.maximum(dist - knee, 0.0)
    projected = np.where(dist > knee, knee + (limit - knee) * np.tanh(over / (limit - knee)), dist)
    plane = origin + offset * (projected / np.maximum(dist, 1e-12))[:, None]
    depth = origin_depth - np.sqrt(np.maximum(length * length - projected * projected, 0.0))
    return plane, depth
