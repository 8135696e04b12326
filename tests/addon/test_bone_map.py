"""Bone-map presets, detection from bone names (prefixes included), JSON round trip, clear errors."""

import json

import pytest
from virtual_conductor_addon.motion import (
    REQUIRED_BONES,
    SEMANTIC_BONES,
    BoneMap,
    MotionError,
    detect_bone_map,
    load_preset,
    preset_names,
)
from virtual_conductor_addon.motion.bone_map import BODY_BONES

LR = {"L": "L", "R": "R"}
ARP = {"L": "l", "R": "r"}
VRM = {"L": "left", "R": "right"}
UNITY = {"L": "Left", "R": "Right"}
DAZ = {"L": "l", "R": "r"}
NOISE = ["root", "Armature", "IK_target.L", "prop", "eye.L", "jaw"]
RIGIFY_TORSO = [
    *("root", "torso", "hips", "chest", "neck", "head", "spine_fk", "spine_fk.001", "spine_fk.002"),
    *("tweak_spine", "ORG-spine", "ORG-spine.001", "DEF-spine", "DEF-spine.001", "DEF-spine.002"),
    *("DEF-spine.003", "DEF-spine.004", "DEF-spine.005", "DEF-spine.006", "MCH-spine", "MCH-WGT-chest"),
]
RIGIFY_ARM = [  # "{s}": the side, L or R
    *("shoulder.{s}", "ORG-shoulder.{s}", "DEF-shoulder.{s}", "upper_arm_fk.{s}", "forearm_fk.{s}"),
    *("hand_fk.{s}", "upper_arm_ik.{s}", "hand_ik.{s}", "upper_arm_parent.{s}", "MCH-upper_arm_fk.{s}"),
    *("ORG-upper_arm.{s}", "ORG-forearm.{s}", "ORG-hand.{s}", "DEF-upper_arm.{s}", "DEF-upper_arm.{s}.001"),
    *("DEF-forearm.{s}", "DEF-forearm.{s}.001", "DEF-hand.{s}", "upper_arm_tweak.{s}"),
]
RIGIFY_GENERATED = [*RIGIFY_TORSO, *(name.format(s=side) for side in "LR" for name in RIGIFY_ARM)]


def preset_bone_names(name: str, prefix: str = "") -> list[str]:
    """The preset's bone names (first candidates), fingers from its pattern included."""
    return [prefix + bone for bone in load_preset(name).bones.values()]


def test_every_preset_maps_every_semantic_bone_and_is_detected_from_its_own_names():
    assert set(preset_names()) >= {"conductor", "rigify", "rigify_deform", "mixamo", "ue_mannequin"}
    assert set(preset_names()) >= {
        "auto_rig_pro",
        "vroid",
        "vrm_humanoid",
        "daz_genesis",
        "character_creator",
    }
    for name in preset_names():
        full = load_preset(name)
        fingerless = name == "conductor"  # the default figure has no fingers
        assert set(full.bones) == set(BODY_BONES if fingerless else SEMANTIC_BONES), name
        detected, bone_map = detect_bone_map(preset_bone_names(name) + NOISE)
        assert detected == name
        assert bone_map.bones == full.bones


@pytest.mark.parametrize("prefix", ["mixamorig:", "mixamorig1:", "mixamorig12:", ""])
def test_mixamo_with_any_prefix(prefix):
    names = preset_bone_names("mixamo", prefix) + [prefix + "Spine1", prefix + "LeftHandIndex1", "Armature"]
    detected, bone_map = detect_bone_map(names)
    assert detected == "mixamo"
    assert bone_map.bones["upper_arm.L"] == prefix + "LeftArm"
    assert bone_map.bones["forearm.R"] == prefix + "RightForeArm"
    assert bone_map.bones["chest"] == prefix + "Spine2"
    assert not bone_map.missing(names)


def test_ue4_and_ue5_mannequins_pick_their_own_chest():
    ue4 = preset_bone_names("ue_mannequin")
    ue4 = [n for n in ue4 if n != "spine_05"] + ["spine_02", "spine_03", "root", "thigh_l"]
    ue5 = ue4 + ["spine_04", "spine_05", "neck_02"]
    assert detect_bone_map(ue4)[1].bones["chest"] == "spine_03"
    assert detect_bone_map(ue5)[1].bones["chest"] == "spine_05"
    assert detect_bone_map(ue5)[1].bones["upper_arm.L"] == "upperarm_l"


