"""Where a take's beats come from (the panel's "Beats" choice): the backend's tracker, the scene's timeline
markers (sent as a beat file), or a score file (sent as is). The maths is motion/marker_beats.py; here only
reading the scene and the checks the Generate button shows (docs/beat-sources.md, "In Blender")."""

import os

import bpy
from bpy.props import StringProperty
from bpy_extras.io_utils import ImportHelper

from ..motion.marker_beats import BEATS_FILE_NAME, MarkerBeats, MarkerBeatsError, marker_beats
from ..service.multipart import JobExtras
from .audio import FrameRange

SCORE_SUFFIXES = (".musicxml", ".xml", ".mxl", ".mid", ".midi")
SCORE_GLOB = ";".join(f"*{suffix}" for suffix in SCORE_SUFFIXES)


def scene_marker_beats(scene, frames: FrameRange, settings) -> MarkerBeats:
    """The scene's markers on the played frames as beats in the uploaded audio's time (MarkerBeatsError)."""
    markers = [(m.name, m.frame) for m in scene.timeline_markers]
    return marker_beats(
        markers, frames.start, frames.end, frames.fps, settings.marker_downbeats, settings.beats_per_bar
    )


def score_path(settings) -> str:
    """The score file's absolute path; ValueError (one line) when it is unusable."""
    if not settings.score_file.strip():
        raise ValueError("Beats from a score: choose a score file (.musicxml, .mxl, .mid)")
    path = os.path.normpath(bpy.path.abspath(settings.score_file))
    name = os.path.basename(path)
    if not path.lower().endswith(SCORE_SUFFIXES):
        raise ValueError(f"Score '{name}' is not MusicXML or MIDI ({', '.join(SCORE_SUFFIXES)})")
    if not os.path.isfile(path):
        raise ValueError(f"Score file not found: {path}")
    if not os.access(path, os.R_OK):
        raise ValueError(f"Score file cannot be read: {path}")
    return path


def why_not(scene, frames: FrameRange, settings) -> str | None:
    """Why the chosen beat source cannot be used now (for the Generate button), else None."""
    try:
        job_extras(scene, frames, settings)
    except ValueError as exc:
        return str(exc)
    return None


def job_extras(scene, frames: FrameRange, settings) -> JobExtras | None:
    """What the job sends beside the audio for the chosen beat source (None: the tracker's beats);
    ValueError (MarkerBeatsError included) with one line when it cannot."""
    if settings.beat_source == "MARKERS":
        beats = scene_marker_beats(scene, frames, settings)
        return JobExtras(beats=beats.file_bytes(), beats_name=BEATS_FILE_NAME)
    if settings.beat_source == "SCORE":
        return JobExtras(score_path=score_path(settings), score_mismatch=settings.score_mismatch)
    return None


def describe(scene, frames: FrameRange, settings) -> str:
    """One line on the beats a job will be given, for the panel ("" for the tracker's)."""
    if settings.beat_source == "MARKERS":
        try:
            beats = scene_marker_beats(scene, frames, settings)
        except MarkerBeatsError:
            return ""
        bars = "" if beats.beat_in_bar is None else f", {int((beats.beat_in_bar == 0).sum())} downbeats"
        return f"Beats: {len(beats.times_s)} timeline markers{bars}"
    if settings.beat_source == "SCORE" and settings.score_file:
        return f"Beats: score '{os.path.basename(bpy.path.abspath(settings.score_file))}'"
    return ""


def draw(layout, settings) -> None:
    layout.prop(settings, "beat_source")
    if settings.beat_source == "MARKERS":
        layout.prop(settings, "marker_downbeats")
        if settings.marker_downbeats != "NONE":
            layout.prop(settings, "beats_per_bar")
    elif settings.beat_source == "SCORE":
        row = layout.row(align=True)
        row.prop(settings, "score_file", text="")
        row.operator("vconductor.choose_score", text="", icon="FILEBROWSER")
        layout.prop(settings, "score_mismatch")


class VCONDUCTOR_OT_choose_score(bpy.types.Operator, ImportHelper):
    """Choose the score the beats come from: MusicXML (.musicxml, .xml, .mxl) or MIDI (.mid)"""

    bl_idname = "vconductor.choose_score"
    bl_label = "Choose Score"
    bl_options = {"REGISTER", "UNDO"}

    filter_glob: StringProperty(default=SCORE_GLOB, options={"HIDDEN"})

    def execute(self, context):
        settings = context.scene.vconductor
        settings.score_file, settings.beat_source = self.filepath, "SCORE"
        try:
            score_path(settings)
        except ValueError as exc:
            self.report({"WARNING"}, str(exc))
        return {"FINISHED"}


CLASSES = (VCONDUCTOR_OT_choose_score,)
