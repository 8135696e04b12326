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

from ..contract_style import PRESETS, RANGES, ConductingStyle
from ..motion.bone_map import SEMANTIC_BONES

STYLE_CONTROLS = ("size", "energy", "articulation", "left_hand", "left_handed", "baton")


def _is_armature(_self, obj) -> bool:
    return obj.type == "ARMATURE"


def _model_names(_self, _context, _text) -> list[str]:
    from .backend import SESSION

    return list(dict.fromkeys(["procedural", *SESSION.known_models]))


def _apply_preset(self, _context) -> None:
    """Choosing a preset sets the style controls to its values (they stay editable)."""
    style = PRESETS[self.style_preset]
    for name in STYLE_CONTROLS:
        setattr(self, f"style_{name}", getattr(style, name))


def _baton_changed(self, context) -> None:
    from .rig_baton import baton_settings_changed

    baton_settings_changed(self, context)


def _control(name: str, label: str, description: str):
    low, high = RANGES[name]
    default = getattr(ConductingStyle(), name)
    return FloatProperty(name=label, default=default, min=low, max=high, description=description)


def conducting_style(settings) -> ConductingStyle:
    """The scene's style controls as the contract's style (ranges are the properties' own)."""
    return ConductingStyle(**{name: getattr(settings, f"style_{name}") for name in STYLE_CONTROLS})


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
    beat_source: EnumProperty(
        name="Beats",
        items=[
            ("TRACKED", "Tracked", "The beats the backend finds in the audio"),
            (
                "MARKERS",
                "Timeline Markers",
                "The scene's markers on the strip's played frames (tap M while "
                "playing, or edit the markers Add Beat Markers wrote)",
            ),
            ("SCORE", "Score File", "The beats of a MusicXML or MIDI score, aligned with the audio"),
        ],
        default="TRACKED",
        description="Where the beats the conductor conducts come from",
    )
    marker_downbeats: EnumProperty(
        name="Downbeats",
        items=[
            (
                "NAMED",
                "Markers Named *.1",
                "A marker named BAR.1 ('VC 12.1') starts a bar; without any, the "
                "first marker does. Bars run 'Beats per Bar' markers unless a *.1 marker starts the next sooner",
            ),
            ("FIRST", "First Marker", "The first marker is a downbeat, then every 'Beats per Bar' markers"),
            ("NONE", "Found by the Backend", "Only the times: the backend finds which beats are downbeats"),
        ],
        default="NAMED",
        description="Which markers are downbeats (the first beat of a bar)",
    )
    beats_per_bar: IntProperty(
        name="Beats per Bar", default=4, min=1, max=16, description="Markers in a bar (3 for a waltz)"
    )
    score_file: StringProperty(
        name="Score",
        subtype="FILE_PATH",
        description="MusicXML (.musicxml, .xml, .mxl) or MIDI (.mid) score of the strip's music",
    )
    score_mismatch: EnumProperty(
        name="If It Does Not Fit",
        items=[
            ("error", "Error", "Stop with an error when the score does not fit the audio"),
            ("audio", "Use the Audio", "Conduct the tracked beats when the score does not fit the audio"),
        ],
        default="error",
        description="What to do when the score is not the music of the strip",
    )
    style_preset: EnumProperty(
        name="Style",
        items=[
            (key, key.replace("-", " ").capitalize(), f"Set the controls to the {key} style")
            for key in PRESETS
        ],
        default="reference",
        update=_apply_preset,
        description="A named style; the controls below start from it",
    )
    style_size: _control("size", "Size", "Gesture size (1: real conductors')")
    style_energy: _control("energy", "Energy", "Rebound height and liveliness (procedural conductor)")
    style_articulation: _control(
        "articulation",
        "Articulation",
        "-1 legato, 0 as the music is played, 1 marcato (procedural conductor)",
    )
    style_left_hand: _control("left_hand", "Left Hand", "How much the left hand does (procedural conductor)")
    style_left_handed: BoolProperty(name="Left-Handed", default=False, description="A left-handed conductor")
    style_baton: BoolProperty(name="Baton", default=True, description="Conduct with a baton")
    baton_length: FloatProperty(
        name="Baton Length",
        default=0.38,
        min=0.1,
        max=1.0,
        unit="LENGTH",
        update=_baton_changed,
        description="Length of the baton Add Baton puts in the armature's right hand",
    )
    baton_grip_offset: FloatProperty(
        name="Grip Offset",
        default=0.0,
        min=-0.15,
        max=0.15,
        unit="LENGTH",
        update=_baton_changed,
        description="Moves the baton along its line in the hand: positive towards the tip (less handle in "
        "the palm)",
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
    rig_notes: StringProperty(default="")  # the last take's preset and mapping notes, one a line
    rig_warnings: StringProperty(default="")  # bones that did not follow the last take (follow_check)
    beat_note: StringProperty(
        default=""
    )  # the last take's beats: markers, or the score's case and confidence


CLASSES = (VCONDUCTOR_PG_scene, VCONDUCTOR_PG_bone_entry, VCONDUCTOR_PG_job)


def register() -> None:
    bpy.types.Scene.vconductor = PointerProperty(type=VCONDUCTOR_PG_scene)
    bpy.types.Armature.vconductor_bones = CollectionProperty(type=VCONDUCTOR_PG_bone_entry)
    bpy.types.WindowManager.vconductor_job = PointerProperty(type=VCONDUCTOR_PG_job)


def unregister() -> None:
    del bpy.types.WindowManager.vconductor_job
    del bpy.types.Armature.vconductor_bones
    del bpy.types.Scene.vconductor
