"""The shoulder girdle: clavicles that move the upper arms' heads towards elbows out of reach (docs/architecture.md,
"Lifting motion onto a rig"). Only for learned 2D on rigs with mapped shoulder bones; others are left as they are.

An elbow target the upper arm cannot reach is reached, as a body does, partly by the clavicle: the shoulder's tip
moves towards it by what is missing. Targets are relative to the rig's posed shoulder midpoint, which moves with
the tips, so only the difference of the two tips' moves brings targets within reach (raising both shoulders
raises the targets with them): the girdle tilts, each tip moving by half of its own shortfall less the other
side's. A tip's total travel (with the shrug the keypoints ask for) is softly bounded by a MAX_TURN swing of its
clavicle, and the displacement is smoothed over time: no popping.
"""

from __future__ import annotations

import numpy as np

from .lifting import REACH
from .posing import PoseSolver
from .rig_geometry import SIDES, RigGeometry
from .smoothing import gaussian_smooth

MAX_TURN = np.radians(25.0)  # the farthest a clavicle swings from its rest pose (tip travel: its chord)
KNEE = 0.5  # tip travel up to this fraction of the bound is kept exactly; beyond, it saturates smoothly
SIGMA = 2.0  # key frames: the tips' displacement is smoothed this much
ROUNDS = 4  # alternations of placing the tips and measuring what is still missing


def reach_with_shoulders(
    solver: PoseSolver, geo: RigGeometry, rel: np.ndarray, elbows: dict[str, int]
) -> None:
    """Re-aim the mapped shoulder bones (already shrugged) so that the upper arms' heads move towards elbow
    targets (rig shoulder midpoint + shoulder width * `rel`[:, elbows[side]], frontal plane) beyond the upper
    arm's REACH. `rel` is (F, 13, 2): (left, up) keypoint offsets in shoulder widths."""
    bones = {side: geo.arms[side].shoulder_bone for side in SIDES if geo.arms[side].shoulder_bone}
    if not bones:
        return
    shrugged = {
        side: geo.to_body(solver.point(bone, geo.arms[side].shoulder)).copy() for side, bone in bones.items()
    }
    rest = {side: geo.to_body(geo.arms[side].shoulder) for side in bones}
    bound = {side: _chord(solver, geo, side) for side in bones}
    push = {side: np.zeros((solver.frames, 2)) for side in bones}
    for _ in range(ROUNDS):
        missing = _missing(solver, geo, rel, elbows)
        for side, bone in bones.items():
            other = "R" if side == "L" else "L"
            push[side] = gaussian_smooth(push[side] + 0.5 * (missing[side] - missing[other]), SIGMA)
            tip = shrugged[side] + np.insert(push[side], 1, 0.0, axis=-1)
            travel = _soft_bound(tip - rest[side], bound[side])
            solver.aim(bone, geo.arms[side].shoulder, geo.to_armature(rest[side] + travel))
            push[side] = _plane(rest[side] + travel - shrugged[side])  # no more than the bound lets through


def _missing(solver: PoseSolver, geo: RigGeometry, rel: np.ndarray, elbows: dict[str, int]) -> dict:
    """Per side, (F, 2): how far each elbow target lies beyond REACH of its upper arm, towards the target."""
    shoulders = {
        side: _plane(geo.to_body(solver.point(geo.arms[side].upper_arm, geo.arms[side].shoulder)))
        for side in SIDES
    }
    mid = 0.5 * (shoulders["L"] + shoulders["R"])
    missing = {}
    for side in SIDES:
        offset = mid + geo.shoulder_width * rel[:, elbows[side]] - shoulders[side]
        distance = np.linalg.norm(offset, axis=-1, keepdims=True)
        short = np.maximum(distance - REACH * geo.arms[side].upper_length, 0.0)
        missing[side] = short * offset / np.maximum(distance, 1e-12)
    return missing


def _plane(body: np.ndarray) -> np.ndarray:
    return body[..., [0, 2]]


def _chord(solver: PoseSolver, geo: RigGeometry, side: str) -> float:
    """The tip travel of a MAX_TURN swing of the side's clavicle (rest head -> upper-arm head)."""
    head = solver.rig.bones[geo.arms[side].shoulder_bone].head
    return float(2.0 * np.linalg.norm(geo.arms[side].shoulder - head) * np.sin(0.5 * MAX_TURN))


def _soft_bound(travel: np.ndarray, bound: float) -> np.ndarray:
    """`travel` (F, 3) kept up to KNEE * bound, then saturating smoothly (C1) towards `bound`."""
    size = np.linalg.norm(travel, axis=-1, keepdims=True)
    knee = KNEE * bound
    soft = np.where(size > knee, knee + (bound - knee) * np.tanh((size - knee) / (bound - knee)), size)
    return travel * soft / np.maximum(size, 1e-12)