def test_generated_rigify_rig_prefers_fk_controls_and_def_only_rig_gets_deform_preset():
    name, bone_map = detect_bone_map(RIGIFY_GENERATED)
    assert name == "rigify"
    assert bone_map.bones["upper_arm.L"] == "upper_arm_fk.L" and bone_map.bones["hips"] == "torso"
    deform_only = [n for n in RIGIFY_GENERATED if n.startswith("DEF-")]
    name, bone_map = detect_bone_map(deform_only)
    assert name == "rigify_deform"
    assert bone_map.bones["forearm.R"] == "DEF-forearm.R" and bone_map.bones["head"] == "DEF-spine.006"


def test_partial_rig_maps_what_it_has_and_unknown_rig_maps_nothing():
    arms_only = ["LeftArm", "LeftForeArm", "RightArm", "RightForeArm", "Hips"]
    name, bone_map = detect_bone_map(arms_only)
    assert name == "mixamo" and set(bone_map.bones) == {*REQUIRED_BONES, "hips"}
    assert detect_bone_map(["Bone", "Bone.001", "LeftArm"]) == ("", BoneMap())


def test_json_round_trip_and_missing():
    bone_map = load_preset("ue_mannequin", prefix="")
    again = BoneMap.from_json(bone_map.to_json())
    assert again == bone_map
    assert BoneMap.from_json(json.dumps({"upper_arm.L": "a"})).bones == {"upper_arm.L": "a"}
    assert bone_map.missing(["upperarm_l", "lowerarm_l", "upperarm_r"]) == ["forearm.R"]
    # The preset files themselves load as bone maps (candidate lists resolved to the first).
    assert BoneMap.from_json(json.dumps({"bones": load_preset("mixamo").bones})).bones["chest"] == "Spine2"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{not json", "not valid JSON"),
        ('["a"]', "must be an object"),
        ('{"bones": {"elbow.L": "x"}}', "Unknown semantic bone"),
        ('{"bones": {"upper_arm.L": "x", "upper_arm.R": "x"}}', "same rig bone twice"),
        ('{"bones": {"upper_arm.L": 3}}', "must be an object"),
    ],
)
def test_bad_bone_map_json_says_what_is_wrong(text, message):
    with pytest.raises(MotionError, match=message):
        BoneMap.from_json(text)


def test_unknown_preset():
    with pytest.raises(MotionError, match="Unknown bone-map preset 'nope'; available: conductor"):
        load_preset("nope")


def _sided(names: list[str], sides: dict[str, str]) -> list[str]:
    return [n.format(s=v) for n in names for v in sides.values()]


