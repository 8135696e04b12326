"""Beat markers: the beats the backend tracked in a take's audio, dropped on the timeline as markers.

Animators time everything to markers. A marker is named BAR.BEAT ("12.1" is bar 12's downbeat; a pickup
before the first downbeat is bar 0) after MARKER_PREFIX, so adding markers again replaces ours and never
touches the user's own. Which beats get one (every beat, the conducted ones, downbeats) is motion/beat_marks.py.
"""

import bpy
from bpy.props import EnumProperty

from ..motion.beat_marks import beat_marks
from . import request, take_data, takes

MARKER_PREFIX = "VC "


def replace_markers(scene, frames: list[int], names: list[str]) -> int:
    """Remove our previous markers and add these; how many were added."""
    for marker in [m for m in scene.timeline_markers if m.name.startswith(MARKER_PREFIX)]:
        scene.timeline_markers.remove(marker)
    for frame, name in zip(frames, names, strict=True):
        scene.timeline_markers.new(MARKER_PREFIX + name, frame=frame)
    return len(frames)


def _take_with_beats(context):
    rig, reason = request.target_armature(context)
    if rig is None:
        return None, reason
    action = takes.active_take(rig)
    if action is None:
        return None, "No active take: generate or show a take first"
    stored = take_data.take_beats(action)
    if stored is None:
        return None, f"Take '{action.name}' has no beats (made by an older backend): generate it again"
    return stored, ""


class VCONDUCTOR_OT_add_beat_markers(bpy.types.Operator):
    """Put a timeline marker on every beat the backend found in the active take's audio, on the beats the
    conductor marks, or on every downbeat, named BAR.BEAT; the markers this adds replace its earlier ones,
    never yours"""

    bl_idname = "vconductor.add_beat_markers"
    bl_label = "Add Beat Markers"
    bl_options = {"REGISTER", "UNDO"}

    marks: EnumProperty(
        name="Beats",
        description="Which beats get a marker",
        items=(
            ("BEATS", "Every Beat", "A marker on every beat of the written bars"),
            (
                "CONDUCTED",
                "Conducted Beats",
                "A marker where the conductor's hand beats: a fast 3/4 conducted in one gets one a bar, "
                "a 6/8 conducted in six one an eighth",
            ),
            ("DOWNBEATS", "Downbeats", "One marker a bar"),
        ),
        default="BEATS",
    )

    @classmethod
    def poll(cls, context):
        stored, reason = _take_with_beats(context)
        if stored is None:
            cls.poll_message_set(reason)
        return stored is not None

    def execute(self, context):
        (beats, frame_start, fps), _ = _take_with_beats(context)
        times, names = beat_marks(beats, self.marks)
        frames = [round(frame_start + t * fps) for t in times]
        if not frames:
            self.report({"WARNING"}, "The backend found no beats in this take's audio")
            return {"CANCELLED"}
        count = replace_markers(context.scene, frames, names)
        self.report({"INFO"}, f"Added {count} beat markers")
        return {"FINISHED"}


CLASSES = (VCONDUCTOR_OT_add_beat_markers,)
