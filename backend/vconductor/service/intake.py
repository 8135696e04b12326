"""Taking audio in: the body received by upload.py, then decoded and checked.

Decoding runs at submit time (in a thread, a few at a time), so every unusable input (empty, corrupt, truncated,
not audio, silent, too short, too long, absurd sample values) is answered with a 422 before a job exists. The
length limit is checked from the header where there is one, and while decoding (which stops there) where there
is not (docs/input-limits.md). Messages name the client's file, never a path of the server's. Decoding goes
straight into the log-mel spectrogram (vconductor.audio.spectrogram: memory bounded whatever the length), whose
frames wait on disk until the job's turn; the upload itself is deleted at once.
"""

from pathlib import Path

import numpy as np
from pydantic import ValidationError

from ..audio import AudioError, AudioTooLong, CropOutside, Spectrogram, audio_spectrogram
from ..pipeline import check_usable
from ..scratch import scratch_folder
from .errors import ApiError, describe_validation
from .schemas import JobOptions
from .store import AudioInput

PCM_NAME = "PCM body"
BEATS_CODE = "invalid_beats"
SCORE_CODE = "invalid_score"
PCM_ONLY = ("sample_rate", "channels")


def upload_folder() -> Path:
    """This server's folder for uploads and queued spectrograms (see vconductor.scratch: folders left by servers
    that died are removed when the next one starts)."""
    return scratch_folder("service")


def merge_options(query: JobOptions, fields: dict[str, str]) -> JobOptions:
    """Query options plus multipart form fields (the same option in both places is an error)."""
    twice = sorted(set(fields) & query.model_fields_set)
    if twice:
        raise ApiError(422, "invalid_option", f"{', '.join(twice)} given both in the query and the form")
    try:
        return JobOptions.model_validate({**query.model_dump(include=query.model_fields_set), **fields})
    except ValidationError as exc:
        raise ApiError(422, "invalid_option", describe_validation(exc.errors())) from None


def check_pcm_options(options: JobOptions, pcm: bool) -> None:
    if pcm and options.sample_rate is None:
        raise ApiError(
            422, "invalid_option", "sample_rate is required for raw PCM (application/octet-stream)"
        )
    if not pcm and set(PCM_ONLY) & options.model_fields_set:
        message = "sample_rate and channels describe raw PCM bodies; an uploaded file carries its own"
        raise ApiError(422, "invalid_option", message)


def parse_beats_part(data: bytes | None, name: str, options: JobOptions):
    """The 'beats' part's beats (beat_files.GivenBeats; None without one), checked: 422 with the reason."""
    from ..beat_files import BeatsFileError, parse_beats

    if data is None:
        return None
    if options.bpm is not None:
        message = "a 'beats' part and bpm/first_downbeat contradict each other: send one of them"
        raise ApiError(422, BEATS_CODE, message)
    try:
        return parse_beats(data, name)
    except BeatsFileError as exc:
        raise ApiError(422, BEATS_CODE, str(exc)) from None


def parse_score_part(data: bytes | None, name: str, options: JobOptions, given):
    """The 'score' part read safely (scores/reading.py: bounded, in a child process) as a ScoreSource; None
    without one; 422 `invalid_score` with the reason."""
    from ..scores.reading import ScoreFileError, parse_score_bytes
    from ..scores.source import ScoreSource

    if data is None:
        return None
    if given is not None or options.bpm is not None:
        message = "a 'score' part and a 'beats' part or bpm contradict each other: send one of them"
        raise ApiError(422, SCORE_CODE, message)
    try:
        return ScoreSource(parse_score_bytes(data, name), options.score_mismatch)
    except ScoreFileError as exc:
        raise ApiError(422, SCORE_CODE, str(exc)) from None


