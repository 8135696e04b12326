"""Receiving a request body: streamed to a file under the size limit, cut when it stalls, parsed off the loop.

The event loop only moves chunks. Writing them, and parsing a multipart body (python-multipart), happens in
worker threads a mebibyte at a time, so /v1/health answers at once during a large upload. A body that stops
arriving for `idle_timeout_s` gets a 408 and its connection is closed; a client that disconnects midway costs
one log line. Whatever fails, the caller's file is closed and the part saved so far deleted.
"""

import logging
import re
from dataclasses import dataclass
from pathlib import Path

import anyio
from starlette.requests import Request

try:
    from python_multipart.exceptions import FormParserError
    from python_multipart.multipart import MultipartParser, parse_options_header
except ModuleNotFoundError:  # python-multipart before 0.0.13 named its module `multipart`
    from multipart.exceptions import FormParserError
    from multipart.multipart import MultipartParser, parse_options_header

from .errors import ApiError

PCM_TYPE = "application/octet-stream"
MULTIPART_TYPE = "multipart/form-data"
FILE_FIELD = "file"  # the multipart part that holds the audio (the OpenAPI document names it)
BEATS_FIELD = "beats"  # the optional part that holds a beat file (docs/beat-sources.md), kept in memory
MAX_BEATS_PART_BYTES = 1 << 20  # beat_files.MAX_BEATS_BYTES: checked as it arrives
SCORE_FIELD = "score"  # the optional part that holds a score (docs/scores.md), kept in memory
MAX_SCORE_PART_BYTES = 16 << 20  # scores.reading.MAX_SCORE_BYTES: checked as it arrives
BATCH_BYTES = 1 << 20  # bytes handed to a worker thread at once: few thread hops, little memory
MAX_FIELDS = 16  # text parts (options) in a multipart body
MAX_FIELD_BYTES = 64 * 1024  # each: options are a few characters
MAX_HEADER_BYTES = 8 * 1024  # a part's header line (a file name is at most a few hundred bytes)
MiB = 2**20

log = logging.getLogger("uvicorn.error")  # the server's own log: same format and --log-level
# python-multipart logs each parse error it raises; the client gets it as a 400, the log need not print it bare
logging.getLogger(MultipartParser.__module__).addHandler(logging.NullHandler())


@dataclass(frozen=True)
class BodyLimits:
    max_bytes: int  # --max-upload-mb
    idle_timeout_s: float  # --body-timeout-s: the longest wait for the next piece of the body