CONVENTION_RIGS = {  # real-world bone lists (abridged): extra spine/neck/twist bones, controls, helpers
    "auto_rig_pro": [
        *(
            "c_root_master.x",
            "c_traj",
            "c_root.x",
            "c_spine_01.x",
            "c_spine_02.x",
            "c_spine_03.x",
            "c_neck.x",
        ),
        *("c_head.x", "root.x", "spine_01.x", "spine_02.x", "spine_03.x", "neck.x", "head.x"),
        *_sided(
            ["c_shoulder.{s}", "c_arm_fk.{s}", "c_forearm_fk.{s}", "c_hand_fk.{s}", "c_hand_ik.{s}"], ARP
        ),
        *_sided(["shoulder.{s}", "arm_stretch.{s}", "arm_twist.{s}", "forearm_stretch.{s}", "hand.{s}"], ARP),
        *_sided(["c_arm_ik.{s}", "c_arms_pole.{s}", "c_index1.{s}", "c_index2.{s}", "c_index3.{s}"], ARP),
        *_sided(["c_thumb1.{s}", "c_thumb2.{s}", "c_thumb3.{s}", "c_index1_base.{s}", "index1.{s}"], ARP),
    ],
    "vroid": [
        *("Root", "J_Bip_C_Hips", "J_Bip_C_Spine", "J_Bip_C_Chest", "J_Bip_C_UpperChest", "J_Bip_C_Neck"),
        *("J_Bip_C_Head", "J_Adj_L_FaceEye", "J_Sec_Hair1_01"),
        *_sided(["J_Bip_{s}_Shoulder", "J_Bip_{s}_UpperArm", "J_Bip_{s}_LowerArm", "J_Bip_{s}_Hand"], LR),
        *_sided(["J_Bip_{s}_Thumb1", "J_Bip_{s}_Index1", "J_Bip_{s}_Little1", "J_Bip_{s}_Little3"], LR),
    ],
    "vrm_humanoid": [
        *("hips", "spine", "chest", "upperChest", "neck", "head", "leftEye"),
        *_sided(["{s}Shoulder", "{s}UpperArm", "{s}LowerArm", "{s}Hand", "{s}ThumbMetacarpal"], VRM),
        *_sided(["{s}ThumbProximal", "{s}IndexProximal", "{s}LittleDistal", "{s}UpperLeg"], VRM),
    ],
    "unity_humanoid": [
        *("Hips", "Spine", "Chest", "UpperChest", "Neck", "Head"),
        *_sided(["{s}Shoulder", "{s}UpperArm", "{s}LowerArm", "{s}Hand", "{s}ThumbProximal"], UNITY),
        *_sided(["{s}IndexProximal", "{s}IndexIntermediate", "{s}UpperLeg"], UNITY),
    ],
    "daz_genesis": [
        *("hip", "pelvis", "abdomenLower", "abdomenUpper", "chestLower", "chestUpper", "neckLower"),
        *("neckUpper", "head", "lPectoral", "rPectoral", "lThighBend"),
        *_sided(["{s}Collar", "{s}ShldrBend", "{s}ShldrTwist", "{s}ForearmBend", "{s}ForearmTwist"], DAZ),
        *_sided(
            ["{s}Hand", "{s}Carpal1", "{s}Thumb1", "{s}Index1", "{s}Index2", "{s}Mid1", "{s}Pinky3"], DAZ
        ),
    ],
    "character_creator": [
        *("CC_Base_BoneRoot", "CC_Base_Hip", "CC_Base_Pelvis", "CC_Base_Waist", "CC_Base_Spine01"),
        *("CC_Base_Spine02", "CC_Base_NeckTwist01", "CC_Base_NeckTwist02", "CC_Base_Head"),
        *_sided(
            ["CC_Base_{s}_Clavicle", "CC_Base_{s}_Upperarm", "CC_Base_{s}_Forearm", "CC_Base_{s}_Hand"], LR
        ),
        *_sided(
            ["CC_Base_{s}_UpperarmTwist01", "CC_Base_{s}_Thumb1", "CC_Base_{s}_Mid2", "CC_Base_{s}_Pinky1"],
            LR,
        ),
    ],
}


@pytest.mark.parametrize("convention", list(CONVENTION_RIGS))
def test_each_naming_convention_is_detected_with_its_own_sides_and_fingers(convention):
    names = CONVENTION_RIGS[convention]
    detected, bone_map = detect_bone_map([*names, *NOISE])
    assert detected == convention
    assert set(bone_map.bones.values()) <= set(names)
    assert not bone_map.missing(names) and {"hand.L", "hand.R", "head", "chest"} <= set(bone_map.bones)
    left, right = bone_map.fingers("L"), bone_map.fingers("R")
    assert left and right and set(left) == set(right)
    for side, fingers in (
        ("L", left),
        ("R", right),
    ):  # left bones for the left hand, as the convention spells it
        assert all(bone_map.bones[f"hand.{side}"] not in chain for chain in fingers.values())
    assert bone_map.bones["upper_arm.L"] != bone_map.bones["upper_arm.R"]


def test_auto_rig_pro_controls_win_over_its_deform_bones_and_deform_only_exports_map_deform():
    names = CONVENTION_RIGS["auto_rig_pro"]
    assert detect_bone_map(names)[1].bones["upper_arm.R"] == "c_arm_fk.r"
    deform = [n for n in names if not n.startswith("c_")]
    detected, bone_map = detect_bone_map(deform)
    assert detected == "auto_rig_pro_deform"
    assert (
        bone_map.bones["upper_arm.L"] == "arm_stretch.l"
        and bone_map.bones["forearm.L"] == "forearm_stretch.l"
    )
    assert bone_map.bones["index.01.R"] == "index1.r"  # its deforming fingers drop the c_


def test_fingers_are_chains_from_the_knuckle():
    bone_map = BoneMap({"index.01.L": "a", "index.02.L": "b", "middle.02.L": "c", "thumb.01.R": "t"})
    assert bone_map.fingers("L") == {"index": ["a", "b"]}  # a middle finger without its knuckle is left out
    assert bone_map.fingers("R") == {"thumb": ["t"]}
