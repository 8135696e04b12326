"""Audio decoding and the official mel-feature pipeline, without OpenCV (docs/official-model.md#audio-features).

``mel_features`` reproduces ``extract_mel_feature`` of the official code: librosa-equivalent decoding (mono,
22050 Hz, soxr HQ resampling), a 128-band mel power spectrogram (n_fft 2048, hop 256, Hann, centred with zero
padding), dB relative to the loudest bin of the whole input, [0, 1] scaling, the frequency axis flipped (row 0 =
highest band), and linear resampling of time to 90 Hz with half-pixel centres (cv2.resize INTER_LINEAR).

Decoding and the spectrogram run block by block: memory stays proportional to the 22050 Hz mono signal (about
320 MB per hour) instead of the decoded source and its full STFT. Files that libsndfile cannot read (m4a/aac, ...) are decoded by ffmpeg when one is available.
"""

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.fft
import scipy.sparse
import soundfile as sf
import soxr

from .skeleton import MEL_RATE

SAMPLE_RATE = 22050
N_FFT = 2048
HOP = 256
N_MELS = 128
TOP_DB = 80.0
AMIN = 1e-10
SILENCE_PEAK = 1e-4  # -80 dBFS: below this a whole file is treated as silent
_READ_BLOCK = 1 << 18
_WAV_SHORT_DATA = re.compile(r"^data\s*:\s*(\d+)\s*\(should be (\d+)\)", re.M)
_STFT_BLOCK = 4096  # frames per FFT block (~32 MB of float32 frames)


class AudioError(ValueError):
    """Audio that cannot be used, with a message fit for the user."""


@dataclass
class Audio:
    """Mono float32 samples at 22050 Hz, with where they came from."""

    samples: np.ndarray
    source_rate: int
    channels: int
    name: str = "<samples>"

    sample_rate = SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return len(self.samples) / SAMPLE_RATE

    @property
    def peak(self) -> float:
        return float(np.abs(self.samples).max()) if len(self.samples) else 0.0


class _MonoResampler:
    """Downmix blocks to mono (channel mean, as librosa) and resample them to 22050 Hz with soxr HQ.

    Streaming soxr gives exactly the samples of librosa's one-shot ``soxr_hq`` resampling.
    """

    def __init__(self, rate: int):
        self.rate = rate
        self.stream = (
            None if rate == SAMPLE_RATE else soxr.ResampleStream(rate, SAMPLE_RATE, 1, "float32", "HQ")
        )
        self.parts: list[np.ndarray] = []
        self.n_in = 0

    def add(self, block: np.ndarray) -> None:
        mono = (
            block.mean(axis=1, dtype=np.float32) if block.ndim == 2 else block.astype(np.float32, copy=False)
        )
        self.n_in += len(mono)
        self.parts.append(mono.copy() if self.stream is None else self.stream.resample_chunk(mono))

    def finish(self) -> np.ndarray:
        if self.stream is not None:
            self.parts.append(self.stream.resample_chunk(np.zeros(0, np.float32), last=True))
        y = np.concatenate(self.parts) if self.parts else np.zeros(0, np.float32)
        if self.stream is not None:  # librosa.resample fixes the length to ceil(n * ratio)
            size = int(np.ceil(self.n_in * SAMPLE_RATE / self.rate))
            y = np.pad(y[:size], (0, max(0, size - len(y))))
        return y


def _check_rate(rate, name: str) -> int:
    if (
        not isinstance(rate, (int, np.integer, float))
        or not np.isfinite(rate)
        or int(rate) != rate
        or rate <= 0
    ):
        raise AudioError(f"{name}: invalid sample rate {rate!r}")
    if not 1000 <= rate <= 768000:
        raise AudioError(f"{name}: sample rate {int(rate)} Hz is outside the supported 1 kHz to 768 kHz")
    return int(rate)


def _finish(res: _MonoResampler, source_rate: int, channels: int, name: str) -> Audio:
    y = res.finish()
    if len(y) == 0:
        raise AudioError(f"{name}: contains no audio samples")
    if not np.isfinite(y).all():
        raise AudioError(f"{name}: contains non-finite samples (NaN or infinity)")
    return Audio(y, source_rate, channels, name)


