"""Beat markers: the beats the backend tracked in a take's audio, dropped on the timeline as markers.

Animators time everything to markers. A marker is named BAR.BEAT ("12.1" is bar 12's downbeat; a pickup
before the first downbeat is bar 0) after MARKER_PREFIX, so adding markers again replaces ours and never
touches the user's own.
"""

import bpy
from bpy.props import BoolProperty

from . import request, take_data, takes

MARKER_PREFIX = "VC "


def beat_labels(beat_in_bar) -> list[str]:
    """BAR.BEAT for each beat: bars count downbeats from 1, beats count from 1 within the bar."""
    labels, bar = [], 0
    for position in beat_in_bar:
        bar += int(position) == 0
        labels.append(f"{bar}.{int(position) + 1}")
    return labels


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
    """Put a timeline marker on every beat (or every downbeat) the backend found in the active take's audio,
    named BAR.BEAT; the markers this adds replace its earlier ones, never yours"""

    bl_idname = "vconductor.add_beat_markers"
    bl_label = "Add Beat Markers"
    bl_options = {"REGISTER", "UNDO"}

    downbeats_only: BoolProperty(name="Downbeats Only", description="One marker per bar", default=False)

    @classmethod
    def poll(cls, context):
        stored, reason = _take_with_beats(context)
        if stored is None:
            cls.poll_message_set(reason)
        return stored is not None

    def execute(self, context):
        (beats, frame_start, fps), _ = _take_with_beats(context)
        names = beat_labels(beats.beat_in_bar)
        frames = [round(frame_start + t * fps) for t in beats.beats_s]
        if self.downbeats_only:
            kept = [i for i, k in enumerate(beats.beat_in_bar) if k == 0]
            frames, names = [frames[i] for i in kept], [names[i] for i in kept]
        if not frames:
            self.report({"WARNING"}, "The backend found no beats in this take's audio")
            return {"CANCELLED"}
        count = replace_markers(context.scene, frames, names)
        self.report({"INFO"}, f"Added {count} beat markers")
        return {"FINISHED"}


CLASSES = (VCONDUCTOR_OT_add_beat_markers,)
