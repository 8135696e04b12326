"""The conducting hand's wrist: when a motion authors its baton tip (the procedural conductor), the hand turns so
the baton held in it points where the tip is, so the wrist flex (the tip travelling further than the hand) shows
on the rig (docs/architecture.md, "Lifting motion onto a rig")."""

from __future__ import annotations

import numpy as np

from ..contract import LEFT_WRIST, RIGHT_WRIST
from .errors import MotionError
from .posing import PoseSolver
from .rig import RigRest
from .rig_geometry import RigGeometry
from .rotations import normalize

BATON_BONE = "baton"  # the default rig's bone for the baton's rest direction (a child of a hand)


def baton_directions(keypoints3d: np.ndarray, baton_tip) -> tuple[str, np.ndarray]:
    """The side holding the baton ("L"/"R": the wrist nearer the tip) and the baton's direction per frame
    (T, 3) in the rig's body coordinates (left, back, up)."""
    tip = np.asarray(baton_tip, dtype=np.float64)
    if tip.shape != (len(keypoints3d), 3) or not np.all(np.isfinite(tip)):
        raise MotionError(f"The baton tip must be finite, one (x, y, z) per frame; got shape {tip.shape}.")
    near = {
        side: np.linalg.norm(tip - keypoints3d[:, joint], axis=-1)
        for side, joint in (("L", LEFT_WRIST), ("R", RIGHT_WRIST))
    }
    side = "L" if np.median(near["L"]) < np.median(near["R"]) else "R"
    wrist = keypoints3d[:, LEFT_WRIST if side == "L" else RIGHT_WRIST]
    direction = (tip - wrist)[:, [0, 2, 1]] * np.array([1.0, -1.0, -1.0])  # x left, y down, z forward -> body
    if np.linalg.norm(direction, axis=-1).min() < 1e-9:
        raise MotionError("The baton tip sits on the wrist that holds it.")
    return side, normalize(direction)


def flex_wrist(
    solver: PoseSolver,
    geo: RigGeometry,
    rig: RigRest,
    side: str,
    wrist: np.ndarray,
    direction: np.ndarray,
    rest_direction: np.ndarray | None = None,
) -> None:
    """Aim the `side` hand so its baton points along `direction` (F, 3, body coordinates) from `wrist` (F, 3,
    body coordinates of the posed wrist); `rest_direction`: the baton's at rest (armature space; default: the
    default rig's baton bone, else the hand). A rig without a mapped hand is left alone."""
    hand = geo.bones.get(f"hand.{side}")
    if hand is None or not rig.is_ancestor(geo.arms[side].forearm, hand):
        return
    head = rig.bones[hand].head
    rest = _rest_direction(rig, hand, side) if rest_direction is None else normalize(rest_direction)
    solver.aim(hand, head + rest, geo.to_armature(wrist + direction))


def _rest_direction(rig: RigRest, hand: str, side: str) -> np.ndarray:
    """The baton's direction at rest (armature space): the default rig's baton bone, mirrored across the
    armature's X = 0 plane when it hangs from the other hand; else the hand bone's own direction."""
    baton = rig.bones.get(BATON_BONE)
    if baton is not None and baton.parent is not None:
        direction = baton.rotation[:, 1]
        if baton.parent != hand:  # modelled in the other hand: a symmetric rig holds it mirrored
            direction = direction * np.array([-1.0, 1.0, 1.0])
        return normalize(direction)
    return normalize(rig.bones[hand].rotation[:, 1])
