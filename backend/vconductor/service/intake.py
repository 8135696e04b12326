"""Taking audio in: the request body streamed to a temp file under the size limit, then decoded and checked.

Decoding runs at submit time (in a thread, a few at a time), so every unusable input (empty, corrupt, truncated,
not audio, silent, too short, too long, absurd sample values) is answered with a 422 before a job exists. The
length limit is checked from the header where there is one, and while decoding (which stops there) where there
is not (docs/input-limits.md). Messages name the client's file, never a path of the server's. The decoded mono
22050 Hz samples wait on disk until the job's turn, and the upload itself is deleted at once; a PCM body that
already is those samples (mono, 22050 Hz, uncropped) is kept as they are rather than written a second time.
"""

import os
import re
import shutil
import tempfile
from pathlib import Path

import numpy as np
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser
from starlette.requests import Request

from ..audio import Audio, AudioError, AudioTooLong, load_audio
from ..contract import SAMPLE_RATE
from ..pipeline import check_usable
from .errors import ApiError, describe_validation
from .schemas import JobOptions
from .store import AudioInput

PCM_TYPE = "application/octet-stream"
MULTIPART_TYPE = "multipart/form-data"
PCM_NAME = "PCM body"
PCM_ONLY = ("sample_rate", "channels")
FILE_FIELD = "file"  # the multipart part that holds the audio (the OpenAPI document names it)


def upload_folder() -> Path:
    """A new folder for this server's uploads. Folders left by servers that died (SIGKILL, a crash) can hold
    gigabytes of decoded audio, so they are removed; their names start with the server's process id."""
    parent = Path(tempfile.gettempdir()) / f"vconductor-service-{_user()}"
    parent.mkdir(mode=0o700, exist_ok=True)
    if os.name == "posix":  # on Windows os.kill(pid, 0) would send Ctrl-C rather than probe
        for old in parent.iterdir():
            pid = old.name.split("-")[0]
            if pid.isdigit() and not _alive(int(pid)):
                shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=parent)).resolve()


def _user() -> str:
    try:
        return str(os.getuid())
    except AttributeError:  # Windows: the temp folder is per user already
        return "user"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413, "too_large", f"the upload is larger than the {limit / 2**20:g} MiB limit (--max-upload-mb)"
    )


def declared_length(request: Request, limit: int) -> int | None:
    """Content-Length, refused at once when over the limit (None for a chunked body)."""
    raw = request.headers.get("content-length")
    if raw is None:
        return None
    if not raw.isdigit():
        raise ApiError(400, "bad_request", "invalid Content-Length header")
    if int(raw) > limit:
        raise _too_large(limit)
    return int(raw)


async def _limited(request: Request, limit: int):
    """The body's chunks, stopping with a 413 as soon as it passes the limit (Content-Length may be absent)."""
    total = 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)
        yield chunk


async def receive_body(request: Request, dest: Path, limit: int) -> int:
    total = 0
    with open(dest, "xb") as f:
        async for chunk in _limited(request, limit):
            f.write(chunk)  # small page-cache writes: not worth a thread hop per chunk
            total += len(chunk)
    return total


async def receive_multipart(request: Request, folder: Path, stem: str, limit: int) -> tuple[Path, str, dict]:
    """Save the uploaded 'file' part of a multipart body; returns (path, its display name, the other fields)."""
    parser = MultiPartParser(request.headers, _limited(request, limit), max_files=1, max_fields=16)
    try:
        form = await parser.parse()
    except MultiPartException as exc:
        raise ApiError(400, "bad_request", f"malformed multipart body: {exc.message}") from None
    try:
        upload = _file_part(form)
        name = display_name(upload.filename)
        dest = folder / (stem + _safe_suffix(name))
        try:
            with open(dest, "xb") as out:
                shutil.copyfileobj(upload.file, out, 1 << 20)  # spooled to disk by the parser beyond 1 MiB
        except BaseException:
            dest.unlink(missing_ok=True)
            raise
        return dest, name, {k: v for k, v in form.multi_items() if isinstance(v, str)}
    finally:
        await form.close()


