"""2D keypoints -> 3D elbow and wrist positions on the rig, at the rig's natural size (docs/architecture.md,
"Lifting motion onto a rig"). Body coordinates are (left, back, up); the frontal plane is (left, up)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import MotionError
from .rotations import normalize
from .smoothing import gaussian_smooth

REACH = 0.95  # projected lengths up to this fraction of the bone are kept exactly ...
LIMIT = 0.999  # ... longer ones (only frames past the rig's reach) saturate smoothly towards this fraction
TOUCH = 0.25  # a bone whose depth is under this fraction of its length may change sides of the frontal plane
BEHIND_COST = {"upper": 1.0, "fore": 20.0}  # per frame, per bone length of depth behind: hands stay in front
DEPTH_SIGMA = 1.5  # key frames: depth near the frontal plane is smoothed this much (it moves fastest there)
ALTERNATIONS = 12  # soft projections of an out-of-reach elbow onto the discs the two bones reach
BEND_COST = 50.0  # per (bone length per frame^2)^2 of depth acceleration where a bone meets the frontal plane
MIN_FIT = (
    0.94  # the 2D may be shrunk (clip-wide, about the shoulder midpoint) this far to fit the upper arms,
)
FIT_QUANTILE = 0.75  # ... until this fraction of elbow targets lies within REACH of the rig's upper arm


@dataclass
class LiftConfig:
    """size scales the gestures about their clip median (1 = as generated); smoothing 0..1 (0 = off) is
    zero-phase and keeps each joint within 8% * smoothing of a shoulder width of the keypoints; sway 0..1 adds
    hips motion and spine lean from the keypoint hips/shoulders (0 leaves hips, spine and chest alone)."""

    size: float = 1.0
    smoothing: float = 0.3
    sway: float = 0.0

    def validate(self) -> None:
        for name, low, high in (("size", 0.0, 3.0), ("smoothing", 0.0, 1.0), ("sway", 0.0, 1.0)):
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


def soft_reach(distance: np.ndarray, length: float) -> np.ndarray:
    """The projected bone length for a target `distance` away: the distance itself up to REACH * length, then
    a smooth (C1) saturation towards LIMIT * length. Only frames past the knee are changed."""
    knee, limit = REACH * length, LIMIT * length
    over = np.maximum(distance - knee, 0.0)
    return np.where(distance > knee, knee + (limit - knee) * np.tanh(over / (limit - knee)), distance)


def place_arm(
    shoulder: np.ndarray,
    elbow_target: np.ndarray,
    wrist_target: np.ndarray,
    upper: float,
    fore: float,
    wrist_weight: float = 1.0,
):
    """Elbow and wrist (F, 3 body coordinates each) of an arm from `shoulder` (F, 3) with bones `upper` and
    `fore` long, whose projections on the frontal plane are placed by `place_in_plane`; each bone's depth
    follows from its foreshortening."""
    elbow, wrist = place_in_plane(shoulder[:, [0, 2]], elbow_target, wrist_target, upper, fore, wrist_weight)
    elbow3 = _lift(shoulder, elbow, upper, "upper")
    return elbow3, _lift(elbow3, wrist, fore, "fore")


def place_in_plane(origin, elbow_target, wrist_target, upper: float, fore: float, wrist_weight: float = 1.0):
    """Projected elbow and wrist (F, 2: left, up) of an arm from `origin` (F, 2), at the targets where the rig
    can reach. The wrist first: beyond the whole arm's reach it saturates towards the shoulder. An elbow target
    beyond the upper arm's reach (or, with the wrist, the forearm's) is replaced by the point within the upper
    arm's reach that minimises its squared error plus `wrist_weight` times the wrist's (the forearm pulls the
    wrist towards the elbow): projected gradient steps, soft projections. A large weight keeps the wrist on
    target where it can be. The wrist returned is before the forearm's own saturation (`reach_toward` from the elbow)."""
    wrist = origin + _soft_toward(wrist_target - origin, upper + fore)
    elbow = elbow_target
    for _ in range(ALTERNATIONS):
        reached = reach_toward(wrist, elbow, fore)  # the nearest point the forearm lets the elbow be
        blend = (elbow_target + wrist_weight * reached) / (1.0 + wrist_weight)
        elbow = origin + _soft_toward(blend - origin, upper)
    return elbow, wrist


