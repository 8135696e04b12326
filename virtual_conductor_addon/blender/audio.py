"""The sound strip's audio for a frame range, decoded by Blender itself (so motion and playback agree)."""

import contextlib
import os
import tempfile
from dataclasses import dataclass

import bpy
import numpy as np

from ..contract import MIN_DURATION_S, SAMPLE_RATE


class AudioError(Exception):
    """A one-line message for the user."""


@dataclass(frozen=True)
class FrameRange:
    """Keys go on integer scene frames f with start <= f < end; audio time 0 of the motion is at `start`."""

    start: float
    end: float
    fps: float

    @property
    def duration_s(self) -> float:
        return (self.end - self.start) / self.fps


def scene_fps(scene) -> float:
    return scene.render.fps / scene.render.fps_base


def strip_range(scene, strip, user_range: tuple[int, int] | None = None) -> FrameRange:
    """The strip's visible range, intersected with an inclusive user range (first, last frame) if given."""
    start, end = float(strip.frame_final_start), float(strip.frame_final_end)
    if user_range is not None:
        start, end = max(start, float(user_range[0])), min(end, float(user_range[1]) + 1.0)
    if end - start < 1.0:
        raise AudioError(f"The frame range does not overlap the visible part of strip '{strip.name}'")
    return FrameRange(start, end, scene_fps(scene))


def audio_seconds(strip, frame: float, fps: float) -> float:
    """Time in the sound file that plays at scene frame `frame` (trimming does not move the sound)."""
    return (frame - strip.frame_start) / fps + strip.sound_offset


def check_sound(strip) -> None:
    """AudioError when the strip's sound is missing or unreadable (Blender then shows a 1-frame strip)."""
    sound = strip.sound
    if sound is None:
        raise AudioError(f"Strip '{strip.name}' has no sound")
    if sound.packed_file is None:
        path = _file_on_disk(sound)
        if not os.path.isfile(path):
            raise AudioError(f"Strip '{strip.name}': sound file not found: {path}")
    if sound.samplerate == 0:
        name = os.path.basename(bpy.path.abspath(sound.filepath))
        raise AudioError(f"Strip '{strip.name}': '{name}' is not a readable audio file")


def strip_pcm(strip, frames: FrameRange) -> np.ndarray:
    """Mono float32 PCM at SAMPLE_RATE of exactly what the strip plays over `frames`."""
    import aud  # importable only after bpy

    check_sound(strip)
    sound = strip.sound
    t0 = audio_seconds(strip, frames.start, frames.fps)
    t1 = audio_seconds(strip, frames.end, frames.fps)
    with _sound_file(sound, strip.name) as path:
        try:
            pcm = aud.Sound(path).limit(max(t0, 0.0), t1).rechannel(1).resample(SAMPLE_RATE, False).data()
        except Exception as exc:  # aud raises plain errors for undecodable data
            raise AudioError(
                f"Strip '{strip.name}': cannot decode '{os.path.basename(path)}': {exc}"
            ) from exc
    pcm = np.ascontiguousarray(pcm.reshape(-1), dtype=np.float32)
    if t0 < 0:  # the range starts before the sound does: silence there, so audio time 0 stays at frames.start
        pcm = np.concatenate([np.zeros(round(-t0 * SAMPLE_RATE), np.float32), pcm])
    if pcm.size < MIN_DURATION_S * SAMPLE_RATE:
        raise AudioError(f"Strip '{strip.name}' has under {MIN_DURATION_S:g} s of audio in the frame range")
    if not np.isfinite(pcm).all() or not np.abs(pcm).max() > 0:
        raise AudioError(f"Strip '{strip.name}' is silent in the frame range")
    return pcm


@contextlib.contextmanager
def _sound_file(sound, strip_name: str):
    """A path to the sound's data on disk: its file, or a temporary copy of packed data."""
    if sound.packed_file is not None:
        suffix = os.path.splitext(sound.filepath)[1] or ".wav"
        fd, path = tempfile.mkstemp(prefix="vconductor-", suffix=suffix)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(bytes(sound.packed_file.data))
            yield path
        finally:
            with contextlib.suppress(OSError):
                os.remove(path)
        return
    path = _file_on_disk(sound)
    if not os.path.isfile(path):
        raise AudioError(f"Strip '{strip_name}': sound file not found: {path}")
    yield path


def _file_on_disk(sound) -> str:
    return os.path.normpath(bpy.path.abspath(sound.filepath, library=sound.library))
