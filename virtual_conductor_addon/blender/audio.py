"""The sound strip's audio for a frame range, decoded by Blender itself (so motion and playback agree).

`strip_audio` reads what decoding needs from the strip on the main thread (quick: the range, the file's path,
a packed sound's bytes). `StripAudio.decoded` does the slow part on the generation's worker thread, without
bpy: decoding in short steps (pcm_decode.py) into a temporary file in Blender's session temp folder, which the
request then sends from disk, so memory stays flat however long the strip.
"""

import contextlib
import os
import tempfile
from dataclasses import dataclass, field

import bpy
import numpy as np

from ..contract import MIN_DURATION_S, SAMPLE_RATE
from ..service.session import SessionError
from .pcm_decode import decode_range

COPY_BLOCK_BYTES = (
    1 << 24
)  # a packed sound goes to disk in blocks of this size, checking for a cancel between


class AudioError(SessionError):
    """A one-line message for the user (the generation's worker thread reports it as the job's error)."""


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


def strip_audio(strip, frames: FrameRange) -> "StripAudio":
    """What decoding the strip's audio over `frames` needs, read now (main thread, quick); AudioError when the
    sound is missing or unreadable."""
    check_sound(strip)
    sound = strip.sound
    path = _file_on_disk(sound)
    return StripAudio(
        strip_name=strip.name,
        file_name=os.path.basename(path) or sound.name,
        path=path,
        packed=bytes(sound.packed_file.data) if sound.packed_file is not None else None,
        start_s=audio_seconds(strip, frames.start, frames.fps),
        end_s=audio_seconds(strip, frames.end, frames.fps),
        temp_dir=bpy.app.tempdir,
    )


def strip_pcm(strip, frames: FrameRange) -> np.ndarray:
    """Mono float32 PCM at SAMPLE_RATE of exactly what the strip plays over `frames`, decoded here and now
    (scripts and tests; a generation decodes on its worker thread)."""
    with strip_audio(strip, frames).decoded(lambda _fraction: None, lambda: False) as pcm:
        return np.array(pcm)


@dataclass
class StripAudio:
    """A strip's audio over a range, ready to decode on any thread (a service.session.PcmSource)."""

    strip_name: str
    file_name: str  # for messages
    path: str  # the sound file (for a packed sound: the name its temporary copy ends like)
    # a packed sound's data, dropped once copied to disk
    packed: bytes | None = field(default=None, repr=False)
    start_s: float = 0.0  # where in the sound file the range starts; before 0: silence first
    end_s: float = 0.0
    temp_dir: str = ""  # Blender's session temp folder, which Blender empties when it exits

    @property
    def description(self) -> str:
        return f"Reading the audio of '{self.file_name}'"

    @contextlib.contextmanager
    def decoded(self, on_progress, cancelled):
        """The PCM as a read-only array over a temporary file (removed on exit), or None when cancelled()
        turned true first; AudioError when it is unusable. on_progress(fraction) follows the decoding."""
        with self._source_file(cancelled) as source, _temporary(self.temp_dir, ".f32") as target:
            count = None if source is None else self._decode(source, target, on_progress, cancelled)
            yield None if count is None else np.memmap(target, dtype="<f4", mode="r", shape=(count,))

    def _decode(self, source: str, target: str, on_progress, cancelled) -> int | None:
        import aud  # importable only after bpy

        try:
            with open(target, "wb") as file:
                sink = _PcmSink(file)
                # a range that starts before the sound starts with silence: audio time 0 stays at its start
                sink.silence(round(max(-self.start_s, 0.0) * SAMPLE_RATE))
                start_s = max(self.start_s, 0.0)
                if not decode_range(source, start_s, self.end_s, SAMPLE_RATE, sink, on_progress, cancelled):
                    return None
        except aud.error as exc:
            raise AudioError(f"Strip '{self.strip_name}': cannot decode '{self.file_name}': {exc}") from exc
        except OSError as exc:
            raise AudioError(
                f"Strip '{self.strip_name}': cannot write its decoded audio to {self.temp_dir}: "
                f"{exc.strerror or exc}"
            ) from exc
        if sink.count < MIN_DURATION_S * SAMPLE_RATE:
            raise AudioError(
                f"Strip '{self.strip_name}' has under {MIN_DURATION_S:g} s of audio in the frame range"
            )
        if not sink.finite or not sink.peak > 0:
            raise AudioError(f"Strip '{self.strip_name}' is silent in the frame range")
        return sink.count

    @contextlib.contextmanager
    def _source_file(self, cancelled):
        """The sound on disk: its own file, or a temporary copy of the packed data (None when cancelled)."""
        if self.packed is None:
            yield self.path
            return
        with _temporary(self.temp_dir, os.path.splitext(self.path)[1] or ".wav") as copy:
            data, self.packed = memoryview(self.packed), None  # the copy on disk is what gets decoded
            try:
                with open(copy, "wb") as file:
                    for begin in range(0, len(data), COPY_BLOCK_BYTES):
                        if cancelled():
                            break
                        file.write(data[begin : begin + COPY_BLOCK_BYTES])
            except OSError as exc:
                raise AudioError(
                    f"Strip '{self.strip_name}': cannot copy its packed sound to {self.temp_dir}: "
                    f"{exc.strerror or exc}"
                ) from exc
            del data
            yield None if cancelled() else copy


class _PcmSink:
    """Appends float32 blocks to a file, keeping what the checks need: the count, the peak, all finite."""

    def __init__(self, file) -> None:
        self.file = file
        self.count = 0
        self.peak = 0.0
        self.finite = True

    def __call__(self, block: np.ndarray) -> None:
        block = np.ascontiguousarray(block, dtype="<f4")
        if block.size:
            magnitude = np.abs(block)
            self.finite = self.finite and bool(np.isfinite(magnitude).all())
            self.peak = max(self.peak, float(magnitude.max()))
            self.file.write(memoryview(block).cast("B"))
            self.count += block.size

    def silence(self, count: int) -> None:
        for begin in range(0, count, SAMPLE_RATE * 60):
            self.file.write(bytes(4 * min(SAMPLE_RATE * 60, count - begin)))
        self.count += count


@contextlib.contextmanager
def _temporary(folder: str, suffix: str):
    """A new empty file's path, removed on exit."""
    try:
        fd, path = tempfile.mkstemp(prefix="vconductor-", suffix=suffix, dir=folder or None)
    except OSError as exc:
        raise AudioError(
            f"Cannot create a temporary file in {folder or tempfile.gettempdir()}: {exc.strerror}"
        ) from exc
    os.close(fd)
    try:
        yield path
    finally:
        # on Windows a file still mapped (after an error) stays until Blender empties its temp folder
        with contextlib.suppress(OSError):
            os.remove(path)


def _file_on_disk(sound) -> str:
    return os.path.normpath(bpy.path.abspath(sound.filepath, library=sound.library))
