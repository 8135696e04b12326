"""The log-mel spectrogram of a piece, computed while it decodes: memory bounded whatever its length.

One pass over the decoded blocks gives everything both conductors read from the audio: the 128-band mel power
(n_fft 2048, hop 256, Hann, centred with zero padding: librosa's melspectrogram) in dB, the RMS level per frame
(librosa's rms, frame 1024), the peak, and the length. The samples themselves are never all held: a 3 h piece
would be 950 MB of them. The dB frames go to a FrameStore (RAM, or a scratch file for long pieces).
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.fft
import scipy.sparse

from .decode import decode_into
from .frame_store import SPILL_AFTER_FRAMES, FrameStore
from .samples import SAMPLE_RATE, Audio, AudioError

N_FFT = 2048
HOP = 256
N_MELS = 128
TOP_DB = 80.0
AMIN = 1e-10
RMS_FRAME = 1024
STFT_BLOCK = 1024  # frames per FFT block (8 MB of float32 frames, 8 MB of spectra)
_HALF = N_FFT // 2

# librosa.filters.mel(sr=22050, n_fft=2048, n_mels=128) as CSR arrays (data, indices, indptr) and the periodic
# Hann window: package data because importing librosa's filters costs about 1 s at every start.
# tests/test_audio.py checks that they still equal librosa's.
FILTERBANK_FILE = Path(__file__).parents[1] / "data" / "mel_filterbank.npz"
_FILTERBANK: tuple[np.ndarray, np.ndarray] | None = None


class CropOutside(AudioError):
    """A crop that starts at or after the end of the audio."""

    def __init__(self, name: str, start_s: float, duration_s: float):
        self.start_s, self.duration_s = start_s, duration_s
        super().__init__(
            f"{name}: start {start_s:g} s is not before the end of the audio ({duration_s:.2f} s)"
        )


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


def frames_mel_power(frames: np.ndarray) -> np.ndarray:
    """(128, m) mel power of m frames of N_FFT samples (rows of `frames`)."""
    basis, window = filterbank()
    power = np.abs(scipy.fft.rfft(frames * window, axis=1, workers=-1))
    power *= power  # |X|**2 as librosa computes it
    return basis @ power.T


def mel_power(y: np.ndarray) -> np.ndarray:
    """(128, 1 + len(y)//256) mel power spectrogram of a whole signal, as librosa.feature.melspectrogram."""
    n_frames = 1 + len(y) // HOP
    out = np.empty((N_MELS, n_frames), np.float32)
    padded = np.pad(y, _HALF)  # zero padding at the ends (librosa >= 0.10 default pad_mode)
    for a in range(0, n_frames, STFT_BLOCK):
        b = min(n_frames, a + STFT_BLOCK)
        seg = padded[a * HOP : (b - 1) * HOP + N_FFT]
        out[:, a:b] = frames_mel_power(np.lib.stride_tricks.sliding_window_view(seg, N_FFT)[::HOP])
    return out


@dataclass
class Spectrogram:
    """A decoded piece as its log-mel frames and levels (the samples are gone)."""

    name: str
    source_rate: int
    channels: int
    num_samples: int  # at 22050 Hz, after any crop
    peak: float  # largest |sample|
    frames: FrameStore  # (n, 128) mel power in dB, 10 log10(max(power, 1e-10)), not yet floored
    rms: np.ndarray  # (n,) float32 RMS per frame

    sample_rate = SAMPLE_RATE

    @property
    def duration_s(self) -> float:
        return self.num_samples / SAMPLE_RATE

    @property
    def num_frames(self) -> int:
        return self.frames.num_rows

    @property
    def max_db(self) -> float:
        return max(self.frames.max_value, 10.0 * np.log10(AMIN))

    def logmel_rows(self, start: int, stop: int) -> np.ndarray:
        """Frames start..stop-1 as (m, 128) dB floored 80 dB below the loudest bin (librosa's power_to_db with
        ref 1.0, top_db 80)."""
        return np.maximum(self.frames.rows(start, stop), np.float32(self.max_db - TOP_DB))

    def logmel_blocks(self, size: int = 8192):
        """(start, (128, m) floored dB) for consecutive blocks of frames: the whole spectrogram in pieces."""
        for start in range(0, self.num_frames, size):
            yield start, self.logmel_rows(start, start + size).T

    def close(self) -> None:
        self.frames.close()


def audio_spectrogram(
    source,
    max_duration_s: float | None = None,
    name: str | None = None,
    crop: tuple[float | None, float | None] | None = None,
    spill_dir: Path | None = None,
    spill_after: int | None = SPILL_AFTER_FRAMES,
    check=None,
) -> Spectrogram:
    """Decode `source` (a path, ``(samples, rate)`` or an Audio) straight into its Spectrogram.

    `crop` (start_s, end_s) keeps that part (the length limit applies to the whole source); a long piece's
    frames go to disk in `spill_dir` (default: the process's scratch folder; see FrameStore); `check()`, called before every block, may raise to stop.
    """
    store = FrameStore(spill_dir, spill_after)
    try:
        if isinstance(source, Audio):
            builder = SpectrogramBuilder(store, crop, check)
            for start in range(0, len(source.samples), 1 << 18):
                builder.add(source.samples[start : start + (1 << 18)])
            return builder.finish(source.name, source.source_rate, source.channels)
        return decode_into(source, SpectrogramBuilder(store, crop, check), max_duration_s, name)
    except BaseException:
        store.close()
        raise


class SpectrogramBuilder:
    """A decoder's sink: centred STFT frames computed as the samples arrive, only a frame's worth kept."""

    def __init__(self, store: FrameStore, crop=None, check=None):
        start_s, end_s = crop if crop is not None else (None, None)
        self.first = round((start_s or 0.0) * SAMPLE_RATE)
        self.end = None if end_s is None else round(end_s * SAMPLE_RATE)
        self.store, self.check = store, check
        self.seen = self.kept = 0
        self.peak = 0.0
        self.buffer = np.zeros(_HALF, np.float32)  # the zero padding before frame 0's centre
        self.buffer_start = -_HALF  # sample index of buffer[0]
        self.next_frame = 0
        self.rms: list[np.ndarray] = []

    def add(self, mono: np.ndarray) -> None:
        if self.check is not None:
            self.check()
        lo = min(max(self.first - self.seen, 0), len(mono))
        hi = len(mono) if self.end is None else min(max(self.end - self.seen, lo), len(mono))
        self.seen += len(mono)
        if hi <= lo:
            return
        kept = mono[lo:hi]
        self.kept += len(kept)
        self.peak = max(self.peak, float(np.abs(kept).max()))
        self.buffer = np.concatenate([self.buffer, kept.astype(np.float32, copy=False)])
        buffer_end = self.buffer_start + len(self.buffer)
        self._frames_until((buffer_end - _HALF) // HOP + 1)  # frames whose window has fully arrived

    def finish(self, name: str, source_rate: int, channels: int) -> Spectrogram:
        if self.first > 0 and self.kept == 0:
            raise CropOutside(name, self.first / SAMPLE_RATE, self.seen / SAMPLE_RATE)
        if self.kept == 0:
            raise AudioError(f"{name}: contains no audio samples")
        self.buffer = np.concatenate([self.buffer, np.zeros(_HALF, np.float32)])  # padding after the end
        self._frames_until(1 + self.kept // HOP)
        self.store.seal()
        rms = np.concatenate(self.rms)
        return Spectrogram(name, source_rate, channels, self.kept, self.peak, self.store, rms)

    def _frames_until(self, stop: int) -> None:
        for a in range(self.next_frame, stop, STFT_BLOCK):
            b = min(stop, a + STFT_BLOCK)
            offset = a * HOP - _HALF - self.buffer_start
            segment = self.buffer[offset : offset + (b - a - 1) * HOP + N_FFT]
            frames = np.lib.stride_tricks.sliding_window_view(segment, N_FFT)[::HOP]
            power = frames_mel_power(frames)
            np.maximum(power, AMIN, out=power)
            self.store.append((10.0 * np.log10(power)).T)
            middle = frames[:, _HALF - RMS_FRAME // 2 : _HALF + RMS_FRAME // 2]
            self.rms.append(np.sqrt(np.mean(np.square(middle), axis=1)).astype(np.float32))
        self.next_frame = max(self.next_frame, stop)
        drop = self.next_frame * HOP - _HALF - self.buffer_start
        if drop > 0:
            self.buffer = self.buffer[drop:]
            self.buffer_start += drop