def media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _too_large(limit: int) -> ApiError:
    return ApiError(
        413, "too_large", f"the upload is larger than the {limit / MiB:g} MiB limit (--max-upload-mb)"
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


async def _pump(request: Request, limits: BodyLimits, sink) -> int:
    """Read the whole body, calling `sink(bytes)` in a worker thread for each batch; returns its size.

    413 as soon as it passes the limit (Content-Length may be absent), 408 when it stalls, and a client that
    disconnects is logged in one line (the 400 raised then reaches nobody).
    """
    batch: list[bytes] = []
    batched = total = 0
    more = True
    while more:
        message = None
        with anyio.move_on_after(limits.idle_timeout_s):
            message = await request.receive()
        if message is None:
            raise _stalled(request, limits.idle_timeout_s, total)
        if message["type"] == "http.disconnect":
            raise _disconnected(request, total)
        chunk, more = message.get("body", b""), message.get("more_body", False)
        total += len(chunk)
        if total > limits.max_bytes:
            raise _too_large(limits.max_bytes)
        if chunk:
            batch.append(chunk)
            batched += len(chunk)
        if batch and (batched >= BATCH_BYTES or not more):
            await anyio.to_thread.run_sync(sink, b"".join(batch))
            batch, batched = [], 0
    return total


def _client(request: Request) -> str:
    return f"{request.client.host}:{request.client.port}" if request.client else "a client"


def _stalled(request: Request, timeout_s: float, received: int) -> ApiError:
    log.warning(
        "%s sent no data for %g s after %.1f MiB of its upload: the connection is closed",
        _client(request),
        timeout_s,
        received / MiB,
    )
    message = f"no data for {timeout_s:g} s: the upload was cut (--body-timeout-s)"
    return ApiError(408, "body_timeout", message, {"Connection": "close"})


def _disconnected(request: Request, received: int) -> ApiError:
    log.warning("%s disconnected after %.1f MiB of its upload", _client(request), received / MiB)
    return ApiError(400, "client_disconnected", "the client disconnected during the upload")


async def receive_body(request: Request, dest: Path, limits: BodyLimits) -> int:
    """A raw (PCM) body, to `dest`; the caller deletes `dest` if this fails."""
    with open(dest, "xb") as f:
        return await _pump(request, limits, f.write)


@dataclass
class Received:
    """A multipart body, received: the audio's file and display name, the text fields, and the 'beats' part
    (its bytes and display name) when there was one."""

    path: Path
    name: str
    fields: dict[str, str]
    beats: bytes | None = None
    beats_name: str = BEATS_FIELD
    score: bytes | None = None
    score_name: str = SCORE_FIELD


async def receive_multipart(request: Request, folder: Path, stem: str, limits: BodyLimits) -> Received:
    """Save the uploaded 'file' part of a multipart body as `folder/stem` plus its extension; keep the text
    fields and a 'beats' part (at most MAX_BEATS_PART_BYTES, in memory)."""
    form = _MultipartForm(request.headers.get("content-type", ""), folder, stem)
    try:
        await _pump(request, limits, form.write)
        return await anyio.to_thread.run_sync(form.finish)
    except BaseException:
        form.discard()
        raise


def _malformed(detail: str) -> ApiError:
    return ApiError(400, "bad_request", f"malformed multipart body: {detail}")


class _MultipartForm:
    """A multipart body parsed as it arrives (python-multipart's callbacks, called in worker threads): the part
    named 'file' goes straight to its file, the part named 'beats' (file or text) and text parts (options) are
    kept, other file parts are dropped."""

    def __init__(self, content_type: str, folder: Path, stem: str):
        boundary = parse_options_header(content_type)[1].get(b"boundary")
        if not boundary:
            raise _malformed("the Content-Type names no boundary")
        self.folder, self.stem = folder, stem
        self.fields: dict[str, str] = {}
        self.path: Path | None = None
        self.name = ""
        self.other_files: list[str] = []  # names of file parts that are not 'file'
        self.file_as_text = False
        self.ended = False
        self.beats: bytearray | None = None
        self.beats_name = BEATS_FIELD
        self.score: bytearray | None = None
        self.score_name = SCORE_FIELD
        self._file = None
        self._part: tuple[str, str] | None = None  # (kind: file, text or skip; the part's name)
        self._text = bytearray()
        self._header_name = self._header_text = b""
        self._disposition = b""
        callbacks = {
            "on_part_begin": self._begin,
            "on_header_field": self._header_field,
            "on_header_value": self._header_value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_finished,
            "on_part_data": self._data,
            "on_part_end": self._part_end,
            "on_end": lambda: setattr(self, "ended", True),
        }
        try:
            self._parser = MultipartParser(boundary, callbacks)
        except (FormParserError, ValueError) as exc:
            raise _malformed(str(exc)[:100]) from None

    def write(self, data: bytes) -> None:
        try:
            self._parser.write(data)
        except FormParserError as exc:
            raise _malformed(str(exc)[:100]) from None

    def _begin(self) -> None:
        self._part, self._disposition = None, b""

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_text += data[start:end]
        if len(self._header_text) > MAX_HEADER_BYTES:
            raise _malformed(f"a part's header is over {MAX_HEADER_BYTES // 1024} KiB")

    def _header_end(self) -> None:
        if self._header_name.strip().lower() == b"content-disposition":
            self._disposition = self._header_text
        self._header_name = self._header_text = b""

    def _headers_finished(self) -> None:
        options = parse_options_header(self._disposition)[1]
        if b"name" not in options:
            raise _malformed('a part has no Content-Disposition "name"')
        name = options[b"name"].decode("utf-8", "replace")
        if name == BEATS_FIELD:
            if self.beats is not None:
                raise _malformed(f"more than one '{BEATS_FIELD}' part")
            self.beats = bytearray()
            self.beats_name = display_name(options.get(b"filename", b"beats").decode("utf-8", "replace"))
            self._part = ("beats", name)
        elif name == SCORE_FIELD:
            if self.score is not None:
                raise _malformed(f"more than one '{SCORE_FIELD}' part")
            self.score = bytearray()
            self.score_name = display_name(options.get(b"filename", b"score").decode("utf-8", "replace"))
            self._part = ("score", name)
        elif b"filename" not in options:
            if len(self.fields) >= MAX_FIELDS:
                raise _malformed(f"more than {MAX_FIELDS} form fields")
            self._part, self._text = ("text", name), bytearray()
            self.file_as_text |= name == FILE_FIELD
        elif name != FILE_FIELD:
            self._part = ("skip", name)
            self.other_files.append(name)
        elif self._file is not None or self.path is not None:
            raise _malformed(f"more than one '{FILE_FIELD}' part")
        else:
            self.name = display_name(options[b"filename"].decode("utf-8", "replace"))
            self.path = self.folder / (self.stem + _safe_suffix(self.name))
            self._file = open(self.path, "xb")  # noqa: SIM115 (closed by _part_end or discard)
            self._part = ("file", name)

    def _data(self, data: bytes, start: int, end: int) -> None:
        kind = self._part[0] if self._part else "skip"
        if kind == "file":
            self._file.write(memoryview(data)[start:end])
        elif kind == "beats":
            self.beats += data[start:end]
            if len(self.beats) > MAX_BEATS_PART_BYTES:
                raise ApiError(
                    413, "too_large", f"the '{BEATS_FIELD}' part is over {MAX_BEATS_PART_BYTES // MiB} MiB"
                )
        elif kind == "score":
            self.score += data[start:end]
            if len(self.score) > MAX_SCORE_PART_BYTES:
                raise ApiError(
                    413, "too_large", f"the '{SCORE_FIELD}' part is over {MAX_SCORE_PART_BYTES // MiB} MiB"
                )
        elif kind == "text":
            self._text += data[start:end]
            if len(self._text) > MAX_FIELD_BYTES:
                raise _malformed(
                    f"the form field '{self._part[1][:40]}' is over {MAX_FIELD_BYTES // 1024} KiB"
                )

    def _part_end(self) -> None:
        kind, name = self._part or ("skip", "")
        if kind == "file":
            self._file.close()
        elif kind == "text":
            self.fields[name] = self._text.decode("utf-8", "replace")
        self._part = None

    def finish(self) -> Received:
        """The saved audio once the whole body is in, with the fields and beats; 4xx when unusable."""
        if not self.ended or (self._file is not None and not self._file.closed):
            raise _malformed("it ends before its closing boundary")
        if self.other_files:
            message = f"the audio goes in the multipart part '{FILE_FIELD}', not {self.other_files[0][:40]!r}"
            raise ApiError(422, "missing_file", message)
        if self.path is None and self.file_as_text:
            message = f"the '{FILE_FIELD}' part is text: send it as a file upload (with a filename)"
            raise ApiError(422, "missing_file", message)
        if self.path is None:
            message = f"the multipart body has no file part: send the audio as '{FILE_FIELD}'"
            raise ApiError(422, "missing_file", message)
        beats = bytes(self.beats) if self.beats is not None else None
        score = bytes(self.score) if self.score is not None else None
        return Received(self.path, self.name, self.fields, beats, self.beats_name, score, self.score_name)

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
        if self.path is not None:
            self.path.unlink(missing_ok=True)


def display_name(filename: str | None) -> str:
    name = re.sub(r"[\x00-\x1f\x7f]", "", Path((filename or "").replace("\\", "/")).name)[:100]
    return name or "upload"


def _safe_suffix(name: str) -> str:
    """The file's extension, when harmless: it helps format detection (ffmpeg) and nothing else."""
    suffix = Path(name).suffix.lower()
    return suffix if re.fullmatch(r"\.[a-z0-9]{1,8}", suffix) else ""
