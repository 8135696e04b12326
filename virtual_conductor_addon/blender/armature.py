"""Reading an armature's rest pose and its bone map (stored on the armature, editable in the panel)."""

import numpy as np

from ..motion.bone_map import SEMANTIC_BONES, BoneMap, detect_bone_map
from ..motion.rig import RestBone, RigRest


def rig_rest(armature_object) -> RigRest:
    """Every bone's rest matrix in armature space (unmapped bones matter for the chain maths).

    A bone that copies another's whole transform (an unmuted, full Copy Transforms in world space to a bone
    with the same rest matrix, like Rigify's ORG-shoulder following shoulder) counts as that bone's child:
    it moves exactly with it, so what hangs below it (Rigify's arms) is carried by the control."""
    followed = _followed_bones(armature_object)
    bones = {}
    for bone in armature_object.data.bones:
        parent = followed.get(bone.name, bone.parent.name if bone.parent else None)
        bones[bone.name] = RestBone(
            name=bone.name,
            parent=parent,
            matrix=np.array(bone.matrix_local, dtype=np.float64),
            length=float(bone.length),
        )
    return RigRest(bones=bones)


def _followed_bones(armature_object) -> dict[str, str]:
    """bone -> the bone whose whole transform it copies at rest-equal matrices (see rig_rest)."""
    bones = armature_object.data.bones
    followed = {}
    for pose_bone in armature_object.pose.bones:
        active = [c for c in pose_bone.constraints if c.enabled and c.influence > 0.0]
        if len(active) != 1 or active[0].type != "COPY_TRANSFORMS":
            continue
        constraint = active[0]
        target = getattr(constraint, "subtarget", "")
        if (
            constraint.target == armature_object
            and target in bones
            and constraint.influence >= 1.0
            and constraint.owner_space == constraint.target_space == "WORLD"
            and np.allclose(bones[target].matrix_local, bones[pose_bone.name].matrix_local, atol=1e-5)
            and not _is_below(bones[target], pose_bone.name)
        ):
            followed[pose_bone.name] = target
    return followed


def _is_below(bone, name: str) -> bool:
    """Whether `name` is `bone` or one of its ancestors (re-parenting onto it would make a cycle)."""
    while bone is not None:
        if bone.name == name:
            return True
        bone = bone.parent
    return False


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


def linked_object_problem(armature_object) -> str | None:
    """Why a take cannot go on this object: linked from a library (not an override), its keys would not be
    saved. None for local objects and library overrides."""
    library = armature_object.library
    if library is None:
        return None
    return (
        f"Armature '{armature_object.name}' is linked from '{library_file_name(library)}' and cannot keep keys in "
        "this file: make it a library override (Object > Library Override > Make > Selected & Content) and "
        "generate on the override"
    )


def linked_data_note(armature_object) -> str | None:
    """The armature's data (bones, bone map) comes from a library: a map stored here would not be saved."""
    library = armature_object.data.library
    if library is None:
        return None
    return (
        f"Armature data '{armature_object.data.name}' is linked from '{library_file_name(library)}': its bone map is "
        "read from there or detected at each generation; to keep an edited map, set it in that file"
    )


def library_file_name(library) -> str:
    """The library's file name, for messages (its path may be relative, '//lib.blend', or Windows-style)."""
    return library.filepath.replace("\\", "/").rsplit("/", 1)[-1] or library.name


def check_bone_map(armature_object, bone_map: BoneMap) -> str | None:
    """A user message when required bones are missing, else None."""
    missing = bone_map.missing([b.name for b in armature_object.data.bones])
    if missing:
        return f"Armature '{armature_object.name}' lacks bones for: {', '.join(missing)} (set them in the bone map)"
    return None


def transform_notes(armature_object) -> list[str]:
    """What the rig's object transform does to the motion: the take is keyed in the armature's own space, which
    a non-uniform (or mirroring) world scale shears or flips (rotation, location and uniform scale are fine)."""
    scale = np.array(armature_object.matrix_world.to_scale())
    if np.all(scale > 0) and np.ptp(scale) <= 1e-4 * np.max(np.abs(scale)):
        return []
    shown = ", ".join(f"{v:g}" for v in scale)
    return [
        f"Armature '{armature_object.name}' has a non-uniform or negative world scale ({shown}): its bones stretch "
        "and shear as they turn, so the motion does not keep its shape. Apply the scale (Object > Apply > Scale) "
        "and generate again."
    ]
