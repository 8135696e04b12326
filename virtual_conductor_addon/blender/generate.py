"""One generation, the Blender side: the session's worker talks to the backend (service/session.py, never bpy);
here a timer mirrors its progress and the result becomes keys on the main thread.

In the GUI a `bpy.app.timers` callback, `poll_job()`, mirrors the worker's progress into
`window_manager.vconductor_job` and applies the result when the backend is done. `poll_job` is a plain
function so that tests (where timers never fire) can call it in a loop. In background mode the same work runs
synchronously inside the operator.
"""

import contextlib
import dataclasses

import bpy

from ..contract import JobState, Motion
from ..contract_beats import BeatTrack
from ..motion import rig_controls
from ..motion.bone_map import BoneMap
from ..motion.lifting import LiftConfig
from ..motion.pipeline import MotionError, animate_rig, key_frames
from ..motion.rig_geometry import rig_geometry
from ..service.session import POLL_INTERVAL_S, BackendSettings, GenerationJob, GenerationRequest
from . import armature, baton, follow_check, keys, take_data
from .audio import FrameRange
from .backend import SESSION
from .status import redraw_panels, report_error


class JobError(Exception):
    """A one-line message for the user; nothing in the scene has changed."""


@dataclasses.dataclass(frozen=True)
class Request(GenerationRequest):
    """Everything a generation needs, read from the scene up front (the worker never touches bpy)."""

    frames: FrameRange
    armature_name: str
    bone_map: BoneMap
    store_bone_map: bool  # the map was auto-detected: keep it on the armature once the take is applied
    lift: LiftConfig
    strip_name: str  # the take is named after the strip, the model the backend used and the seed
    source: str = ""  # the sound file's name, kept with the take's keypoints
    beats_note: str = ""  # where the beats come from, for the panel ("" for the tracker's)


def current_job() -> GenerationJob | None:
    return SESSION.job


def is_running() -> bool:
    return SESSION.job is not None


def start_async(request: Request, settings: BackendSettings) -> GenerationJob:
    """Start the worker thread and the timer that will apply its result."""
    job = SESSION.generate(request, settings)
    bpy.context.window_manager.vconductor_job.beat_note = ""
    _show(job)
    bpy.app.timers.register(poll_job, first_interval=POLL_INTERVAL_S)
    return job


def run_sync(request: Request, settings: BackendSettings):
    """Background mode: do the whole job now and return the new action; JobError (scene unchanged) on failure."""
    job = GenerationJob(SESSION, request, settings)
    bpy.context.window_manager.vconductor_job.beat_note = ""
    job.run()
    if job.state is not JobState.DONE:
        raise JobError(job.error or "Generation was cancelled")
    action = apply_result(request, job.result, job.beats)
    _show_beat_note(job)
    return action


def cancel_current() -> None:
    SESSION.cancel_job()


def poll_job() -> float | None:
    """The timer callback: mirror progress, and apply the result when done. Returns the next interval or None."""
    job = SESSION.job
    if job is None:
        return None
    _show(job)
    if SESSION.collect_finished() is None:
        return POLL_INTERVAL_S
    state = bpy.context.window_manager.vconductor_job
    state.running = False
    if job.state is JobState.DONE:
        _apply_reporting_errors(job)
    elif job.state is JobState.FAILED:
        report_error(job.error)
    else:
        state.message = "Cancelled"
    redraw_panels()
    return None


def _apply_reporting_errors(job: GenerationJob) -> None:
    state = bpy.context.window_manager.vconductor_job
    try:
        action = apply_result(job.request, job.result, job.beats)
    except JobError as exc:
        report_error(str(exc))
    except Exception as exc:  # a timer must not raise: the user would only see a console traceback
        report_error(f"Applying the motion failed: {type(exc).__name__}: {exc}")
    else:
        _show_beat_note(job)
        with contextlib.suppress(RuntimeError):  # one undo step: Ctrl+Z restores the previous take
            bpy.ops.ed.undo_push(message="Generate Conducting Motion")
        state.message = f"Created action '{action.name}'"
        state.last_error = ""


