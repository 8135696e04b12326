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

from ..contract import LEFT_HIP, RIGHT_HIP
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


def follow_authored_shoulders(
    solver: PoseSolver, geo: RigGeometry, rel3d: np.ndarray, joints: dict[str, tuple[int, int, int]]
) -> None:
    """Authored 3D: each mapped shoulder's tip (the upper arm's head) goes where the author's shoulder is, at the
    size at which the rig's arms are the author's (`proportion_size`): its shrugs and tilts (both shoulders
    rising over the hips too, `_girdle_rise`), and, on a rig whose arms are
    short (or long) for its shoulders, shoulders that close in (or open out) so the arms, keeping the authored
    directions, draw the authored gesture about the body. The tip's height and sideways position are the
    target's; its depth is what the clavicle's length leaves (on its rest side of the clavicle's head); the
    travel is softly bounded by a MAX_TURN swing. `joints[side]`: the motion's shoulder, elbow, wrist indices."""
    bones = {side: geo.arms[side].shoulder_bone for side in SIDES if geo.arms[side].shoulder_bone}
    if not bones:
        return
    size = geo.shoulder_width * proportion_size(geo, rel3d, joints)
    rest = {side: geo.to_body(solver.point(bone, geo.arms[side].shoulder)) for side, bone in bones.items()}
    if len(rest) == 2:
        mid = 0.5 * (rest["L"] + rest["R"])
    else:  # one mapped clavicle: the other shoulder's rest position, carried as the upper arm's parent is
        side = next(iter(rest))
        other = "R" if side == "L" else "L"
        other_rest = geo.to_body(solver.point(geo.arms[other].upper_arm, geo.arms[other].shoulder))
        mid = 0.5 * (rest[side] + other_rest)
    rise = _girdle_rise(rel3d)
    for side, bone in bones.items():
        pivot = geo.to_body(solver.point(bone, solver.rig.bones[bone].head))
        target = mid + size * rel3d[:, joints[side][0]]
        target[:, 2] += size * rise
        tip = _on_clavicle(pivot, rest[side], target)
        travel = _soft_bound(tip - rest[side], _chord(solver, geo, side))
        solver.aim(bone, geo.arms[side].shoulder, geo.to_armature(rest[side] + travel))


def _girdle_rise(rel3d: np.ndarray) -> np.ndarray:
    """(F,) how far the author's shoulders' midpoint rises over the hips (both shoulders up: a breath, a dip
    into the beat), about its clip median: the rig's shoulders are carried by its chest, which stays."""
    height = -0.5 * (rel3d[:, LEFT_HIP, 2] + rel3d[:, RIGHT_HIP, 2])
    return height - np.median(height)


def proportion_size(geo: RigGeometry, rel3d: np.ndarray, joints: dict[str, tuple[int, int, int]]) -> float:
    """The rig's arm length (upper arm + forearm, per shoulder width) over the author's (per keypoint shoulder
    width; clip medians, both sides): 1 on a rig with the authored proportions."""
    rig = np.mean([(geo.arms[s].upper_length + geo.arms[s].fore_length) / geo.shoulder_width for s in SIDES])
    authored = []
    for shoulder, elbow, wrist in joints.values():
        upper = np.linalg.norm(rel3d[:, elbow] - rel3d[:, shoulder], axis=-1)
        fore = np.linalg.norm(rel3d[:, wrist] - rel3d[:, elbow], axis=-1)
        authored.append(float(np.median(upper + fore)))
    return float(np.clip(rig / max(np.mean(authored), 1e-6), 0.5, 2.0))


def _on_clavicle(pivot: np.ndarray, rest_tip: np.ndarray, target: np.ndarray) -> np.ndarray:
    """(F, 3) body points as far from `pivot` as `rest_tip`, at the target's left and up coordinates where the
    clavicle reaches them (its depth on the rest tip's side of the pivot), else towards them in the plane."""
    radius = np.linalg.norm(rest_tip - pivot, axis=-1, keepdims=True)
    plane = (target - pivot)[:, [0, 2]]
    reach = np.linalg.norm(plane, axis=-1, keepdims=True)
    plane = plane * np.minimum(1.0, 0.999 * radius / np.maximum(reach, 1e-12))
    side = np.where((rest_tip - pivot)[:, 1:2] >= 0.0, 1.0, -1.0)
    depth = side * np.sqrt(np.maximum(radius**2 - np.sum(plane**2, axis=-1, keepdims=True), 0.0))
    return pivot + np.concatenate([plane[:, :1], depth, plane[:, 1:]], axis=-1)
