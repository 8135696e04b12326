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
from virtual_conductor_addon.motion.bone_map import PRESETS_DIR

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
    data = json.loads((PRESETS_DIR / f"{name}.json").read_text())
    out = []
    for value in data["bones"].values():
        out.append(prefix + (value if isinstance(value, str) else value[0]))
    return out


def test_every_preset_maps_every_semantic_bone_and_is_detected_from_its_own_names():
    assert set(preset_names()) >= {"conductor", "rigify", "rigify_deform", "mixamo", "ue_mannequin"}
    for name in preset_names():
        full = load_preset(name)
        assert set(full.bones) == set(SEMANTIC_BONES), name
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
