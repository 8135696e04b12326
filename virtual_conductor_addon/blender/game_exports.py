"""Exports for game pipelines: FBX and glTF of the animated rig (Blender's own exporters, headless too).

Both bake what the armature shows at each frame (the active take with every constraint and driver evaluated,
so a generated Rigify rig's deforming bones carry the motion), one key per frame, and hold only the armature
and the meshes it deforms or carries. FBX options are the ones Unity and Unreal import as they are: Y up, -Z
forward, unit scale applied, no leaf bones, deforming bones only (a Rigify rig's DEF- chain) when the rig has
any. Re-imported into an empty file, both give the same joint positions (tests/blender/test_exports.py).
"""

import os
import re

import bpy
from bpy.props import BoolProperty, EnumProperty, StringProperty
from bpy_extras.io_utils import ExportHelper

from . import exports, request

FORMATS = {"FBX": ("io_scene_fbx", "EXPORT_SCENE_OT_fbx"), "GLTF": ("io_scene_gltf2", "EXPORT_SCENE_OT_gltf")}


def exported_objects(rig) -> list:
    """The rig and the meshes under it or deformed by it (Armature modifier); nothing else in the scene."""
    meshes = [obj for obj in rig.children_recursive if obj.type == "MESH"]
    for obj in bpy.data.objects:
        deformed = any(m.type == "ARMATURE" and m.object == rig for m in getattr(obj, "modifiers", ()))
        if obj.type == "MESH" and deformed and obj not in meshes:
            meshes.append(obj)
    return [rig, *meshes]


def ensure_exporter(kind: str) -> str | None:
    """Enable Blender's bundled exporter add-on if it is off; a message when it cannot be."""
    module, operator = FORMATS[kind]
    if not hasattr(bpy.types, operator):
        import addon_utils

        addon_utils.enable(module, default_set=False)
    return None if hasattr(bpy.types, operator) else f"Blender's exporter ({module}) is missing"


def export_rig(context, rig, filepath: str, kind: str, frames: tuple[int, int], deform_only: bool = True):
    """Write the rig's animation over `frames` (first, last) as `kind` ("FBX" or "GLTF": .glb, or .gltf with
    its .bin beside it, by the file name). RuntimeError with a one-line message on failure."""
    problem = ensure_exporter(kind)
    if problem:
        raise RuntimeError(problem)
    folder = os.path.dirname(os.path.abspath(bpy.path.abspath(filepath)))
    if not os.path.isdir(folder):
        raise RuntimeError(f"the folder '{folder}' does not exist")
    deform_only = deform_only and any(bone.use_deform for bone in rig.data.bones)
    scene = context.scene
    saved = scene.frame_start, scene.frame_end, scene.frame_current
    objects = exported_objects(rig)
    scene.frame_start, scene.frame_end = frames
    try:
        with context.temp_override(
            object=rig, active_object=rig, selected_objects=objects, selected_editable_objects=objects
        ):
            selected = [obj.select_get() for obj in scene.objects]
            for obj in scene.objects:  # glTF reads the selection itself, FBX the context's
                obj.select_set(obj in objects)
            try:
                result = _run_exporter(kind, filepath, deform_only)
            except RuntimeError as exc:  # the exporter's traceback: one line of it says what went wrong
                raise RuntimeError(_cause(str(exc), kind)) from None
            finally:
                for obj, was in zip(scene.objects, selected, strict=True):
                    obj.select_set(was)
    finally:
        scene.frame_start, scene.frame_end = saved[:2]
        scene.frame_set(saved[2])
    if result != {"FINISHED"}:
        raise RuntimeError(f"Blender's {kind} exporter did not finish ({', '.join(result)})")


def _cause(report: str, kind: str) -> str:
    """The exception line (`SomeError: what`) of an exporter's traceback report, else a plain sentence."""
    found = re.findall(r"\b(\w+(?:Error|Exception): .+)", report)
    return found[-1].strip() if found else f"Blender's {kind} exporter failed"


def _run_exporter(kind: str, filepath: str, deform_only: bool):
    if kind == "FBX":
        return bpy.ops.export_scene.fbx(
            filepath=filepath,
            use_selection=True,
            object_types={"ARMATURE", "MESH"},
            apply_unit_scale=True,
            apply_scale_options="FBX_SCALE_NONE",
            axis_forward="-Z",
            axis_up="Y",
            add_leaf_bones=False,
            use_armature_deform_only=deform_only,
            bake_anim=True,
            bake_anim_use_all_bones=True,
            bake_anim_use_nla_strips=False,
            bake_anim_use_all_actions=False,
            bake_anim_force_startend_keying=True,
            bake_anim_step=1.0,
            bake_anim_simplify_factor=0.0,
        )
    glb = os.path.splitext(filepath)[1].lower() != ".gltf"
    return bpy.ops.export_scene.gltf(
        filepath=filepath,
        export_format="GLB" if glb else "GLTF_SEPARATE",
        use_selection=True,
        export_yup=True,
        export_animations=True,
        export_animation_mode="SCENE",
        export_frame_range=True,
        export_force_sampling=True,
        export_optimize_animation_size=False,
        export_def_bones=deform_only,
        export_leaf_bone=False,
    )


class _ExportRig(ExportHelper):
    frame_range: EnumProperty(name="Frames", items=exports.FRAME_RANGES, default="SCENE")
    deform_only: BoolProperty(
        name="Deforming Bones Only",
        description="Only the bones that deform the mesh (a Rigify rig's DEF- bones), as game engines expect",
        default=True,
    )

    @classmethod
    def poll(cls, context):
        rig, reason = request.target_armature(context)
        if reason:
            cls.poll_message_set(reason)
        return rig is not None

    def execute(self, context):
        rig, _reason = request.target_armature(context)
        frames, problem = exports.export_range(rig, context.scene, self.frame_range)
        if problem:
            self.report({"ERROR"}, problem)
            return {"CANCELLED"}
        try:
            export_rig(context, rig, self.filepath, self.kind, frames, self.deform_only)
        except (RuntimeError, OSError) as exc:
            self.report({"ERROR"}, f"{self.bl_label} failed: {exc}")
            return {"CANCELLED"}
        count = frames[1] - frames[0] + 1
        self.report({"INFO"}, f"Wrote {os.path.basename(self.filepath)} ({count} frames)")
        return {"FINISHED"}


class VCONDUCTOR_OT_export_fbx(_ExportRig, bpy.types.Operator):
    """Export the animated rig as FBX for game engines (Blender's exporter, baked, Y up, no leaf bones)"""

    bl_idname = "vconductor.export_fbx"
    bl_label = "Export FBX"
    kind = "FBX"
    filename_ext = ".fbx"
    filter_glob: StringProperty(default="*.fbx", options={"HIDDEN"})


class VCONDUCTOR_OT_export_gltf(_ExportRig, bpy.types.Operator):
    """Export the animated rig as glTF binary (.glb) (Blender's exporter, baked, Y up)"""

    bl_idname = "vconductor.export_gltf"
    bl_label = "Export glTF"
    kind = "GLTF"
    filename_ext = ".glb"
    filter_glob: StringProperty(default="*.glb;*.gltf", options={"HIDDEN"})


CLASSES = (VCONDUCTOR_OT_export_fbx, VCONDUCTOR_OT_export_gltf)
