"""A baton for any mapped rig: built in the right hand of the bone map, along the index finger when the map has
one (motion/hands.py, `baton_line`), its length and grip offset the scene's settings; takes then move it between
the hands as they do the default figure's (baton.py)."""

import contextlib

import bpy

from ..motion.errors import MotionError
from ..motion.hands import baton_line
from ..motion.rig_geometry import rig_geometry
from . import armature, baton, request, rig_builder

BATON_SHAPE = {"behind": 0.035, "radius": [0.0055, 0.0018], "bulb_radius": 0.013}  # as the default figure's


def fit_baton(rig, length: float, grip_offset: float):
    """Create or rebuild the rig's baton: gripped at the map's right hand, `grip_offset` (m) further along its
    line, `length` (m) long. Keeps the hand (and visibility) the current take gave it. MotionError (one line)
    when the map has no right hand."""
    bone_map, _source = armature.resolve_bone_map(rig)
    if "hand.R" not in bone_map.bones or bone_map.bones["hand.R"] not in rig.data.bones:
        raise MotionError(f"Armature '{rig.name}' has no mapped right hand (hand.R) to hold a baton.")
    rest = armature.rig_rest(rig)
    geometry = rig_geometry(rest, bone_map)
    grip, direction = baton_line(rest, bone_map, "R", geometry.axes[:, 2])
    shape = {**BATON_SHAPE, "length": length}
    mesh = rig_builder.baton_mesh(f"{rig.name} Baton", grip + grip_offset * direction, direction, shape)
    hands = baton.mapped_hands(rig, bone_map)
    existing = baton.rig_batons(rig)
    if existing:
        obj, hidden = existing[0], existing[0].hide_render
        old, obj.data = obj.data, mesh
        if old.users == 0:
            bpy.data.meshes.remove(old)
        side = "L" if obj.parent_bone == hands["L"] != hands["R"] else "R"
    else:
        obj, side, hidden = bpy.data.objects.new(f"{rig.name} Baton", mesh), "R", False
        obj[baton.BATON_KEY] = True
        _home_collection(rig).objects.link(obj)
        obj.parent, obj.parent_type, obj.parent_bone = rig, "BONE", hands["R"]
    baton.hold_baton(rig, "" if hidden else side, hands)
    if hidden:  # a take without a baton: it stays hidden, in the hand it was in
        obj.parent_bone = hands[side]
    return obj


def _home_collection(rig):
    """The rig's first collection that can take new objects (not linked or overridden), else the scene's."""
    for collection in rig.users_collection:
        if collection.library is None and collection.override_library is None:
            return collection
    return bpy.context.scene.collection


def baton_settings_changed(settings, context) -> None:
    """Length or grip changed in the panel: refit the target armature's baton if it has one."""
    rig, _reason = request.target_armature(context)
    if rig is not None and baton.rig_batons(rig):
        with contextlib.suppress(MotionError):
            fit_baton(rig, settings.baton_length, settings.baton_grip_offset)


class VCONDUCTOR_OT_add_baton(request.ArmatureOperator, bpy.types.Operator):
    """Put a baton in the armature's right hand (the bone map's), along the index finger when it is mapped; or
    refit the one it has to the length and grip set here"""

    bl_idname = "vconductor.add_baton"
    bl_label = "Add Baton"
    bl_options = {"REGISTER", "UNDO"}

    def execute(self, context):
        rig, _reason = request.target_armature(context)
        settings = context.scene.vconductor
        try:
            obj = fit_baton(rig, settings.baton_length, settings.baton_grip_offset)
        except MotionError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, f"Baton '{obj.name}' in '{obj.parent_bone}'")
        return {"FINISHED"}


CLASSES = (VCONDUCTOR_OT_add_baton,)
