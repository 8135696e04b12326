"""Exports animators use: BVH of the keyed armature (Blender's own exporter), a take's keypoints as JSON/CSV."""

import os

import bpy
from bpy.props import EnumProperty, StringProperty
from bpy_extras.io_utils import ExportHelper

from ..motion.errors import MotionError
from ..motion.keypoint_files import FORMATS, write_keypoints
from . import request, take_data, takes

BVH_ADDON = "io_anim_bvh"


def ensure_bvh_exporter() -> str | None:
    """Enable Blender's bundled BVH add-on if the user switched it off; a message when it cannot be."""
    if hasattr(bpy.types, "EXPORT_ANIM_OT_bvh"):
        return None
    import addon_utils

    addon_utils.enable(BVH_ADDON, default_set=False)
    return (
        None
        if hasattr(bpy.types, "EXPORT_ANIM_OT_bvh")
        else "Blender's BVH exporter (io_anim_bvh) is missing"
    )


def export_bvh(context, rig, filepath: str, frame_start: int, frame_end: int) -> None:
    """What the armature shows at each frame (active take, or the NLA blend) as BVH, one frame per scene frame.

    Blender's exporter reads `context.object`: give it the rig explicitly (the active object may be anything).
    """
    problem = ensure_bvh_exporter()
    if problem:
        raise RuntimeError(problem)
    with context.temp_override(object=rig, active_object=rig, selected_objects=[rig]):
        result = bpy.ops.export_anim.bvh(
            filepath=filepath, frame_start=frame_start, frame_end=frame_end, rotate_mode="NATIVE"
        )
    if result != {"FINISHED"}:
        raise RuntimeError(f"Blender's BVH exporter did not finish ({', '.join(result)})")


FRAME_RANGES = [
    ("SCENE", "Scene Range", "The scene's start to end frame"),
    ("TAKE", "Take", "The active take's keyed frames"),
]


def export_range(rig, scene, frame_range: str) -> tuple[tuple[int, int], str | None]:
    """(first, last) frame to export for "SCENE" or "TAKE", and a message when there is none."""
    if frame_range != "TAKE":
        return (scene.frame_start, scene.frame_end), None
    take = takes.active_take(rig)
    if take is None:
        return (0, 0), f"Armature '{rig.name}' has no active take: show one or export the scene"
    start, end = (round(f) for f in take.frame_range)
    return (start, end), None


def _target_rig(cls, context):
    rig, reason = request.target_armature(context)
    if reason:
        cls.poll_message_set(reason)
    return rig


class VCONDUCTOR_OT_export_bvh(bpy.types.Operator, ExportHelper):
    """Export the armature's animation as BVH (Blender's exporter), over the scene's or the take's frames"""

    bl_idname = "vconductor.export_bvh"
    bl_label = "Export BVH"

    filename_ext = ".bvh"
    filter_glob: StringProperty(default="*.bvh", options={"HIDDEN"})
    frame_range: EnumProperty(name="Frames", items=FRAME_RANGES, default="SCENE")

    @classmethod
    def poll(cls, context):
        return _target_rig(cls, context) is not None

    def execute(self, context):
        rig, _reason = request.target_armature(context)
        (start, end), problem = export_range(rig, context.scene, self.frame_range)
        if problem:
            self.report({"ERROR"}, problem)
            return {"CANCELLED"}
        try:
            export_bvh(context, rig, self.filepath, start, end)
        except (RuntimeError, OSError) as exc:
            self.report({"ERROR"}, f"BVH export failed: {exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Wrote {os.path.basename(self.filepath)} ({end - start + 1} frames)")
        return {"FINISHED"}


class VCONDUCTOR_OT_export_keypoints(bpy.types.Operator, ExportHelper):
    """Export the take's generated keypoints (13 joints, 30 fps) as JSON or CSV, as `vconductor generate -o` does"""

    bl_idname = "vconductor.export_keypoints"
    bl_label = "Export Keypoints"

    filename_ext = ".json"
    filter_glob: StringProperty(default="*.json;*.csv", options={"HIDDEN"})
    take: StringProperty(name="Take", description="The take's action (empty: the active take)")

    def check(self, _context):
        return False  # keep a typed .csv (ExportHelper would append .json); execute() adds one if none

    @classmethod
    def poll(cls, context):
        return _target_rig(cls, context) is not None

    def execute(self, context):
        rig, _reason = request.target_armature(context)
        action = bpy.data.actions.get(self.take) if self.take else takes.active_take(rig)
        take = take_data.take_keypoints(action)
        if take is None:
            name = action.name if action is not None else ""
            self.report(
                {"ERROR"},
                f"'{name}' holds no generated keypoints" if name else "No active take: show a take first",
            )
            return {"CANCELLED"}
        path = bpy.path.abspath(self.filepath)
        if os.path.splitext(path)[1].lower() not in FORMATS:
            path += self.filename_ext
        try:
            path = write_keypoints(take, path)
        except (MotionError, OSError) as exc:
            self.report({"ERROR"}, f"Keypoint export failed: {exc}")
            return {"CANCELLED"}
        self.report({"INFO"}, f"Wrote {path.name} ({take.num_frames} frames at {take.fps} fps)")
        return {"FINISHED"}


CLASSES = (VCONDUCTOR_OT_export_bvh, VCONDUCTOR_OT_export_keypoints)