@bpy.app.handlers.persistent
def forget_job_on_load(*_args) -> None:
    """Another file is loading: its objects are not the ones the job was for."""
    SESSION.forget_job()


def apply_result(request: Request, motion: Motion, beats: BeatTrack | None = None):
    """Turn the backend's keypoints into a new action on the armature (the arms from the motion's authored 3D
    when it has some; the audio's beats kept with it, for markers). All checks happen before any change."""
    rig = bpy.data.objects.get((request.armature_name, None))  # local: a linked rig of that name is not it
    if rig is None or rig.type != "ARMATURE":
        raise JobError(f"Armature '{request.armature_name}' no longer exists")
    frames = request.frames
    frame_numbers, times = key_frames(frames.start, frames.end, frames.fps, motion.duration_s)
    side = baton.baton_side(motion, request.style)
    try:
        animation = animate_rig(
            motion.keypoints,
            times,
            armature.rig_rest(rig),
            request.bone_map,
            request.lift,
            keypoints3d=motion.keypoints3d,
            baton_tip=motion.baton_tip,
            baton_side=side,
        )
    except MotionError as exc:
        raise JobError(str(exc)) from exc
    missing = [name for name in animation.rotations if name not in rig.pose.bones]
    if missing:
        raise JobError(f"Armature '{rig.name}' changed during generation (missing {', '.join(missing)})")
    model = motion.model or request.model or ""  # the model the backend used: its default when none was asked
    action_name = f"VC {request.strip_name} {model or 'default'} seed{request.seed}"
    controls = _settable_controls(rig, rig_controls.preset_controls(request.bone_map, rig.data.bones.keys()))
    action = keys.write_take(
        rig,
        action_name,
        frame_numbers,
        animation.rotations,
        animation.locations,
        {c.data_path: c.value for c in controls},
    )
    for control in controls:  # the value now too: headless, a custom property change needs the update tag
        rig.pose.bones[control.bone][control.prop] = control.value
    rig.update_tag()
    _show_rig_notes(rig, request, animation, frame_numbers)
    take = dataclasses.replace(motion, model=model, source=request.source or motion.source)
    take_data.store_take(action, take, frames.start, frames.fps, beats, baton=side)
    baton.hold_baton(rig, side, baton.mapped_hands(rig, request.bone_map))
    if request.store_bone_map:  # only once the take is written: a failed generation changes nothing
        armature.store_bone_map(rig, request.bone_map)
    return action


def _settable_controls(rig, controls: list) -> list:
    """The preset's controls this rig has (a bone with that custom property); others are not created."""
    bones = rig.pose.bones
    return [c for c in controls if c.bone in bones and c.prop in bones[c.bone]]


def _show_rig_notes(rig, request: Request, animation, frame_numbers) -> None:
    """Preset and mapping notes, and the guard's findings (follow_check), into the panel."""
    state = bpy.context.window_manager.vconductor_job
    notes = rig_controls.preset_notes(request.bone_map, rig.data.bones.keys()) + list(animation.notes)
    notes += armature.transform_notes(rig) + list(filter(None, [armature.linked_data_note(rig)]))
    geometry = rig_geometry(armature.rig_rest(rig), request.bone_map)
    scene = bpy.context.scene
    warnings = follow_check.check_take_follows(rig, scene, frame_numbers, animation.targets, geometry)
    state.rig_notes = "\n".join(notes)
    state.rig_warnings = "\n".join(warnings)
    if bpy.app.background:  # no panel to read
        for warning in warnings:
            print(f"Virtual Conductor: {warning}")


def _show_beat_note(job: GenerationJob) -> None:
    """The take's beats in the panel: the markers it was given, how the backend used the score."""
    note = "; ".join(filter(None, (job.request.beats_note, job.score_note)))
    bpy.context.window_manager.vconductor_job.beat_note = note
    if bpy.app.background and note:
        print(f"Virtual Conductor: {note}")


def _show(job: GenerationJob) -> None:
    state = bpy.context.window_manager.vconductor_job
    state.running = not job.state.is_final
    state.progress = job.progress
    state.message = job.message
    redraw_panels()
