"""A multipart/form-data upload of PCM with files beside it (a beat file, a score), streamed without copies.

The service takes the `beats` and `score` parts only in a multipart body, whose audio is a file: the PCM goes
as a 32-bit float WAV (lossless: the samples Blender decoded, exactly), its samples sent from the caller's array
(a memoryview: no copy of what may be ~1 GB) and a file part from disk in blocks. Standard library and numpy.
"""

import os
import secrets
import struct
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from .errors import BAD_INPUT, ServiceError, one_line_reason

FILE_BLOCK_BYTES = 1 << 20
WAVE_FORMAT_IEEE_FLOAT = 3
MAX_WAV_DATA_BYTES = 0xFFFFFFFF - 64  # RIFF sizes are 32-bit: ~13 hours of mono float32 at 22050 Hz


@dataclass(frozen=True)
class FilePart:
    """A file part: its bytes in memory (`data`) or on disk (`path`), sent under `filename`."""

    name: str
    filename: str
    content_type: str = "application/octet-stream"
    data: bytes | memoryview | None = None
    path: str = ""

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else os.path.getsize(self.path)

    def chunks(self) -> Iterator[bytes | memoryview]:
        if self.data is not None:
            yield self.data
            return
        with open(self.path, "rb") as file:
            while block := file.read(FILE_BLOCK_BYTES):
                yield block


@dataclass(frozen=True)
class JobExtras:
    """What a job may carry beside its audio (sent as a multipart upload): a beat file's bytes
    (docs/beat-sources.md) and a score file on disk with what to do when it does not fit the audio."""

    beats: bytes | None = None
    beats_name: str = "beats.txt"
    score_path: str = ""
    score_mismatch: str = ""  # "error" | "audio" (the service's default when empty)

    @property
    def any(self) -> bool:
        return self.beats is not None or bool(self.score_path)

    def parts(self) -> list[FilePart]:
        parts = [] if self.beats is None else [FilePart("beats", self.beats_name, "text/plain", self.beats)]
        if self.score_path:  # the file's own name: its suffix tells the service the format
            parts.append(FilePart("score", os.path.basename(self.score_path), path=self.score_path))
        return parts

    def fields(self) -> dict[str, str]:
        return {"score_mismatch": self.score_mismatch} if self.score_path and self.score_mismatch else {}


def wav_part(samples: np.ndarray, sample_rate: int, name: str = "file") -> list[FilePart]:
    """Float32 PCM, (n,) or (n, channels), as a WAV file part (its header and its samples: two pieces)."""
    body = np.ascontiguousarray(samples, dtype="<f4")
    channels = 1 if body.ndim == 1 else body.shape[1]
    header = wav_header(body.nbytes, channels, sample_rate)
    return [
        FilePart(name, "audio.wav", "audio/wav", header),
        FilePart("", "", data=memoryview(body).cast("B")),  # continues the part above
    ]


def wav_header(data_bytes: int, channels: int, sample_rate: int) -> bytes:
    """RIFF/WAVE header for IEEE float32 samples: fmt (18 bytes, as non-PCM formats have), fact, data."""
    if data_bytes > MAX_WAV_DATA_BYTES:
        raise ValueError(
            f"{data_bytes} bytes of samples do not fit a WAV file (at most {MAX_WAV_DATA_BYTES})"
        )
    block = 4 * channels
    fmt = struct.pack(
        "<HHIIHHH", WAVE_FORMAT_IEEE_FLOAT, channels, sample_rate, sample_rate * block, block, 32, 0
    )
    fact = struct.pack("<I", data_bytes // block)
    chunks = b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"fact" + struct.pack("<I", 4) + fact
    return (
        b"RIFF" + struct.pack("<I", 4 + len(chunks) + 8 + data_bytes) + b"WAVE" + chunks + _data(data_bytes)
    )


def _data(data_bytes: int) -> bytes:
    return b"data" + struct.pack("<I", data_bytes)


class MultipartBody:
    """Text fields then file parts; `length` and `content_type` for the headers, iterate it for the body.
    A FilePart with an empty name continues the previous part (the WAV's samples after its header)."""

    def __init__(self, fields: dict[str, str], files: list[FilePart]):
        self.boundary = "vconductor-" + secrets.token_hex(12)
        self.fields = fields
        self.files = files

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def _heads(self) -> Iterator[tuple[bytes, FilePart | None]]:
        for name, value in self.fields.items():
            disposition = f'Content-Disposition: form-data; name="{_quoted(name)}"'
            yield f"--{self.boundary}\r\n{disposition}\r\n\r\n{value}\r\n".encode(), None
        for index, part in enumerate(self.files):
            if not part.name:  # a continuation: no head of its own
                yield b"", part
                continue
            lead = "\r\n" if index else ""
            disposition = f'form-data; name="{_quoted(part.name)}"; filename="{_quoted(part.filename)}"'
            head = f"{lead}--{self.boundary}\r\nContent-Disposition: {disposition}\r\n"
            yield f"{head}Content-Type: {part.content_type}\r\n\r\n".encode(), part

    def _tail(self) -> bytes:
        return ("\r\n" if self.files else "").encode() + f"--{self.boundary}--\r\n".encode()

    @property
    def length(self) -> int:
        return sum(len(head) + (part.size if part else 0) for head, part in self._heads()) + len(self._tail())

    def __iter__(self) -> Iterator[bytes | memoryview]:
        for head, part in self._heads():
            if head:
                yield head
            if part is not None:
                yield from part.chunks()
        yield self._tail()


def job_upload(samples: np.ndarray, sample_rate: int, extras: JobExtras | None, query: dict):
    """(body, content type, length) of a job's upload: the raw PCM (its rate and channels added to the query),
    or with extras a multipart body whose audio is a float WAV of the same samples."""
    if extras is None or not extras.any:
        query.update(sample_rate=sample_rate, channels=1 if samples.ndim == 1 else samples.shape[1])
        body = memoryview(np.ascontiguousarray(samples, dtype="<f4")).cast("B")  # no copy of ~1 GB
        return body, "application/octet-stream", body.nbytes
    try:
        body = MultipartBody(extras.fields(), wav_part(samples, sample_rate) + extras.parts())
        return body, body.content_type, body.length
    except (OSError, ValueError) as exc:  # the score file went, or samples too long for a WAV
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        raise ServiceError(f"Cannot send the job: {where}{one_line_reason(exc)}", BAD_INPUT) from None


def _quoted(text: str) -> str:
    """A name inside a quoted header parameter: no quotes, backslashes or line breaks."""
    return "".join("_" if c in '"\\\r\n' else c for c in text)
