"""Per-scene generation settings (scene.vconductor), the armature's bone map, and transient job state."""

import bpy
from bpy.props import (
    BoolProperty,
    CollectionProperty,
    EnumProperty,
    FloatProperty,
    IntProperty,
    PointerProperty,
    StringProperty,
)

from ..motion.bone_map import SEMANTIC_BONES


def _is_armature(_self, obj) -> bool:
    return obj.type == "ARMATURE"


def _model_names(_self, _context, _text) -> list[str]:
    from .backend import SESSION

    return list(dict.fromkeys(["procedural", *SESSION.known_models]))


class VCONDUCTOR_PG_scene(bpy.types.PropertyGroup):
    sound_strip: StringProperty(
        name="Sound Strip", description="Sound strip to conduct (empty: the active strip)"
    )
    armature: PointerProperty(
        name="Armature",
        type=bpy.types.Object,
        poll=_is_armature,
        description="Armature to animate (empty: the active object)",
    )
    model: StringProperty(
        name="Model",
        description="'procedural', a registered learned model, or empty for the backend's default",
        search=_model_names,
        search_options={"SUGGESTION"},  # free text stays allowed: the list is what the backend last said
    )
    seed: IntProperty(name="Seed", default=0, min=0, description="Different seeds give different takes")
    beat_lock: EnumProperty(
        name="Beat Lock",
        items=[
            (
                "auto",
                "Auto",
                "Learned models: move the gestures onto the music's beats when the beats are clear",
            ),
            ("on", "On", "Learned models: always move the gestures onto the tracked beats"),
            ("off", "Off", "Keep the learned model's own timing"),
        ],
        default="auto",
        description="Lock a learned model's gestures to the beats the backend tracks (the procedural "
        "conductor always conducts the beats)",
    )
    motion_size: FloatProperty(
        name="Motion Size", default=1.0, min=0.1, max=3.0, soft_max=2.0, description="Scale of the gestures"
    )
    smoothing: FloatProperty(
        name="Smoothing",
        default=0.3,
        min=0.0,
        max=1.0,
        subtype="FACTOR",
        description="0 = off (no lag either way)",
    )
    sway: FloatProperty(
        name="Body Sway",
        default=0.0,
        min=0.0,
        max=1.0,
        subtype="FACTOR",
        description="Hips motion and spine lean from the generated hips and shoulders (0 = hips, spine and "
        "chest stay at rest)",
    )
    use_frame_range: BoolProperty(
        name="Custom Frame Range",
        default=False,
        description="Limit keys to a range (default: the strip's visible range)",
    )
    frame_start: IntProperty(name="Start", default=1)
    frame_end: IntProperty(name="End", default=250)


class VCONDUCTOR_PG_bone_entry(bpy.types.PropertyGroup):
    semantic: EnumProperty(name="Role", items=[(name, name, "") for name in SEMANTIC_BONES])
    bone: StringProperty(name="Bone", description="Bone of this armature playing the role (empty: none)")


class VCONDUCTOR_PG_job(bpy.types.PropertyGroup):
    """What the panel shows about the running generation (the job itself lives in the backend session)."""

    running: BoolProperty(default=False)
    progress: FloatProperty(default=0.0, min=0.0, max=1.0, subtype="FACTOR")
    message: StringProperty(default="")
    last_error: StringProperty(default="")


CLASSES = (VCONDUCTOR_PG_scene, VCONDUCTOR_PG_bone_entry, VCONDUCTOR_PG_job)


def register() -> None:
    bpy.types.Scene.vconductor = PointerProperty(type=VCONDUCTOR_PG_scene)
    bpy.types.Armature.vconductor_bones = CollectionProperty(type=VCONDUCTOR_PG_bone_entry)
    bpy.types.WindowManager.vconductor_job = PointerProperty(type=VCONDUCTOR_PG_job)


def unregister() -> None:
    del bpy.types.WindowManager.vconductor_job
    del bpy.types.Armature.vconductor_bones
    del bpy.types.Scene.vconductor
