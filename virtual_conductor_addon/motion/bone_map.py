"""Semantic bone map (what each rig bone means to the conductor), presets from ../presets/*.json, detection."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import MotionError

ARM_PARTS = ("shoulder", "upper_arm", "forearm", "hand")
BODY_BONES = ("hips", "spine", "chest", "neck", "head") + tuple(
    f"{part}.{side}" for side in "LR" for part in ARM_PARTS
)
FINGERS = ("thumb", "index", "middle", "ring", "pinky")
FINGER_SEGMENTS = 3  # from the knuckle out (the thumb's first: the segment the rig names first)


def finger_bone(finger: str, segment: int, side: str) -> str:
    """The semantic name of a finger segment: "index.01.L" (segment 1 at the knuckle)."""
    return f"{finger}.{segment:02d}.{side}"


FINGER_BONES = tuple(
    finger_bone(finger, segment, side)
    for side in "LR"
    for finger in FINGERS
    for segment in range(1, FINGER_SEGMENTS + 1)
)
SEMANTIC_BONES = BODY_BONES + FINGER_BONES
REQUIRED_BONES = ("upper_arm.L", "forearm.L", "upper_arm.R", "forearm.R")
PRESETS_DIR = Path(__file__).resolve().parent.parent / "presets"


@dataclass
class BoneMap:
    """semantic name -> rig bone name; semantic bones left out are not animated."""

    bones: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = sorted(set(self.bones) - set(SEMANTIC_BONES))
        if unknown:
            raise MotionError(f"Unknown semantic bone(s) in bone map: {', '.join(unknown)}.")
        self.bones = {k: str(v) for k, v in self.bones.items() if v}
        names = list(self.bones.values())
        doubled = sorted({n for n in names if names.count(n) > 1})
        if doubled:
            raise MotionError(f"Bone map uses the same rig bone twice: {', '.join(doubled)}.")

    def missing(self, rig_bone_names: Iterable[str]) -> list[str]:
        """Required semantic bones that are unmapped or mapped to a bone the rig does not have."""
        present = set(rig_bone_names)
        return [s for s in REQUIRED_BONES if self.bones.get(s) not in present]

    def fingers(self, side: str) -> dict[str, list[str]]:
        """finger -> its mapped rig bones, knuckle first, for the fingers mapped from the first segment on."""
        out = {}
        for finger in FINGERS:
            chain = []
            for segment in range(1, FINGER_SEGMENTS + 1):
                bone = self.bones.get(finger_bone(finger, segment, side))
                if bone is None:
                    break
                chain.append(bone)
            if chain:
                out[finger] = chain
        return out

    def to_json(self) -> str:
        return json.dumps({"bones": {k: self.bones[k] for k in SEMANTIC_BONES if k in self.bones}}, indent=1)

    @classmethod
    def from_json(cls, text: str) -> BoneMap:
        """Accepts {"bones": {...}} (what to_json and the preset files hold) or a plain {semantic: bone} object."""
        try:
            data = json.loads(text)
        except (TypeError, ValueError) as exc:
            raise MotionError(f"Bone map is not valid JSON: {exc}") from None
        bones = data.get("bones", data) if isinstance(data, dict) else None
        if not isinstance(bones, dict) or not all(isinstance(v, str) for v in bones.values()):
            raise MotionError(
                'Bone map JSON must be an object {"bones": {"upper_arm.L": "<bone name>", ...}}.'
            )
        return cls(dict(bones))


def preset_names() -> list[str]:
    """Preset names, highest priority first (the priority breaks ties in detection)."""
    return [name for name, _ in sorted(_presets().items(), key=lambda item: item[1].get("priority", 99))]


def load_preset(name: str, bone_names: Iterable[str] | None = None, prefix: str = "") -> BoneMap:
    """The preset's map; with `bone_names`, of several candidates the first the rig has (e.g. UE4 vs UE5)."""
    presets = _presets()
    if name not in presets:
        raise MotionError(f"Unknown bone-map preset '{name}'; available: {', '.join(preset_names())}.")
    present = None if bone_names is None else set(bone_names)
    bones = {}
    for semantic, candidates in presets[name]["bones"].items():
        options = [prefix + c for c in ([candidates] if isinstance(candidates, str) else candidates)]
        found = [c for c in options if present is None or c in present]
        if found:
            bones[semantic] = found[0]
    return BoneMap(bones)


def preset_label(name: str) -> str:
    """The preset's human-readable name (for menus)."""
    preset = _presets().get(name, {})
    return str(preset.get("label", name))


def preset_for_rig(name: str, bone_names: Iterable[str]) -> BoneMap:
    """Preset `name` applied to this rig: the name prefix (e.g. "mixamorig:") that maps the most of its bones.

    Unlike `detect_bone_map` this never refuses: a rig lacking required bones gets what the preset can map."""
    names = set(bone_names)
    load_preset(name)  # unknown names raise here
    best = BoneMap()
    for prefix in sorted(_candidate_prefixes(name, names) | {""}):
        bone_map = load_preset(name, names, prefix)
        if len(bone_map.bones) > len(best.bones):
            best = bone_map
    return best


def detect_bone_map(bone_names: Iterable[str]) -> tuple[str, BoneMap]:
    """(preset name, map) of the preset that maps the most bones of this rig, all required ones included.

    Any common name prefix is accepted (Mixamo's "mixamorig:", "mixamorig1:", an exporter's "Armature_"):
    for each preset bone name found as the tail of a rig bone name, the rest is a candidate prefix.
    Returns ("", BoneMap()) when no preset maps the required bones.
    """
    names = set(bone_names)
    best: tuple[tuple[int, int, int], str, BoneMap] | None = None
    for name in preset_names():
        for prefix in _candidate_prefixes(name, names):
            bone_map = load_preset(name, names, prefix)
            if bone_map.missing(names):
                continue
            score = (len(bone_map.bones), prefix == "", -preset_names().index(name))
            if best is None or score > best[0]:
                best = (score, name, bone_map)
    return ("", BoneMap()) if best is None else (best[1], best[2])


def _candidate_prefixes(preset: str, names: set[str]) -> set[str]:
    # Anchor on the required upper arm: every rig bone ending in its preset name proposes a prefix.
    upper = _presets()[preset]["bones"]["upper_arm.L"]
    return {n[: len(n) - len(upper)] for n in names if n.endswith(upper)}


_CACHE: dict[str, dict] = {}


def _presets() -> dict[str, dict]:
    if not _CACHE:
        for path in sorted(PRESETS_DIR.glob("*.json")):
            data = json.loads(path.read_text(encoding="utf-8"))
            data["bones"] = {**data["bones"], **_finger_names(data.get("fingers"))}
            _CACHE[data.get("name", path.stem)] = data
    return _CACHE


def _finger_names(spec: dict | None) -> dict[str, str]:
    """A preset's finger bones from its naming pattern: {"pattern": "{side}Hand{finger}{segment}", "side":
    {"L": "Left", ...}, "finger": {"thumb": "Thumb", ...}, "segment": ["1", "2", "3"], "thumb_segment": [...]
    (optional, for conventions that count the thumb from another joint)}."""
    if not spec:
        return {}
    names = {}
    for side, side_name in spec["side"].items():
        for finger, finger_name in spec["finger"].items():
            segments = spec.get(f"{finger}_segment", spec["segment"])
            for number, segment in enumerate(segments, start=1):
                names[finger_bone(finger, number, side)] = spec["pattern"].format(
                    side=side_name, finger=finger_name, segment=segment
                )
    return names
