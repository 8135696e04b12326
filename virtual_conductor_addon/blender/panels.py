"""Sidebar panels ("Conductor" tab) in the Sequencer and the 3D View; both draw the same thing."""

import textwrap

import bpy

from ..motion.bone_map import FINGER_BONES, FINGER_SEGMENTS
from . import backend, beat_source, compat, generate, request, rigify_ik, take_data, takes


def draw_style(layout, settings) -> None:
    layout.prop(settings, "style_preset")
    column = layout.column(align=True)
    for name in ("size", "energy", "articulation", "left_hand"):
        column.prop(settings, f"style_{name}")
    row = layout.row(align=True)
    row.prop(settings, "style_left_handed")
    row.prop(settings, "style_baton")


def draw_generation(layout, context) -> None:
    settings = context.scene.vconductor
    scene = compat.sequencer_scene(context)
    column = layout.column()
    if scene and scene.sequence_editor:
        editor = scene.sequence_editor
        column.prop_search(
            settings, "sound_strip", editor, compat.strips_collection_name(editor), icon="SOUND"
        )
    else:
        column.prop(settings, "sound_strip", icon="SOUND")
    column.prop(settings, "armature", icon="ARMATURE_DATA")
    column.prop(settings, "model")
    column.prop(settings, "seed")
    column.prop(settings, "beat_lock")
    beat_source.draw(column.box(), settings)
    draw_style(column.box(), settings)
    column.prop(settings, "motion_size")
    column.prop(settings, "smoothing")
    column.prop(settings, "sway")
    column.prop(settings, "use_frame_range")
    if settings.use_frame_range:
        row = column.row(align=True)
        row.prop(settings, "frame_start")
        row.prop(settings, "frame_end")
    else:
        strip, _reason = request.target_strip(context)
        if strip is not None:
            column.label(text=f"Frames {strip.frame_final_start} to {strip.frame_final_end - 1} (the strip)")

    state = context.window_manager.vconductor_job
    if generate.is_running():
        row = layout.row(align=True)
        progress = getattr(row, "progress", None)
        if progress is not None:
            progress(factor=state.progress, type="BAR", text=state.message or "Working")
        else:
            row.label(text=f"{state.message} {state.progress:.0%}")
        row.operator("vconductor.cancel", text="", icon="CANCEL")
    else:
        layout.operator("vconductor.generate", icon="PLAY")
        reason = request.why_not_generate(context)
        if reason:
            layout.label(text=reason, icon="INFO")
        elif state.message:
            layout.label(text=state.message)
    if state.last_error:
        layout.label(text=state.last_error, icon="ERROR")
    draw_wrapped(layout, state.beat_note, "TIME")
    draw_wrapped(layout, state.rig_warnings, "ERROR")
    draw_wrapped(layout, state.rig_notes, "INFO")
    layout.label(text=backend.status_line(), icon="LINKED")


def draw_wrapped(layout, text: str, icon: str, width: int = 56) -> None:
    """Each line of `text` as labels of at most `width` characters, the icon on its first."""
    for line in filter(None, text.split("\n")):
        column = layout.column(align=True)
        for index, part in enumerate(textwrap.wrap(line, width)):
            column.label(text=part, icon=icon if index == 0 else "BLANK1")