def beat_source_for(given, options: JobOptions, duration_s: float, score=None):
    """The job's BeatSource (None: the tracker's beats), checked against the decoded audio's length: a beat
    after its end, or a grid that starts after it, is a 422. Beat times are the uploaded audio's: a crop's
    start is subtracted and beats outside the crop dropped."""
    from ..beat_files import BeatsFileError
    from ..beat_sources import beat_source, given_beats
    from ..beat_tracking.decoder import TrackedBeats

    cropped = options.start_s is not None or options.end_s is not None
    if score is not None:  # aligned to the (cropped) audio when the job's turn comes
        from ..beat_sources import BeatSource

        return BeatSource(score=score)
    try:
        source = beat_source(given, options.bpm, options.first_downbeat, options.start_s or 0.0, cropped)
        if source is not None:
            given_beats(source, duration_s, TrackedBeats.empty(), options.meter)  # the tracker adds no error
    except BeatsFileError as exc:
        raise ApiError(422, BEATS_CODE, str(exc)) from None
    return source


def check_pcm_length(nbytes: int, options: JobOptions, max_duration_s: float) -> int:
    """Frames in a float32 PCM body of `nbytes` (checked from Content-Length before reading, then again)."""
    frame = 4 * options.channels
    if nbytes == 0:
        raise ApiError(422, "empty_body", "the request body is empty: send the audio")
    if nbytes % frame:
        message = (
            f"the PCM body has {nbytes} bytes, not a whole number of float32 frames of {options.channels} "
            f"channel(s) ({frame} bytes each)"
        )
        raise ApiError(422, "invalid_pcm", message)
    _check_duration(nbytes // frame / options.sample_rate, max_duration_s, PCM_NAME)
    return nbytes // frame


def _check_duration(seconds: float, max_duration_s: float, name: str) -> None:
    if seconds > max_duration_s:
        raise _too_long(AudioTooLong(name, seconds, max_duration_s))


def _too_long(exc: AudioTooLong) -> ApiError:
    return ApiError(422, "too_long", f"{exc} (--max-duration-s)")


# ------------------------------------------------------------------------------------------------ decoding


def decode(
    upload: Path, name: str, out: Path, options: JobOptions, pcm: bool, max_duration_s: float
) -> AudioInput:
    """Decode, crop and check an upload (blocking: runs in a thread) straight into its spectrogram, whose
    frames wait in a file in `out`'s folder. Memory stays bounded whatever the length.

    The upload is deleted whatever happens; AudioError becomes a 422 naming the client's file, not ours.
    """
    try:
        spectrogram = _spectrogram(upload, name, out.parent, options, pcm, max_duration_s)
    except AudioTooLong as exc:
        raise _too_long(exc) from None
    except CropOutside as exc:
        message = f"start_s {exc.start_s:g} is not before the end of the audio ({exc.duration_s:.2f} s)"
        raise ApiError(422, "invalid_option", message) from None
    except AudioError as exc:
        raise ApiError(422, "invalid_audio", _without_paths(str(exc), upload, name)) from None
    except (OSError, MemoryError) as exc:
        raise ApiError(
            503, "server_busy", f"the server could not store the audio ({type(exc).__name__})"
        ) from None
    finally:
        upload.unlink(missing_ok=True)
    return AudioInput(spectrogram)


def _without_paths(message: str, upload: Path, name: str) -> str:
    """A decoder's message with any path of the server's replaced (the decoders name `name` already)."""
    message = message.replace(f"file:{upload}", name).replace(str(upload), name)
    return message.replace(str(upload.parent), "<upload folder>")


def _spectrogram(
    upload: Path, name: str, folder: Path, options: JobOptions, pcm: bool, max_duration_s: float
) -> Spectrogram:
    if pcm:
        check_pcm_length(upload.stat().st_size, options, max_duration_s)
        frames = np.memmap(upload, dtype="<f4", mode="r").reshape(-1, options.channels)  # read as needed
        source = (frames, options.sample_rate)
    else:
        source = upload  # the header's length is checked first, then the length while decoding
    crop = None if options.start_s is None and options.end_s is None else (options.start_s, options.end_s)
    # spill_after=0: every frame waits on disk, where the store counts queued jobs by their files' sizes
    spectrogram = audio_spectrogram(source, max_duration_s, name, crop, spill_dir=folder, spill_after=0)
    try:
        check_usable(spectrogram)
    except AudioError:
        spectrogram.close()
        raise
    return spectrogram
