"""Takes: every generation is an action. Make one active to compare, push one to the NLA, blend two.

Blending uses the NLA itself: take A on one track, take B on the track above in Replace mode with an
influence of `factor` (so each channel is A + factor * (B - A)); the influence is an F-curve on B's strip,
so an animator can key it for a crossfade. The armature's active action is cleared while blending: an
active action plays on top of the NLA and would hide the blend.
"""

import re

import bpy
from bpy.props import FloatProperty, StringProperty

from . import baton, compat, request, take_data

BLEND_TRACK_PREFIX = "VC Blend"
_BONE_PATH = re.compile(r'^pose\.bones\["((?:[^"\\]|\\.)*)"\]')


def animated_bones(action) -> set[str]:
    """Names of the pose bones the action's F-curves drive."""
    bones = set()
    for fcurve in compat.action_fcurves(action):
        match = _BONE_PATH.match(fcurve.data_path)
        if match:
            bones.add(re.sub(r"\\(.)", r"\1", match.group(1)))
    return bones


def rig_takes(rig) -> list:
    """The takes (generated actions) that animate bones of this armature, oldest first."""
    names = set(rig.data.bones.keys())
    takes = []
    for action in bpy.data.actions:
        if take_data.is_take(action):
            bones = animated_bones(action)
            if bones and bones <= names:
                takes.append(action)
    return takes


def active_take(rig):
    anim = rig.animation_data
    return anim.action if anim is not None else None


def activate_take(rig, action) -> None:
    """Make `action` the armature's active action (the take shown and played), the baton in its hand."""
    compat.assign_action(rig, action, compat.take_slot(action, rig))
    side = take_data.take_baton(action)
    if side is None:  # a take stored before the baton followed takes: read it from its motion
        motion = take_data.take_keypoints(action)
        side = "R" if motion is None else baton.baton_side(motion)
    baton.hold_baton(rig, side)


def push_to_nla(rig, action):
    """A new NLA track (top) with one strip of the take at its own frames; like Blender's Push Down, the take
    stops being the active action so that the strip is what plays. The action itself is kept."""
    anim = rig.animation_data or rig.animation_data_create()
    track = anim.nla_tracks.new()
    track.name = action.name
    strip = compat.new_nla_strip(track, action.name, round(action.frame_range[0]), action, rig)
    if anim.action == action:
        anim.action = None
    return strip


def blend_takes(rig, take_a, take_b, factor: float) -> tuple:
    """Replace any previous blend with A (below) and B (above, influence `factor`); returns the two strips."""
    anim = rig.animation_data or rig.animation_data_create()
    for track in [t for t in anim.nla_tracks if t.name.startswith(BLEND_TRACK_PREFIX)]:
        anim.nla_tracks.remove(track)
    strips = []
    for label, action in (("A", take_a), ("B", take_b)):
        track = anim.nla_tracks.new()
        track.name = f"{BLEND_TRACK_PREFIX} {label}: {action.name}"
        strip = compat.new_nla_strip(track, action.name, round(action.frame_range[0]), action, rig)
        strip.blend_type = "REPLACE"
        strips.append(strip)
    set_blend_factor(strips[1], factor)
    anim.action = None
    return tuple(strips)


def set_blend_factor(strip, factor: float) -> None:
    """A constant influence: one key on the strip's influence F-curve (which Blender evaluates over the
    `influence` value once animated influence is on)."""
    strip.use_animated_influence = True
    strip.influence = factor
    fcurve = strip.fcurves.find("influence")
    if fcurve is None:
        return
    points = fcurve.keyframe_points
    if len(points) == 0:
        points.insert(strip.frame_start, factor)
    for point in points:
        point.co[1] = factor
        point.handle_left[1] = point.handle_right[1] = factor
    fcurve.update()


def _take_by_name(rig, name: str):
    action = bpy.data.actions.get(name)
    if action is None or action not in rig_takes(rig):
        return None
    return action


