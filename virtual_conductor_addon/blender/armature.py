"""Reading an armature's rest pose and its bone map (stored on the armature, editable in the panel)."""

import numpy as np

from ..motion.bone_map import SEMANTIC_BONES, BoneMap, detect_bone_map
from ..motion.rig import RestBone, RigRest


def rig_rest(armature_object) -> RigRest:
    """Every bone's rest matrix in armature space (unmapped bones matter for the chain maths)."""
    bones = {}
    for bone in armature_object.data.bones:
        bones[bone.name] = RestBone(
            name=bone.name,
            parent=bone.parent.name if bone.parent else None,
            matrix=np.array(bone.matrix_local, dtype=np.float64),
            length=float(bone.length),
        )
    return RigRest(bones=bones)


def stored_bone_map(armature_object) -> BoneMap | None:
    """The bone map the user keeps on the armature (None when never set)."""
    entries = armature_object.data.vconductor_bones
    if len(entries) == 0:
        return None
    return BoneMap(bones={e.semantic: e.bone for e in entries if e.bone})


def resolve_bone_map(armature_object) -> tuple[BoneMap, str]:
    """The stored map, else the auto-detected one; with where it came from (for messages)."""
    stored = stored_bone_map(armature_object)
    if stored is not None:
        return stored, "stored on the armature"
    preset, detected = detect_bone_map([b.name for b in armature_object.data.bones])
    return detected, f"detected ({preset or 'by name'})"


def store_bone_map(armature_object, bone_map: BoneMap) -> None:
    """Write the map as one editable row per semantic bone (empty rows for unmapped ones)."""
    entries = armature_object.data.vconductor_bones
    entries.clear()
    for semantic in SEMANTIC_BONES:
        entry = entries.add()
        entry.semantic = semantic
        entry.bone = bone_map.bones.get(semantic, "")


def check_bone_map(armature_object, bone_map: BoneMap) -> str | None:
    """A user message when required bones are missing, else None."""
    missing = bone_map.missing([b.name for b in armature_object.data.bones])
    if missing:
        return f"Armature '{armature_object.name}' lacks bones for: {', '.join(missing)} (set them in the bone map)"
    return None
