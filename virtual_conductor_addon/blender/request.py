"""Reading what to generate from the scene: the strip, the armature, its bone map, the range and the audio."""

import os

import bpy

from ..contract import SAMPLE_RATE
from ..motion.errors import MotionError
from ..motion.lifting import LiftConfig
from . import armature, beat_source, compat
from .audio import AudioError, check_sound, strip_audio, strip_range
from .generate import JobError, Request
from .preferences import preferences
from .properties import conducting_style


def target_strip(context):
    """(strip, None) or (None, why not): the named strip, else the active one."""
    scene = compat.sequencer_scene(context)
    settings = context.scene.vconductor
    if settings.sound_strip:
        strip = next((s for s in compat.all_strips(scene) if s.name == settings.sound_strip), None)
        if strip is None:
            return None, f"No strip named '{settings.sound_strip}' in the sequencer"
    else:
        editor = scene.sequence_editor if scene else None
        strip = editor.active_strip if editor else None
        if strip is None:
            return None, "No sound strip: make one active in the Sequencer or pick one in the panel"
    if not compat.is_sound_strip(strip):
        return None, f"Strip '{strip.name}' is not a sound strip"
    return strip, None


def target_armature(context):
    """(armature object, None) or (None, why not): the chosen one, else the active object."""
    rig = context.scene.vconductor.armature or context.active_object
    if rig is None or rig.type != "ARMATURE":
        return None, "No armature: select one, pick one in the panel, or create the conductor rig"
    return rig, None


class ArmatureOperator:
    """Mixin for operators that act on the target armature: disabled, with the reason shown, without one."""

    @classmethod
    def poll(cls, context):
        _rig, reason = target_armature(context)
        if reason:
            cls.poll_message_set(reason)
        return reason is None


def why_not_generate(context) -> str | None:
    """Cheap checks for the Generate button (no audio decoding)."""
    from . import generate

    if generate.is_running():
        return "A generation is already running"
    for _target, reason in (target_strip(context), target_armature(context)):
        if reason:
            return reason
    linked = armature.linked_object_problem(target_armature(context)[0])
    if linked:
        return linked
    if context.scene.vconductor.beat_source == "TRACKED":
        return None
    try:
        frames = generation_frames(context, target_strip(context)[0])
    except AudioError as exc:
        return str(exc)
    return beat_source.why_not(context.scene, frames, context.scene.vconductor)


def generation_frames(context, strip):
    """The frames a generation keys: the strip's played range, or its part inside the user's range."""
    settings = context.scene.vconductor
    user_range = (settings.frame_start, settings.frame_end) if settings.use_frame_range else None
    return strip_range(compat.sequencer_scene(context), strip, user_range)


def build_request(context) -> Request:
    """Everything the job needs, or JobError with one message for the user. Changes nothing."""
    strip, reason = target_strip(context)
    rig, reason = (None, reason) if reason else target_armature(context)
    reason = reason or armature.linked_object_problem(rig)
    if reason:
        raise JobError(reason)
    settings = context.scene.vconductor
    try:
        bone_map, _source = armature.resolve_bone_map(rig)
    except MotionError as exc:  # a hand-edited map naming a bone twice
        raise JobError(str(exc)) from exc
    missing = armature.check_bone_map(rig, bone_map)
    if missing:
        raise JobError(missing)
    try:  # only what needs bpy, quickly: the job decodes the audio on its worker thread
        check_sound(strip)  # first: a missing sound makes a 1-frame strip
        frames = generation_frames(context, strip)
        pcm = strip_audio(strip, frames)
        extras = beat_source.job_extras(context.scene, frames, settings)  # markers: the audio's own time
    except (AudioError, ValueError) as exc:
        raise JobError(str(exc)) from exc
    model = settings.model or preferences(context).default_model or None
    return Request(
        pcm=pcm,
        sample_rate=SAMPLE_RATE,
        model=model,
        seed=settings.seed,
        beat_lock=settings.beat_lock,
        style=conducting_style(settings),
        extras=extras,
        beats_note=beat_source.describe(context.scene, frames, settings),
        frames=frames,
        armature_name=rig.name,
        bone_map=bone_map,
        store_bone_map=armature.stored_bone_map(rig) is None and armature.linked_data_note(rig) is None,
        lift=LiftConfig(
            size=settings.motion_size,
            smoothing=settings.smoothing,
            sway=settings.sway,
        ),
        strip_name=strip.name,
        source=os.path.basename(bpy.path.abspath(strip.sound.filepath)) if strip.sound else "",
    )