class VCONDUCTOR_OT_take_activate(request.ArmatureOperator, bpy.types.Operator):
    """Show this take on the armature (its active action): click through takes to compare them"""

    bl_idname = "vconductor.take_activate"
    bl_label = "Show Take"
    bl_options = {"REGISTER", "UNDO"}

    take: StringProperty(name="Take", description="Name of the take's action")

    def execute(self, context):
        rig, _reason = request.target_armature(context)
        action = _take_by_name(rig, self.take)
        if action is None:
            self.report({"ERROR"}, f"'{self.take}' is not a take of armature '{rig.name}'")
            return {"CANCELLED"}
        activate_take(rig, action)
        return {"FINISHED"}


class VCONDUCTOR_OT_take_to_nla(bpy.types.Operator):
    """Push the take to a new NLA track on the armature (the action is kept; it stops being the active one)"""

    bl_idname = "vconductor.take_to_nla"
    bl_label = "Push Take to NLA"
    bl_options = {"REGISTER", "UNDO"}

    take: StringProperty(name="Take", description="The take's action (empty: the active take)")

    @classmethod
    def poll(cls, context):
        rig, reason = request.target_armature(context)
        if reason is None and not rig_takes(rig):
            reason = "The armature has no takes yet: generate one"
        if reason:
            cls.poll_message_set(reason)
        return reason is None

    def execute(self, context):
        rig, _reason = request.target_armature(context)
        action = _take_by_name(rig, self.take) if self.take else active_take(rig)
        if action is None or not take_data.is_take(action):
            what = f"'{self.take}' is not a take" if self.take else "The active action is not a take"
            self.report({"ERROR"}, f"{what} of armature '{rig.name}'")
            return {"CANCELLED"}
        push_to_nla(rig, action)
        self.report({"INFO"}, f"Take '{action.name}' pushed to a new NLA track")
        return {"FINISHED"}


class VCONDUCTOR_OT_blend_takes(bpy.types.Operator):
    """Blend two takes on the NLA: A below, B above with influence Factor (key the influence to crossfade)"""

    bl_idname = "vconductor.blend_takes"
    bl_label = "Blend Takes"
    bl_options = {"REGISTER", "UNDO"}

    take_a: StringProperty(name="Take A")
    take_b: StringProperty(name="Take B")
    factor: FloatProperty(
        name="Factor",
        default=0.5,
        min=0.0,
        max=1.0,
        subtype="FACTOR",
        description="0 = take A only, 1 = take B only",
    )

    @classmethod
    def poll(cls, context):
        rig, reason = request.target_armature(context)
        if reason is None and len(rig_takes(rig)) < 2:
            reason = "Blending needs two takes on the armature"
        if reason:
            cls.poll_message_set(reason)
        return reason is None

    def execute(self, context):
        rig, _reason = request.target_armature(context)
        takes = rig_takes(rig)
        take_a = _take_by_name(rig, self.take_a) if self.take_a else (takes[-2] if len(takes) > 1 else None)
        take_b = _take_by_name(rig, self.take_b) if self.take_b else (takes[-1] if takes else None)
        if take_a is None or take_b is None or take_a == take_b:
            self.report({"ERROR"}, "Pick two different takes of this armature to blend")
            return {"CANCELLED"}
        blend_takes(rig, take_a, take_b, self.factor)
        self.report({"INFO"}, f"Blending '{take_a.name}' and '{take_b.name}' at {self.factor:.2f}")
        return {"FINISHED"}

    def invoke(self, context, _event):
        return context.window_manager.invoke_props_dialog(self)

    def draw(self, _context):
        layout = self.layout
        layout.prop_search(self, "take_a", bpy.data, "actions")
        layout.prop_search(self, "take_b", bpy.data, "actions")
        layout.prop(self, "factor")


CLASSES = (VCONDUCTOR_OT_take_activate, VCONDUCTOR_OT_take_to_nla, VCONDUCTOR_OT_blend_takes)
