"""Decoding through ffmpeg, for what libsndfile cannot read (m4a/aac, Matroska, video files, ...).

ffmpeg streams 32-bit float WAV through a pipe and the blocks are resampled as they arrive: no temp file, and a
decode that passes the length limit is stopped there (ffmpeg killed). The container's stated duration is read
first, so most over-long files are refused before any decoding.
"""

import re
import shutil
import struct
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .child_process import tied_to_this_process
from .samples import AudioError, AudioTooLong, MonoResampler, check_rate

READ_FRAMES = 1 << 18
PROBE_TIMEOUT_S = 60
_DURATION = re.compile(r"Duration: (\d+):(\d\d):(\d\d(?:\.\d+)?)")
_WAVE_FLOAT, _WAVE_EXTENSIBLE = 3, 0xFFFE


def ffmpeg_executable() -> str | None:
    """The ffmpeg shipped with imageio-ffmpeg, else one on PATH, else None."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:
        return shutil.which("ffmpeg")


def _input_url(path: Path) -> str:
    return f"file:{path.resolve()}"  # "file:" stops ffmpeg reading "a:b.m4a" as protocol "a"


def stated_duration(exe: str, path: Path) -> float | None:
    """The duration the container states (ffmpeg's input summary); None when it states none or guesses it
    from the bit rate."""
    cmd = [exe, "-hide_banner", "-nostdin", "-i", _input_url(path)]  # no output: ffmpeg only opens the input
    try:
        run = tied_to_this_process(cmd)  # dies with us, even on kill -9
        proc = subprocess.run(
            **run, capture_output=True, text=True, errors="replace", timeout=PROBE_TIMEOUT_S
        )
    except subprocess.TimeoutExpired:
        return None
    match = _DURATION.search(proc.stderr)
    if match is None or "Estimating duration from bitrate" in proc.stderr:
        return None
    hours, minutes, seconds = match.groups()
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def decode_with_ffmpeg(path: Path, name: str, sndfile_error: str, max_duration_s: float | None, sink=None):
    """The first audio stream of `path`, decoded and resampled as it streams into `sink` (default: collected
    into an Audio); returns the sink's result. Messages call it `name`."""
    exe = ffmpeg_executable()
    if exe is None:
        raise AudioError(
            f"{name}: not readable by libsndfile ({sndfile_error}) and no ffmpeg is available to decode it "
            "(install imageio-ffmpeg, or convert the file to wav/flac/ogg/mp3)"
        )
    if max_duration_s is not None:
        stated = stated_duration(exe, path)
        if stated is not None and stated > max_duration_s:
            raise AudioTooLong(name, stated, max_duration_s)
    first_audio_stream = ["-vn", "-map", "0:a:0"]
    float_wav_to_stdout = ["-c:a", "pcm_f32le", "-f", "wav", "pipe:1"]
    cmd = [exe, "-nostdin", "-v", "error", "-i", _input_url(path), *first_audio_stream, *float_wav_to_stdout]
    with tempfile.TemporaryFile() as stderr:  # a file, not a pipe: ffmpeg can never block on its messages
        run = tied_to_this_process(cmd)  # dies with us, even on kill -9
        proc = subprocess.Popen(**run, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=stderr)
        try:
            audio = _read_wav_stream(proc.stdout, name, max_duration_s, sink)
            proc.wait(None if audio is not None else 10)  # no audio: ffmpeg is exiting with its reason
        except subprocess.TimeoutExpired:
            pass
        finally:
            _end(proc)
        stderr.seek(0)
        messages = stderr.read().decode(errors="replace")
    if proc.returncode != 0 or audio is None:
        raise _failure(messages, path, name)
    return audio


def _end(proc: subprocess.Popen) -> None:
    """Stop ffmpeg if it still runs (the decode was refused midway) and reap it."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    proc.stdout.close()


def _failure(messages: str, path: Path, name: str) -> AudioError:
    lines = messages.strip().splitlines()
    if not lines or "matches no streams" in messages or "does not contain any stream" in messages:
        return AudioError(f"{name}: contains no audio stream")
    detail = lines[-1].replace(_input_url(path), name).replace(str(path.resolve()), name)
    return AudioError(f"{name}: not a decodable audio file ({detail[:200]})")


def _read_wav_stream(stream, name: str, max_duration_s: float | None, sink):
    """Float WAV from a pipe -> the sink's result; None when the stream ends before the data (ffmpeg failed)."""
    header = _read_wav_header(stream)
    if header is None:
        return None
    rate, channels = header
    rate = check_rate(rate, name)
    res = MonoResampler(rate, name, max_duration_s, sink)
    frame_bytes = 4 * channels
    while data := stream.read(READ_FRAMES * frame_bytes):  # a short read only at the end of the stream
        whole = len(data) - len(data) % frame_bytes
        res.add(np.frombuffer(data, "<f4", count=whole // 4).reshape(-1, channels))
    return res.finish(rate, channels)


def _read_wav_header(stream) -> tuple[int, int] | None:
    """(sample rate, channels) from the chunks before "data"; the sizes ffmpeg writes to a pipe are
    placeholders, so the data is read to the end of the stream."""
    riff = stream.read(12)
    if len(riff) < 12 or riff[:4] != b"RIFF" or riff[8:] != b"WAVE":
        return None
    fmt = None
    while len(chunk := stream.read(8)) == 8:
        kind, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
        if kind == b"data":
            return fmt
        body = stream.read(size + (size & 1))  # chunks are padded to an even size
        if kind == b"fmt " and len(body) >= 16:
            tag, channels, rate = struct.unpack("<HHI", body[:8])
            bits = struct.unpack("<H", body[14:16])[0]
            if tag not in (_WAVE_FLOAT, _WAVE_EXTENSIBLE) or bits != 32 or channels == 0:
                return None
            fmt = rate, channels
    return None