def ffmpeg_executable() -> str | None:
    """The ffmpeg shipped with imageio-ffmpeg, else one on PATH, else None."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception:
        return shutil.which("ffmpeg")


def _decode_with_ffmpeg(path: Path, sndfile_error: str) -> Audio:
    exe = ffmpeg_executable()
    if exe is None:
        raise AudioError(
            f"{path}: not readable by libsndfile ({sndfile_error}) and no ffmpeg is available to decode it "
            "(install imageio-ffmpeg, or convert the file to wav/flac/ogg/mp3)"
        )
    with tempfile.TemporaryDirectory(prefix="vconductor-") as tmp:
        wav = Path(tmp) / "decoded.wav"
        source = ["-i", f"file:{path.resolve()}"]  # "file:" stops ffmpeg reading "a:b.m4a" as protocol "a"
        first_audio_stream = ["-vn", "-map", "0:a:0"]
        float_wav = ["-c:a", "pcm_f32le", "-f", "wav", str(wav)]
        cmd = [exe, "-nostdin", "-v", "error", *source, *first_audio_stream, *float_wav]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not wav.exists():
            lines = proc.stderr.strip().splitlines()
            if (
                not lines
                or "matches no streams" in proc.stderr
                or "does not contain any stream" in proc.stderr
            ):
                raise AudioError(f"{path}: contains no audio stream")
            detail = lines[-1]
            raise AudioError(f"{path}: not a decodable audio file ({detail[:200]})")
        return _decode_with_soundfile(sf.SoundFile(wav), name=str(path))


def _decode_with_soundfile(f: sf.SoundFile, name: str) -> Audio:
    with f:
        rate = _check_rate(f.samplerate, name)
        if m := _WAV_SHORT_DATA.search(f.extra_info):  # libsndfile reads what is there and notes the cut
            raise AudioError(f"{name}: the file is truncated ({m[2]} of {m[1]} bytes of audio data present)")
        res = _MonoResampler(rate)
        try:
            for block in f.blocks(blocksize=_READ_BLOCK, dtype="float32", always_2d=True):
                res.add(block)
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(f"{name}: the audio data is corrupt or truncated ({exc})") from None
        if 0 < res.n_in < f.frames:
            raise AudioError(f"{name}: the file is truncated ({res.n_in} of {f.frames} samples present)")
        return _finish(res, rate, f.channels, name)


def load_audio(source) -> Audio:
    """Decode a path, or take ``(samples, sample_rate)``, to mono float32 at 22050 Hz.

    Samples may be 1-D, ``(frames, channels)`` (soundfile layout) or ``(channels, frames)`` with at most 64
    channels (librosa layout); integer PCM is scaled to [-1, 1).
    """
    if isinstance(source, tuple):
        if len(source) != 2:
            raise AudioError(f"samples: expected (samples, sample_rate), got a tuple of {len(source)} items")
        samples, rate = source
        rate = _check_rate(rate, "samples")
        x = np.asarray(samples)
        if np.issubdtype(x.dtype, np.unsignedinteger):  # offset binary: the midpoint is silence
            half = np.float32(np.iinfo(x.dtype).max // 2 + 1)
            x = (x.astype(np.float32) - half) / half
        elif np.issubdtype(x.dtype, np.integer):
            x = x.astype(np.float32) / np.float32(np.iinfo(x.dtype).max + 1)
        elif not np.issubdtype(x.dtype, np.floating):
            raise AudioError(f"samples: unsupported dtype {x.dtype}")
        if x.ndim == 2 and x.shape[0] <= 64 and x.shape[0] < x.shape[1]:
            x = x.T
        if x.ndim not in (1, 2) or x.size == 0:
            raise AudioError(f"samples: expected a non-empty 1-D or 2-D array, got shape {x.shape}")
        res = _MonoResampler(rate)
        for start in range(0, len(x), _READ_BLOCK):
            res.add(x[start : start + _READ_BLOCK].astype(np.float32, copy=False))
        return _finish(res, rate, 1 if x.ndim == 1 else x.shape[1], "samples")

    if not isinstance(source, (str, os.PathLike)):
        raise AudioError(
            f"unsupported audio source {type(source).__name__}: give a path or (samples, sample_rate)"
        )
    path = Path(os.fspath(source))
    if not path.exists():
        raise AudioError(f"{path}: file not found")
    if path.is_dir():
        raise AudioError(f"{path}: is a folder, not an audio file")
    if path.stat().st_size == 0:
        raise AudioError(f"{path}: file is empty")
    try:
        opened = sf.SoundFile(path)
    except sf.LibsndfileError as exc:  # a format libsndfile does not know (m4a, ...): try ffmpeg
        return _decode_with_ffmpeg(path, str(exc))
    except (RuntimeError, ValueError, OSError) as exc:
        raise AudioError(f"{path}: could not open the audio ({exc})") from None
    return _decode_with_soundfile(opened, str(path))


# librosa.filters.mel(sr=22050, n_fft=2048, n_mels=128) as CSR arrays (data, indices, indptr) and the periodic
# Hann window: package data because importing librosa's filters costs about 1 s at every start.
# tests/test_audio.py checks that they still equal librosa's.
FILTERBANK_FILE = Path(__file__).with_name("data") / "mel_filterbank.npz"
_FILTERBANK: tuple[np.ndarray, np.ndarray] | None = None


def filterbank() -> tuple[scipy.sparse.csr_matrix, np.ndarray]:
    """The mel filterbank (128 x 1025, sparse) and the STFT window, loaded once."""
    global _FILTERBANK
    if _FILTERBANK is None:
        with np.load(FILTERBANK_FILE) as d:
            basis = scipy.sparse.csr_matrix(
                (d["data"], d["indices"], d["indptr"]), shape=(N_MELS, N_FFT // 2 + 1)
            )
            _FILTERBANK = basis, d["window"]
    return _FILTERBANK


def mel_power(y: np.ndarray) -> np.ndarray:
    """(128, 1 + len(y)//256) mel power spectrogram, as librosa.feature.melspectrogram with its defaults.

    Computed in blocks of frames: same values (to float32 rounding), a fraction of the time and memory.
    """
    basis, window = filterbank()
    n_frames = 1 + len(y) // HOP
    out = np.empty((N_MELS, n_frames), np.float32)
    half = N_FFT // 2
    for a in range(0, n_frames, _STFT_BLOCK):
        b = min(n_frames, a + _STFT_BLOCK)
        lo, hi = a * HOP - half, (b - 1) * HOP + half  # samples covered by frames a..b-1 (centred)
        seg = y[max(lo, 0) : min(hi, len(y))]
        if lo < 0 or hi > len(y):  # zero padding at the ends (librosa >= 0.10 default pad_mode)
            seg = np.pad(seg, (max(-lo, 0), max(hi - len(y), 0)))
        frames = np.lib.stride_tricks.sliding_window_view(seg, N_FFT)[::HOP]
        power = np.abs(scipy.fft.rfft(frames * window, axis=1, workers=-1))
        power *= power  # |X|**2 as librosa computes it
        out[:, a:b] = basis @ power.T
    return out


def resize_time_linear(x: np.ndarray, width: int) -> np.ndarray:
    """Resample the last axis to `width` samples by linear interpolation with half-pixel centres (cv2 style)."""
    w_in = x.shape[-1]
    src = (np.arange(width, dtype=np.float64) + 0.5) * (w_in / width) - 0.5
    src = np.clip(src, 0, w_in - 1)
    i0 = np.floor(src).astype(np.int64)
    i1 = np.minimum(i0 + 1, w_in - 1)
    frac = (src - i0).astype(np.float32)
    return x[..., i0] * (1 - frac) + x[..., i1] * frac


def mel_frames_for(num_samples: int) -> int:
    """The official 90 Hz feature length: int(duration * 90), computed as the official code does."""
    return int(num_samples / SAMPLE_RATE * MEL_RATE)


def mel_features(source, num_frames: int | None = None) -> np.ndarray:
    """Official M2S-GAN input features: float32 (T, 128) at 90 Hz, T = int(duration * 90) by default.

    `source` is a path, ``(samples, sample_rate)`` or an :class:`Audio`. `num_frames` forces the output length
    (the official ``mel_len_90fps``).
    """
    audio = source if isinstance(source, Audio) else load_audio(source)
    y = audio.samples
    width = mel_frames_for(len(y)) if num_frames is None else int(num_frames)
    if width < 1:
        raise AudioError(f"{audio.name}: too short ({audio.duration_s:.3f} s) to give a feature frame")
    power = mel_power(y)
    # power_to_db(ref=np.max, amin=1e-10, top_db=80), then abs(dB + 80) / 80, computed in place.
    ref = max(AMIN, float(power.max()))
    np.maximum(power, AMIN, out=power)
    np.log10(power, out=power)
    power *= 10.0
    power -= 10.0 * np.log10(ref)
    np.maximum(power, power.max() - TOP_DB, out=power)
    power += TOP_DB
    np.abs(power, out=power)
    power /= TOP_DB
    return np.ascontiguousarray(resize_time_linear(power[::-1], width).T, dtype=np.float32)
