"""The clip-wide size at which learned 2D is keyed on a rig (docs/architecture.md, "Lifting motion onto a rig").

At the rig's natural size (its shoulder width per keypoint shoulder width) a model whose arms are long for its
shoulders puts elbows beyond the rig's upper arms. A slightly smaller clip-wide size (about the shoulder
midpoint) lets them follow: one scale for the whole clip keeps the gesture's shape. `choose_fit` picks the
size, and how an unreachable elbow shares its error with the wrist, that follow the keypoints best (projected
RMS of elbows and wrists after one least-squares scale, predicted on the frontal plane from the rest shoulders)
while the wrists keep at least AMPLITUDE_FLOOR of their gesture amplitude.
"""

from __future__ import annotations

import numpy as np

from .lifting import place_in_plane, reach_toward

AMPLITUDE_FLOOR = 0.92  # predicted wrist amplitude / keypoint wrist amplitude, both sides (issue 14 asks 0.9)
FITS = np.linspace(1.0, 0.86, 15)  # candidate sizes, in the natural size
WRIST_WEIGHTS = (
    1.0,
    1e3,
)  # unreachable elbow: error split evenly with the wrist, or the wrist kept on target
GAIN = 1e-4  # a smaller size must lower the predicted RMS by this much (shoulder widths) to be preferred
SAMPLES = 2000  # frames the prediction looks at, evenly spread (long clips: it is a clip-wide statistic)


def choose_fit(
    targets: dict[str, tuple[np.ndarray, np.ndarray]],
    shoulders: dict[str, np.ndarray],
    lengths: dict[str, tuple[float, float]],
) -> tuple[float, float]:
    """(size in the natural size, wrist weight for `place_arm`). Per side: `targets` the elbow and wrist
    offsets (F, 2 each) from the shoulder midpoint at natural size, `shoulders` the rig's rest shoulder (2,)
    and `lengths` its upper arm and forearm, all in rig shoulder widths on the frontal plane."""
    step = -(-len(next(iter(targets.values()))[0]) // SAMPLES)
    targets = {side: (elbow[::step], wrist[::step]) for side, (elbow, wrist) in targets.items()}
    best = (np.inf, 1.0, WRIST_WEIGHTS[-1])
    for weight in WRIST_WEIGHTS:
        for fit in FITS:
            placed = {
                side: _placed(shoulders[side], fit * elbow, fit * wrist, *lengths[side], weight)
                for side, (elbow, wrist) in targets.items()
            }
            amplitude = min(
                _amplitude(placed[side][1]) / _amplitude(wrist) for side, (_, wrist) in targets.items()
            )
            if amplitude < AMPLITUDE_FLOOR:
                break  # smaller sizes only shrink the wrists further
            error = _follow_error(targets, placed)
            if error < best[0] - GAIN:
                best = (error, float(fit), weight)
    return best[1], best[2]


def _placed(shoulder, elbow_target, wrist_target, upper: float, fore: float, weight: float):
    origin = np.broadcast_to(shoulder, elbow_target.shape)
    elbow, wrist = place_in_plane(origin, elbow_target, wrist_target, upper, fore, weight)
    return elbow, reach_toward(elbow, wrist, fore)


def _amplitude(track: np.ndarray) -> float:
    """Mean distance of a (F, 2) track from its mean."""
    return float(np.mean(np.linalg.norm(track - track.mean(axis=0), axis=-1)))


def _follow_error(targets, placed) -> float:
    """Mean over frames of the RMS distance of placed elbows and wrists from their targets after one
    least-squares scale (the check of tests/blender/test_lifted_motion.py)."""
    want = np.stack([t for side in targets for t in targets[side]], axis=1)
    got = np.stack([p for side in targets for p in placed[side]], axis=1)
    scale = np.sum(want * got) / max(float(np.sum(want * want)), 1e-12)
    return float(np.mean(np.sqrt(np.mean(np.sum((got - scale * want) ** 2, axis=-1), axis=1))))
