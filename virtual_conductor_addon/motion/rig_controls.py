"""What a preset asks of a rig beyond its bone map: controls to set (e.g. Rigify's IK/FK switches) and notes.

A preset file may hold `"controls": [{"bone": ..., "property": ..., "value": ...}]` (custom properties of pose
bones) and `"notes"` (shown to the user). They apply to any map that uses the preset's arm bones, whether it
was detected or stored on the armature, so a take keys the same switches every time."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from .bone_map import BoneMap, _presets, preset_for_rig

ARM_ROLES = ("upper_arm.L", "forearm.L", "upper_arm.R", "forearm.R")


@dataclass(frozen=True)
class Control:
    """A custom property of a pose bone that a take keys to `value` (e.g. Rigify's IK_FK = 1.0)."""

    bone: str
    prop: str
    value: float

    @property
    def data_path(self) -> str:
        bone = self.bone.replace("\\", "\\\\").replace('"', '\\"')
        return f'pose.bones["{bone}"]["{self.prop}"]'


def matching_presets(bone_map: BoneMap, bone_names: Iterable[str]) -> list[str]:
    """Presets whose arm bones (with any prefix) are exactly the map's: the presets this map comes from."""
    names = list(bone_names)
    arms = {role: bone_map.bones.get(role) for role in ARM_ROLES}
    found = []
    for name in _presets():
        preset_map = preset_for_rig(name, names)
        if all(arms[role] and preset_map.bones.get(role) == arms[role] for role in ARM_ROLES):
            found.append(name)
    return found


def preset_controls(bone_map: BoneMap, bone_names: Iterable[str]) -> list[Control]:
    """The controls the map's presets declare, their bone names with the map's prefix."""
    names = list(bone_names)
    controls = []
    for name in matching_presets(bone_map, names):
        prefix = _prefix(name, bone_map)
        for entry in _presets()[name].get("controls", []):
            controls.append(
                Control(prefix + str(entry["bone"]), str(entry["property"]), float(entry["value"]))
            )
    return controls


def preset_notes(bone_map: BoneMap, bone_names: Iterable[str]) -> list[str]:
    """The notes of the map's presets, for the panel."""
    return [
        f"{_presets()[name].get('label', name)}: {_presets()[name]['notes']}"
        for name in matching_presets(bone_map, bone_names)
        if _presets()[name].get("notes")
    ]


def _prefix(preset: str, bone_map: BoneMap) -> str:
    upper = _presets()[preset]["bones"]["upper_arm.L"]
    mapped = bone_map.bones.get("upper_arm.L", "")
    return mapped[: len(mapped) - len(upper)] if mapped.endswith(upper) else ""