def reach_toward(origin: np.ndarray, target: np.ndarray, length: float) -> np.ndarray:
    """Where a bone `length` long from `origin` (F, 2) towards `target` (F, 2) ends, projected (soft_reach)."""
    return origin + _soft_toward(target - origin, length)


def _soft_toward(offset: np.ndarray, length: float) -> np.ndarray:
    """`offset` (F, 2) shortened by soft_reach to fit a bone `length` long."""
    distance = np.linalg.norm(offset, axis=-1)
    return offset * (soft_reach(distance, length) / np.maximum(distance, 1e-12))[:, None]


def _lift(origin: np.ndarray, target: np.ndarray, length: float, bone: str) -> np.ndarray:
    """The far end (F, 3) of a bone `length` long from `origin` (F, 3) whose projection points at `target`
    (F, 2), with the depth its foreshortening implies, on the side of the frontal plane `depth_signs` picks.
    Near the plane, where the depth moves fastest, it is smoothed over DEPTH_SIGMA frames (elsewhere the
    projection is exact). `bone` ("upper" or "fore") picks the behind cost."""
    offset = _soft_toward(target - origin[:, [0, 2]], length)
    projected = np.linalg.norm(offset, axis=-1)
    depth = np.sqrt(np.maximum(length * length - projected * projected, 0.0))
    forward = depth_signs(depth / length, BEHIND_COST[bone]) * depth
    near_plane = np.clip(1.0 - depth / (TOUCH * length), 0.0, 1.0)  # 1 at the plane, 0 from TOUCH on
    forward += near_plane * (gaussian_smooth(forward, DEPTH_SIGMA) - forward)
    return origin + length * normalize(np.stack([offset[:, 0], -forward, offset[:, 1]], axis=-1))


def depth_signs(depth: np.ndarray, behind_cost: float) -> np.ndarray:
    """+1 (in front) or -1 (behind) per frame for a bone whose depth magnitudes are `depth` (in bone lengths).

    The side may change only at a touch: a run of frames with depth < TOUCH, switching after its shallowest
    frame. Sides are chosen for the stretches between touches by dynamic programming over the stretches: being
    behind costs behind_cost per frame and bone length of depth; a touch costs BEND_COST * (depth
    acceleration)^2 for the sides on each side of it (a bone swung through the plane crosses, one that turns
    back at the plane stays)."""
    frames = len(depth)
    near = depth < TOUCH
    starts = np.flatnonzero(near & ~np.concatenate([[False], near[:-1]]))
    ends = np.flatnonzero(near & ~np.concatenate([near[1:], [False]]))
    switch = np.array(
        [s + int(np.argmin(depth[s : e + 1])) for s, e in zip(starts, ends, strict=True)], dtype=int
    )
    switch = switch[(switch > 0) & (switch < frames - 1)]
    if switch.size == 0:
        return np.ones(frames)
    bounds = np.concatenate([[0], switch + 1, [frames]])
    behind = behind_cost * np.add.reduceat(depth, bounds[:-1])
    cost = np.array([0.0, behind[0]])  # best total so far ending in front / behind
    choice = np.zeros((len(switch), 2), dtype=int)  # previous side (0 front, 1 behind) of each best total
    for k, g in enumerate(switch):
        before, at, after = depth[g - 1], depth[g], depth[g + 1]
        stay = BEND_COST * (before - 2.0 * at + after) ** 2
        cross = BEND_COST * (before - 2.0 * at - after) ** 2
        step = cost[:, None] + np.array([[stay, cross], [cross, stay]])  # [previous side, next side]
        choice[k] = np.argmin(step, axis=0)
        cost = step[choice[k], [0, 1]] + np.array([0.0, behind[k + 1]])
    sides = np.empty(len(bounds) - 1, dtype=int)
    sides[-1] = int(np.argmin(cost))
    for k in range(len(switch) - 1, -1, -1):
        sides[k] = choice[k, sides[k + 1]]
    return np.repeat(1.0 - 2.0 * sides, np.diff(bounds))
