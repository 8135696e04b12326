"""More rigs: Auto-Rig Pro, VRoid (J_Bip), VRM 1.0 and Unity humanoid, Daz Genesis 3/8 and Character Creator
naming, each built in real Blender with its own hierarchy (extra spine and neck bones, twist bones, IK controls)
with five three-segment fingers per hand, in an A-pose and a T-pose: detected, generated (procedural), and the
elbows and wrists measured as test_any_rig does; the fingers of the baton hand take the grip."""

import numpy as np
import pytest

from .any_rig_scene import RigCase
from .test_any_rig import assert_generation_follows

FINGERS = ("thumb", "index", "middle", "ring", "pinky")


def _fingers(pattern: str, sides: dict, names: dict, segments=("1", "2", "3"), thumb_segments=None) -> dict:
    out = {}
    for side, side_name in sides.items():
        for finger, finger_name in zip(FINGERS, names, strict=True):
            for number, segment in enumerate(
                thumb_segments if finger == "thumb" and thumb_segments else segments, 1
            ):
                out[f"{finger}.{number:02d}.{side}"] = pattern.format(
                    side=side_name, finger=finger_name, seg=segment
                )
    return out


def _arms(sides: dict, parts: dict) -> dict:
    return {f"{k}.{s}": v.format(s=name) for s, name in sides.items() for k, v in parts.items()}


LEGS = {"leg.L": "thigh_l_extra", "leg.R": "thigh_r_extra"}
CONVENTIONS = {
    "auto_rig_pro": (
        {
            **{
                "hips": "c_root.x",
                "spine": "c_spine_01.x",
                "spine1": "c_spine_02.x",
                "chest": "c_spine_03.x",
            },
            **{"neck": "c_neck.x", "head": "c_head.x", "leg.L": "c_thigh_fk.l", "leg.R": "c_thigh_fk.r"},
            **_arms(
                {"L": "l", "R": "r"},
                {"shoulder": "c_shoulder.{s}", "upper_arm": "c_arm_fk.{s}", "forearm": "c_forearm_fk.{s}"},
            ),
            **_arms({"L": "l", "R": "r"}, {"hand": "c_hand_fk.{s}"}),
        },
        _fingers("c_{finger}{seg}.{side}", {"L": "l", "R": "r"}, FINGERS),
        {"c_hand_ik.l": "forearm.L", "c_hand_ik.r": "forearm.R"},
    ),
    "vroid": (
        {
            **{"hips": "J_Bip_C_Hips", "spine": "J_Bip_C_Spine", "spine1": "J_Bip_C_Chest"},
            **{"chest": "J_Bip_C_UpperChest", "neck": "J_Bip_C_Neck", "head": "J_Bip_C_Head"},
            **{"leg.L": "J_Bip_L_UpperLeg", "leg.R": "J_Bip_R_UpperLeg"},
            **_arms(
                {"L": "L", "R": "R"},
                {"shoulder": "J_Bip_{s}_Shoulder", "upper_arm": "J_Bip_{s}_UpperArm"},
            ),
            **_arms({"L": "L", "R": "R"}, {"forearm": "J_Bip_{s}_LowerArm", "hand": "J_Bip_{s}_Hand"}),
        },
        _fingers(
            "J_Bip_{side}_{finger}{seg}", {"L": "L", "R": "R"}, ("Thumb", "Index", "Middle", "Ring", "Little")
        ),
        {},
    ),
    "vrm_humanoid": (
        {
            **{"hips": "hips", "spine": "spine", "spine1": "chest", "chest": "upperChest", "neck": "neck"},
            **{"head": "head", "leg.L": "leftUpperLeg", "leg.R": "rightUpperLeg"},
            **_arms(
                {"L": "left", "R": "right"},
                {
                    "shoulder": "{s}Shoulder",
                    "upper_arm": "{s}UpperArm",
                    "forearm": "{s}LowerArm",
                    "hand": "{s}Hand",
                },
            ),
        },
        _fingers(
            "{side}{finger}{seg}",
            {"L": "left", "R": "right"},
            ("Thumb", "Index", "Middle", "Ring", "Little"),
            ("Proximal", "Intermediate", "Distal"),
            ("Metacarpal", "Proximal", "Distal"),
        ),
        {},
    ),
    "unity_humanoid": (
        {
            **{"hips": "Hips", "spine": "Spine", "spine1": "Chest", "chest": "UpperChest", "neck": "Neck"},
            **{"head": "Head", "leg.L": "LeftUpperLeg", "leg.R": "RightUpperLeg"},
            **_arms(
                {"L": "Left", "R": "Right"},
                {
                    "shoulder": "{s}Shoulder",
                    "upper_arm": "{s}UpperArm",
                    "forearm": "{s}LowerArm",
                    "hand": "{s}Hand",
                },
            ),
        },
        _fingers(
            "{side}{finger}{seg}",
            {"L": "Left", "R": "Right"},
            ("Thumb", "Index", "Middle", "Ring", "Little"),
            ("Proximal", "Intermediate", "Distal"),
        ),
        {},
    ),
    "daz_genesis": (
        {
            **{"hips": "hip", "spine": "abdomenLower", "spine1": "abdomenUpper", "spine2": "chestLower"},
            **{"chest": "chestUpper", "neck": "neckLower", "neck2": "neckUpper", "head": "head"},
            **{"leg.L": "lThighBend", "leg.R": "rThighBend"},
            **_arms({"L": "l", "R": "r"}, {"shoulder": "{s}Collar", "upper_arm": "{s}ShldrBend"}),
            **_arms({"L": "l", "R": "r"}, {"upper_arm_half": "{s}ShldrTwist", "forearm": "{s}ForearmBend"}),
            **_arms({"L": "l", "R": "r"}, {"forearm_half": "{s}ForearmTwist", "hand": "{s}Hand"}),
        },
        _fingers("{side}{finger}{seg}", {"L": "l", "R": "r"}, ("Thumb", "Index", "Mid", "Ring", "Pinky")),
        {},
    ),
    "character_creator": (
        {
            **{"hips": "CC_Base_Hip", "spine": "CC_Base_Waist", "spine1": "CC_Base_Spine01"},
            **{"chest": "CC_Base_Spine02", "neck": "CC_Base_NeckTwist01", "neck2": "CC_Base_NeckTwist02"},
            **{"head": "CC_Base_Head", "leg.L": "CC_Base_L_Thigh", "leg.R": "CC_Base_R_Thigh"},
            **_arms(
                {"L": "L", "R": "R"},
                {"shoulder": "CC_Base_{s}_Clavicle", "upper_arm": "CC_Base_{s}_Upperarm"},
            ),
            **_arms({"L": "L", "R": "R"}, {"forearm": "CC_Base_{s}_Forearm", "hand": "CC_Base_{s}_Hand"}),
        },
        _fingers(
            "CC_Base_{side}_{finger}{seg}", {"L": "L", "R": "R"}, ("Thumb", "Index", "Mid", "Ring", "Pinky")
        ),
        {"CC_Base_L_UpperarmTwist01": "upper_arm.L", "CC_Base_R_UpperarmTwist01": "upper_arm.R"},
    ),
}
POSES = {"A": 40.0, "T": 0.0}
GRIP_MIN_DEG = {
    "thumb": 10.0,
    "index": 25.0,
    "middle": 40.0,
    "ring": 45.0,
    "pinky": 45.0,
}  # knuckle, right hand