def draw_bone_map(layout, context) -> None:
    rig, reason = request.target_armature(context)
    if rig is None:
        layout.label(text=reason, icon="INFO")
        return
    entries = rig.data.vconductor_bones
    if len(entries) == 0:
        layout.label(text="Not set: detected from bone names when generating")
    fingers = [entry for entry in entries if entry.semantic in FINGER_BONES]
    for entry in entries:
        if entry.semantic not in FINGER_BONES:
            layout.prop_search(entry, "bone", rig.data, "bones", text=entry.semantic)
    if any(entry.bone for entry in fingers):
        box = layout.box()
        box.label(text="Fingers (knuckle to tip)")
        for index in range(0, len(fingers), FINGER_SEGMENTS):  # one row per finger
            row = box.row(align=True)
            row.label(text=fingers[index].semantic.replace(".01", ""))
            for entry in fingers[index : index + FINGER_SEGMENTS]:
                row.prop_search(entry, "bone", rig.data, "bones", text="")
    elif entries:
        layout.label(text="No fingers mapped: the hands are not keyed")
    settings = context.scene.vconductor
    box = layout.box()
    row = box.row(align=True)
    row.prop(settings, "baton_length", text="Baton")
    row.prop(settings, "baton_grip_offset", text="Grip")
    box.operator("vconductor.add_baton", icon="LINE_DATA")
    row = layout.row(align=True)
    row.operator("vconductor.detect_bone_map", icon="BONE_DATA")
    row.operator("vconductor.apply_bone_map_preset", text="Preset", icon="PRESET")
    row = layout.row(align=True)
    row.operator("vconductor.load_bone_map", icon="IMPORT", text="Load")
    row.operator("vconductor.save_bone_map", icon="EXPORT", text="Save")


def draw_takes(layout, context) -> None:
    """One row per take of the armature: click one to show it (compare), push it to the NLA; blend two."""
    rig, reason = request.target_armature(context)
    if rig is None:
        layout.label(text=reason, icon="INFO")
        return
    rig_takes = takes.rig_takes(rig)
    if not rig_takes:
        layout.label(text="No takes yet: each generation adds one")
    shown = takes.active_take(rig)
    for action in rig_takes:
        row = layout.row(align=True)
        icon = "RADIOBUT_ON" if action == shown else "RADIOBUT_OFF"
        row.operator(
            "vconductor.take_activate", text=action.name, icon=icon, emboss=action != shown
        ).take = action.name
        row.label(text=take_data.take_summary(action))
        row.operator("vconductor.take_to_nla", text="", icon="NLA_PUSHDOWN").take = action.name
    layout.operator("vconductor.blend_takes", icon="NLA")
    if rigify_ik.ik_arms(rig):
        layout.operator("vconductor.bake_rigify_ik", icon="CON_KINEMATIC")
    row = layout.row(align=True)
    row.operator("vconductor.export_bvh", icon="EXPORT", text="BVH")
    row.operator("vconductor.export_fbx", icon="EXPORT", text="FBX")
    row.operator("vconductor.export_gltf", icon="EXPORT", text="glTF")
    row.operator("vconductor.export_keypoints", icon="EXPORT", text="Keypoints")
    # a menu of which beats: every beat, the conducted ones, downbeats
    layout.operator_menu_enum(
        "vconductor.add_beat_markers", "marks", text="Add Beat Markers", icon="MARKER_HLT"
    )


class _Sidebar:
    bl_region_type = "UI"
    bl_category = "Conductor"


class SEQUENCER_PT_vconductor(_Sidebar, bpy.types.Panel):
    bl_space_type = "SEQUENCE_EDITOR"
    bl_label = "Virtual Conductor"

    def draw(self, context):
        draw_generation(self.layout, context)


class VIEW3D_PT_vconductor(_Sidebar, bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_label = "Virtual Conductor"

    def draw(self, context):
        self.layout.operator("vconductor.create_rig", icon="OUTLINER_OB_ARMATURE")
        draw_generation(self.layout, context)


class VIEW3D_PT_vconductor_bone_map(_Sidebar, bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_label = "Bone Map"
    bl_parent_id = "VIEW3D_PT_vconductor"
    bl_options = {"DEFAULT_CLOSED"}

    def draw(self, context):
        draw_bone_map(self.layout, context)


class VIEW3D_PT_vconductor_takes(_Sidebar, bpy.types.Panel):
    bl_space_type = "VIEW_3D"
    bl_label = "Takes"
    bl_parent_id = "VIEW3D_PT_vconductor"

    def draw(self, context):
        draw_takes(self.layout, context)


CLASSES = (
    SEQUENCER_PT_vconductor,
    VIEW3D_PT_vconductor,
    VIEW3D_PT_vconductor_bone_map,
    VIEW3D_PT_vconductor_takes,
)
