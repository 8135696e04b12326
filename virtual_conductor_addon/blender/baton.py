"""The default figure's baton follows the take: held in the hand that conducts with it, hidden without one.

The baton object (rig_builder or rig_baton marks it with BATON_KEY) is modelled in the right hand, in armature
space; on any rig the hands are the bone map's. A take
decides the hand: the wrist nearer the motion's baton tip; a motion that authors 3D but no tip has no baton; a
2D-only motion (the learned models) says nothing, so the style it was requested with decides (a left-handed
conductor holds it in the left hand, `baton` off hides it). The left grip is the right one mirrored about the
armature's YZ plane (the default figure is symmetric). Applying and switching takes both call `hold_baton`;
both run inside undoable steps, so undo restores the baton with the take.
"""

from __future__ import annotations

import numpy as np
from mathutils import Matrix

from ..contract import LEFT_WRIST, RIGHT_WRIST, Motion
from ..contract_style import ConductingStyle
from ..motion.errors import MotionError
from . import armature

BATON_KEY = "vconductor_baton"  # custom property on the baton object built with the default figure
HANDS = {"L": "hand.L", "R": "hand.R"}
MIRROR = Matrix.Scale(-1.0, 4, (1.0, 0.0, 0.0))  # armature space: x -> -x


def baton_side(motion: Motion, style: ConductingStyle | None = None) -> str:
    """ "L" or "R": the hand holding the baton in this motion, or "" when it has none."""
    if motion.baton_tip is not None:
        tip = np.asarray(motion.baton_tip, dtype=np.float64)[:, :2]
        keypoints = np.asarray(motion.keypoints, dtype=np.float64)
        distance = {
            side: np.mean(np.linalg.norm(keypoints[:, joint] - tip, axis=-1))
            for side, joint in (("L", LEFT_WRIST), ("R", RIGHT_WRIST))
        }
        return min(distance, key=distance.get)
    if motion.keypoints3d is not None:  # authored in 3D without a baton
        return ""
    style = style or ConductingStyle()
    if not style.baton:
        return ""
    return "L" if style.left_handed else "R"


def rig_batons(rig) -> list:
    """The baton objects carried by this armature's bones."""
    return [child for child in rig.children if child.get(BATON_KEY) and child.parent_type == "BONE"]


def hold_baton(rig, side: str, hands: dict[str, str] | None = None) -> None:
    """Parent the rig's baton(s) to the hand of `side` ("L" or "R", mirrored grip for "L"), or hide them for
    ""; `hands` ("L"/"R" -> bone) defaults to the armature's stored bone map, else the default figure's names; a
    hand the armature lacks leaves the baton where it is."""
    hands = hands or mapped_hands(rig)
    for baton in rig_batons(rig):
        baton.hide_viewport = baton.hide_render = not side
        hand = rig.data.bones.get(hands.get(side) or "")
        if hand is None:
            continue
        grip = MIRROR if side == "L" else Matrix.Identity(4)
        baton.parent_bone = hand.name
        tail = hand.matrix_local @ Matrix.Translation((0.0, hand.length, 0.0))  # a bone parent's frame
        baton.matrix_parent_inverse = tail.inverted() @ grip


def mapped_hands(rig, bone_map=None) -> dict[str, str]:
    """ "L"/"R" -> the hand bone: the map's (`bone_map`, else the armature's stored or detected one), else
    hand.L/R (the default figure's)."""
    try:
        mapped = (bone_map or armature.resolve_bone_map(rig)[0]).bones
    except (
        MotionError
    ):  # a hand-edited map naming a bone twice: Generate reports it, the baton keeps hand.L/R
        mapped = {}
    return {side: mapped.get(name, name) for side, name in HANDS.items()}