def convention_case(name: str, arm_angle_deg: float) -> RigCase:
    names, fingers, extras = CONVENTIONS[name]
    split = "upper_arm_half.L" in names
    switches = {bone: {"ik_fk_switch": 0.0} for bone in extras if bone.startswith("c_hand_ik")}  # ARP: IK
    return RigCase(
        names,
        arm_angle_deg=arm_angle_deg,
        split_arms=split,
        fingers=fingers,
        extras=extras,
        properties=switches,
    )


@pytest.mark.parametrize("pose", list(POSES))
@pytest.mark.parametrize("name", list(CONVENTIONS))
def test_convention_is_detected_and_followed_with_a_baton_grip(bpy, started_backend, name, pose):
    case = convention_case(name, POSES[pose])
    scene, rig, evaluated, frames = assert_generation_follows(bpy, f"{name}_{pose}", case, name)
    stored = {e.semantic: e.bone for e in rig.data.vconductor_bones if e.bone}
    assert len(stored) == 13 + 30  # every finger segment of both hands mapped
    angles = {side: knuckle_curl_deg(rig, evaluated, stored, side) for side in "LR"}
    print(
        f"{name}_{pose}: right knuckle curl "
        + ", ".join(f"{f} {a.mean():.0f}" for f, a in angles["R"].items())
    )
    for finger, minimum in GRIP_MIN_DEG.items():  # the grip holds all take long
        assert angles["R"][finger].min() >= minimum, (finger, angles["R"][finger].min())
    assert angles["R"]["ring"].mean() > angles["R"]["index"].mean()  # ring/pinky curl in, index holds
    # the free left hand: relaxed, opening for gestures (less curled), never clenched
    left = np.mean([angles["L"][f] for f in FINGERS[1:]], axis=0)
    print(
        f"left knuckles (index..pinky mean) {left.min():.1f}..{left.max():.1f} deg, open (< 10) {np.mean(left < 10):.0%}"
    )
    assert left.max() < 30.0 and np.ptp(left) > 3.0
    if name == "auto_rig_pro":  # the preset's IK/FK switch is keyed to FK
        assert rig.pose.bones["c_hand_ik.l"]["ik_fk_switch"] == 1.0


def knuckle_curl_deg(rig, pose: dict, stored: dict, side: str) -> dict[str, np.ndarray]:
    """Per finger, per frame: the angle between its knuckle segment and the hand, minus the rest angle, signed
    positive when the segment turns towards the palm (the palm: index x pinky knuckles from the wrist, as
    motion/hands.py defines it, computed here from the evaluated pose)."""
    hand = stored[f"hand.{side}"]
    hand_rest = np.array(rig.data.bones[hand].matrix_local.to_3x3())
    palm = _palm_in_hand(rig, stored, side)
    out = {}
    for finger in FINGERS:
        bone = rig.data.bones[stored[f"{finger}.01.{side}"]]
        rest_dir = _unit(hand_rest.T @ np.array(bone.tail_local - bone.head_local))  # in the hand's frame
        posed = pose["tail"][bone.name] - pose["head"][bone.name]
        posed_dir = _unit(np.einsum("fji,fj->fi", pose["matrix"][hand], posed))
        angle = np.degrees(np.arccos(np.clip(posed_dir @ rest_dir, -1.0, 1.0)))
        out[finger] = angle * np.where(posed_dir @ palm >= rest_dir @ palm, 1.0, -1.0)
    return out


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


def _palm_in_hand(rig, stored: dict, side: str) -> np.ndarray:
    bones = rig.data.bones
    wrist = np.array(bones[stored[f"hand.{side}"]].head_local)
    index, pinky = (np.array(bones[stored[f"{f}.01.{side}"]].head_local) - wrist for f in ("index", "pinky"))
    normal = np.cross(index, pinky) * (-1.0 if side == "L" else 1.0)
    hand = np.array(bones[stored[f"hand.{side}"]].matrix_local.to_3x3())
    return hand.T @ (normal / np.linalg.norm(normal))