def _file_part(form) -> UploadFile:
    """The audio: the part named 'file', which must be a file (other names are options, or refused)."""
    others = [key for key, value in form.multi_items() if isinstance(value, UploadFile) and key != FILE_FIELD]
    if others:
        message = f"the audio goes in the multipart part '{FILE_FIELD}', not {others[0][:40]!r}"
        raise ApiError(422, "missing_file", message)
    upload = form.get(FILE_FIELD)
    if upload is None:
        raise ApiError(
            422, "missing_file", f"the multipart body has no file part: send the audio as '{FILE_FIELD}'"
        )
    if not isinstance(upload, UploadFile):
        message = f"the '{FILE_FIELD}' part is text: send it as a file upload (with a filename)"
        raise ApiError(422, "missing_file", message)
    return upload


def display_name(filename: str | None) -> str:
    name = re.sub(r"[\x00-\x1f\x7f]", "", Path((filename or "").replace("\\", "/")).name)[:100]
    return name or "upload"


def _safe_suffix(name: str) -> str:
    """The file's extension, when harmless: it helps format detection (ffmpeg) and nothing else."""
    suffix = Path(name).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""


# ------------------------------------------------------------------------------------------------- options


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
    """Decode, crop and check an upload (blocking: runs in a thread); the samples go to `out`.

    The upload is deleted whatever happens; AudioError becomes a 422 naming the client's file, not ours.
    """
    try:
        audio = _decoded(upload, name, options, pcm, max_duration_s)
        if pcm and _is_working_format(options):
            os.replace(upload, out)
        else:
            audio.samples.astype("<f4", copy=False).tofile(out)
    except AudioTooLong as exc:
        raise _too_long(exc) from None
    except AudioError as exc:
        raise ApiError(422, "invalid_audio", _without_paths(str(exc), upload, name)) from None
    except (OSError, MemoryError) as exc:
        out.unlink(missing_ok=True)
        raise ApiError(
            503, "server_busy", f"the server could not store the audio ({type(exc).__name__})"
        ) from None
    finally:
        upload.unlink(missing_ok=True)
    return AudioInput(out, name, audio.duration_s, audio.source_rate, audio.channels, audio.samples.nbytes)


def _without_paths(message: str, upload: Path, name: str) -> str:
    """A decoder's message with any path of the server's replaced (the decoders name `name` already)."""
    message = message.replace(f"file:{upload}", name).replace(str(upload), name)
    return message.replace(str(upload.parent), "<upload folder>")


def _decoded(upload: Path, name: str, options: JobOptions, pcm: bool, max_duration_s: float) -> Audio:
    if pcm:
        check_pcm_length(upload.stat().st_size, options, max_duration_s)
        frames = np.memmap(upload, dtype="<f4", mode="r").reshape(-1, options.channels)  # read as needed
        audio = load_audio((frames, options.sample_rate), max_duration_s, name)
    else:
        audio = load_audio(upload, max_duration_s, name)  # the header's length first, then while decoding
    audio = _crop(Audio(audio.samples, audio.source_rate, audio.channels, name), options)
    check_usable(audio)
    return audio


def _is_working_format(options: JobOptions) -> bool:
    """Whether a PCM body with these options holds exactly the samples it decodes to."""
    uncropped = options.start_s is None and options.end_s is None
    return options.sample_rate == SAMPLE_RATE and options.channels == 1 and uncropped


def _crop(audio: Audio, options: JobOptions) -> Audio:
    if options.start_s is None and options.end_s is None:
        return audio
    start = options.start_s or 0.0
    if start >= audio.duration_s:
        message = f"start_s {start:g} is not before the end of the audio ({audio.duration_s:.2f} s)"
        raise ApiError(422, "invalid_option", message)
    end = audio.duration_s if options.end_s is None else min(options.end_s, audio.duration_s)
    a, b = round(start * SAMPLE_RATE), round(end * SAMPLE_RATE)
    return Audio(audio.samples[a:b], audio.source_rate, audio.channels, audio.name)
