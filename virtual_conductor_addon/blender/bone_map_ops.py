"""Bone-map operators: apply a preset by name, save the armature's map to JSON, load one from JSON."""

import os

import bpy
from bpy.props import EnumProperty, StringProperty
from bpy_extras.io_utils import ExportHelper, ImportHelper

from ..contract import atomic_output
from ..motion.bone_map import BoneMap, preset_for_rig, preset_label, preset_names
from ..motion.errors import MotionError
from . import armature, request

_PRESET_ITEMS: list[tuple[str, str, str]] = []  # kept alive: Blender does not copy dynamic enum strings


def _preset_items(_self, _context):
    if not _PRESET_ITEMS:
        _PRESET_ITEMS.extend((n, preset_label(n), f"Bone names of the '{n}' preset") for n in preset_names())
    return _PRESET_ITEMS


def refuse_linked_map(operator, rig) -> bool:
    """Report (and return True) when the armature's data is linked: a map written there would be lost."""
    note = armature.linked_data_note(rig)
    if note:
        operator.report({"ERROR"}, note)
    return note is not None


def _report_missing(operator, rig, bone_map: BoneMap, done: str) -> None:
    missing = armature.check_bone_map(rig, bone_map)
    if missing:
        operator.report({"WARNING"}, missing)
    else:
        operator.report({"INFO"}, done)


class VCONDUCTOR_OT_apply_bone_map_preset(request.ArmatureOperator, bpy.types.Operator):
    """Fill the armature's bone map from a preset (any bone-name prefix such as 'mixamorig:' is found)"""

    bl_idname = "vconductor.apply_bone_map_preset"
    bl_label = "Apply Bone Map Preset"
    bl_options = {"REGISTER", "UNDO"}
    bl_property = "preset"

    preset: EnumProperty(name="Preset", items=_preset_items)

    def invoke(self, context, _event):  # a searchable list of the presets
        context.window_manager.invoke_search_popup(self)
        return {"RUNNING_MODAL"}

    def execute(self, context):
        rig, _reason = request.target_armature(context)
        if refuse_linked_map(self, rig):
            return {"CANCELLED"}
        bone_map = preset_for_rig(self.preset, rig.data.bones.keys())
        armature.store_bone_map(rig, bone_map)
        _report_missing(self, rig, bone_map, f"Bone map: {preset_label(self.preset)}")
        return {"FINISHED"}


class VCONDUCTOR_OT_save_bone_map(request.ArmatureOperator, bpy.types.Operator, ExportHelper):
    """Save the armature's bone map as JSON (to reuse it on other rigs with the same bone names)"""

    bl_idname = "vconductor.save_bone_map"
    bl_label = "Save Bone Map"

    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    def execute(self, context):
        rig, _reason = request.target_armature(context)
        bone_map, _source = armature.resolve_bone_map(rig)
        path = bpy.path.abspath(self.filepath)
        try:
            with atomic_output(path) as tmp:
                tmp.write_text(bone_map.to_json() + "\n", encoding="utf-8")
        except OSError as exc:
            self.report({"ERROR"}, f"Cannot write {path}: {exc.strerror or exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Saved the bone map of '{rig.name}' to {os.path.basename(path)}")
        return {"FINISHED"}


class VCONDUCTOR_OT_load_bone_map(request.ArmatureOperator, bpy.types.Operator, ImportHelper):
    """Load a bone map from JSON ({"bones": {"upper_arm.L": "<bone>", ...}}, as Save Bone Map writes)"""

    bl_idname = "vconductor.load_bone_map"
    bl_label = "Load Bone Map"
    bl_options = {"REGISTER", "UNDO"}

    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json", options={"HIDDEN"})

    def execute(self, context):
        rig, _reason = request.target_armature(context)
        if refuse_linked_map(self, rig):
            return {"CANCELLED"}
        path = bpy.path.abspath(self.filepath)
        try:
            with open(path, encoding="utf-8") as f:
                bone_map = BoneMap.from_json(f.read())
        except OSError as exc:
            self.report({"ERROR"}, f"Cannot read {path}: {exc.strerror or exc}")
            return {"CANCELLED"}
        except MotionError as exc:
            self.report({"ERROR"}, f"{os.path.basename(path)}: {exc}")
            return {"CANCELLED"}
        absent = sorted(b for b in bone_map.bones.values() if b not in rig.data.bones)
        armature.store_bone_map(rig, bone_map)
        if absent:
            self.report({"WARNING"}, f"Armature '{rig.name}' has no bone(s) {', '.join(absent)}")
        else:
            _report_missing(self, rig, bone_map, f"Loaded the bone map from {os.path.basename(path)}")
        return {"FINISHED"}


CLASSES = (VCONDUCTOR_OT_apply_bone_map_preset, VCONDUCTOR_OT_save_bone_map, VCONDUCTOR_OT_load_bone_map)
