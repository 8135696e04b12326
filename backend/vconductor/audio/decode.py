"""Decoding a path or a sample array to mono float32 at 22050 Hz, librosa-equivalent, with the limits checked.

libsndfile reads what it knows (wav, flac, ogg, mp3, ...); anything else goes to ffmpeg (ffmpeg.py). A length
limit is checked against the header first and again while decoding, which stops the moment it is passed.
"""

import os
import re
from pathlib import Path

import numpy as np
import soundfile as sf

from .ffmpeg import decode_with_ffmpeg
from .samples import Audio, AudioError, AudioTooLong, MonoResampler, SampleCollector, check_rate

READ_FRAMES = 1 << 18
MAX_TUPLE_CHANNELS = 64
# libsndfile's frame count for a stream whose header has no length (FLAC written to a pipe): SF_COUNT_MAX
UNKNOWN_FRAMES = 2**63 - 1
_WAV_SHORT_DATA = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.M)


def load_audio(source, max_duration_s: float | None = None, name: str | None = None) -> Audio:
    """Decode a path, or take ``(samples, sample_rate)``, to mono float32 at 22050 Hz.

    Samples may be 1-D, ``(frames, channels)`` (soundfile layout) or ``(channels, frames)`` with at most 64
    channels (librosa layout); integer PCM is scaled to [-1, 1). Audio longer than `max_duration_s` raises
    AudioTooLong, before decoding where the header tells the length. Messages call the source `name` (default:
    the path as given, or "samples").
    """
    return decode_into(source, SampleCollector(), max_duration_s, name)


def decode_into(source, sink, max_duration_s: float | None = None, name: str | None = None):
    """Decode as :func:`load_audio` does, handing the mono 22050 Hz blocks to `sink` as they come (see
    MonoResampler); returns the sink's result. Memory stays bounded by the block size, whatever the length."""
    if isinstance(source, tuple):
        return _load_samples(source, max_duration_s, name or "samples", sink)
    if not isinstance(source, (str, os.PathLike)):
        raise AudioError(
            f"unsupported audio source {type(source).__name__}: give a path or (samples, sample_rate)"
        )
    path = Path(os.fspath(source))
    name = name or str(path)
    if not path.exists():
        raise AudioError(f"{name}: file not found")
    if path.is_dir():
        raise AudioError(f"{name}: is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{name}: file is empty")
    try:
        opened = sf.SoundFile(path)
    except sf.LibsndfileError as exc:  # a format libsndfile does not know (m4a, ...): try ffmpeg
        return decode_with_ffmpeg(path, name, str(exc), max_duration_s, sink)
    except (RuntimeError, ValueError, OSError) as exc:
        raise AudioError(f"{name}: could not open the audio ({exc})") from None
    with opened:
        if opened.frames < UNKNOWN_FRAMES:
            return _decode_with_soundfile(opened, name, max_duration_s, sink)
    # No length in the header: libsndfile cannot read such a stream to its end (its reads seek), ffmpeg can,
    # and stops at the length limit while it streams.
    return decode_with_ffmpeg(path, name, "no length in its header", max_duration_s, sink)


def _load_samples(source: tuple, max_duration_s: float | None, name: str, sink):
    if len(source) != 2:
        raise AudioError(f"{name}: expected (samples, sample_rate), got a tuple of {len(source)} items")
    samples, rate = source
    rate = check_rate(rate, name)
    x = np.asarray(samples)
    if np.issubdtype(x.dtype, np.unsignedinteger):  # offset binary: the midpoint is silence
        half = np.float32(np.iinfo(x.dtype).max // 2 + 1)
        x = (x.astype(np.float32) - half) / half
    elif np.issubdtype(x.dtype, np.integer):
        x = x.astype(np.float32) / np.float32(np.iinfo(x.dtype).max + 1)
    elif not np.issubdtype(x.dtype, np.floating):
        raise AudioError(f"{name}: unsupported dtype {x.dtype}")
    if x.ndim == 2 and x.shape[0] <= MAX_TUPLE_CHANNELS and x.shape[0] < x.shape[1]:
        x = x.T
    if x.ndim not in (1, 2) or x.size == 0:
        raise AudioError(f"{name}: expected a non-empty 1-D or 2-D array, got shape {x.shape}")
    if max_duration_s is not None and len(x) / rate > max_duration_s:
        raise AudioTooLong(name, len(x) / rate, max_duration_s)
    res = MonoResampler(rate, name, None, sink)
    for start in range(0, len(x), READ_FRAMES):
        res.add(x[start : start + READ_FRAMES])
    return res.finish(rate, 1 if x.ndim == 1 else x.shape[1])


def _decode_with_soundfile(f: sf.SoundFile, name: str, max_duration_s: float | None, sink):
    rate = check_rate(f.samplerate, name)
    if m := _WAV_SHORT_DATA.search(f.extra_info):  # libsndfile reads what is there and notes the cut
        raise AudioError(f"{name}: the file is truncated ({m[2]} of {m[1]} bytes of audio data present)")
    if max_duration_s is not None and f.frames / rate > max_duration_s:
        raise AudioTooLong(name, f.frames / rate, max_duration_s)
    res = MonoResampler(rate, name, max_duration_s, sink)
    dtype = "float64" if f.subtype == "DOUBLE" else "float32"  # float32 would turn 1e300 into inf unseen
    try:
        # read() until it returns nothing: blocks() needs a seekable file, and GSM 6.10 WAV is not one
        while len(block := f.read(READ_FRAMES, dtype=dtype, always_2d=True)):
            res.add(block)
    except AudioError:
        raise
    except (sf.LibsndfileError, RuntimeError, ValueError) as exc:
        raise AudioError(f"{name}: the audio data is corrupt or truncated ({exc})") from None
    if 0 < res.n_in < f.frames:
        raise AudioError(f"{name}: the file is truncated ({res.n_in} of {f.frames} samples present)")
    return res.finish(rate, f.channels)
