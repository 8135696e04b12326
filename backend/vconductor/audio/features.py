"""The official mel-feature pipeline, without OpenCV (docs/official-model.md#audio-features).

``mel_features`` reproduces ``extract_mel_feature`` of the official code: a 128-band mel power spectrogram
(n_fft 2048, hop 256, Hann, centred with zero padding) of the decoded 22050 Hz mono signal, dB relative to the
loudest bin of the whole input, [0, 1] scaling, the frequency axis flipped (row 0 = highest band), and linear
resampling of time to 90 Hz with half-pixel centres (cv2.resize INTER_LINEAR).

The spectrogram runs block by block: memory stays proportional to the signal instead of its full STFT.
"""

from pathlib import Path

import numpy as np
import scipy.fft
import scipy.sparse

from ..skeleton import MEL_RATE
from .decode import load_audio
from .samples import SAMPLE_RATE, Audio, AudioError

N_FFT = 2048
HOP = 256
N_MELS = 128
TOP_DB = 80.0
AMIN = 1e-10
_STFT_BLOCK = 4096  # frames per FFT block (~32 MB of float32 frames)

# librosa.filters.mel(sr=22050, n_fft=2048, n_mels=128) as CSR arrays (data, indices, indptr) and the periodic
# Hann window: package data because importing librosa's filters costs about 1 s at every start.
# tests/test_audio.py checks that they still equal librosa's.
FILTERBANK_FILE = Path(__file__).parents[1] / "data" / "mel_filterbank.npz"
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
