"""The official mel-feature pipeline, without OpenCV (docs/official-model.md#audio-features).

``mel_features`` reproduces ``extract_mel_feature`` of the official code: a 128-band mel power spectrogram
(n_fft 2048, hop 256, Hann, centred with zero padding) of the decoded 22050 Hz mono signal, dB relative to the
loudest bin of the whole input, [0, 1] scaling, the frequency axis flipped (row 0 = highest band), and linear
resampling of time to 90 Hz with half-pixel centres (cv2.resize INTER_LINEAR).

The features are computed from a Spectrogram (spectrogram.py) window by window (MelFeatures): memory stays
bounded by a window, not by the piece's length.
"""

import numpy as np

from ..contract import MEL_RATE
from .samples import SAMPLE_RATE, AudioError
from .spectrogram import TOP_DB, Spectrogram, audio_spectrogram


def resize_time_linear(x: np.ndarray, width: int) -> np.ndarray:
    """Resample the last axis to `width` samples by linear interpolation with half-pixel centres (cv2 style)."""
    i0, i1, frac = linear_sources(np.arange(width), x.shape[-1], width)
    return x[..., i0] * (1 - frac) + x[..., i1] * frac


def linear_sources(index: np.ndarray, w_in: int, width: int):
    """For output samples `index` of a resize from `w_in` to `width`: the two input samples and the weight of
    the second (half-pixel centres, clamped at the ends)."""
    src = np.clip((index.astype(np.float64) + 0.5) * (w_in / width) - 0.5, 0, w_in - 1)
    i0 = np.floor(src).astype(np.int64)
    return i0, np.minimum(i0 + 1, w_in - 1), (src - i0).astype(np.float32)


def mel_frames_for(num_samples: int) -> int:
    """The official 90 Hz feature length: int(duration * 90), computed as the official code does."""
    return int(num_samples / SAMPLE_RATE * MEL_RATE)


class MelFeatures:
    """The official features of a piece, (len, 128) at 90 Hz, computed window by window from its spectrogram
    (the whole array for a 3 h piece would be 500 MB). Frames past the end repeat the last one, as the
    generator's input padding does."""

    def __init__(self, spectrogram: Spectrogram, width: int):
        self.spectrogram, self.width = spectrogram, width

    def __len__(self) -> int:
        return self.width

    def window(self, start: int, stop: int) -> np.ndarray:
        """Frames start..stop-1, float32 (stop - start, 128)."""
        spec = self.spectrogram
        index = np.minimum(np.arange(start, stop), self.width - 1)
        i0, i1, frac = linear_sources(index, spec.num_frames, self.width)
        frac = frac[:, None]
        lo = int(i0.min()) if len(i0) else 0
        rows = spec.logmel_rows(lo, int(i1.max()) + 1 if len(i1) else lo)
        # power_to_db(ref=np.max, top_db=80), then abs(dB + 80) / 80, and row 0 the highest band
        rows = np.abs((rows - np.float32(spec.max_db - TOP_DB)) / np.float32(TOP_DB))[:, ::-1]
        return np.ascontiguousarray(rows[i0 - lo] * (1 - frac) + rows[i1 - lo] * frac, dtype=np.float32)

    def array(self) -> np.ndarray:
        return self.window(0, self.width)


def official_features(spectrogram: Spectrogram, num_frames: int | None = None) -> MelFeatures:
    """The official features of a spectrogram, lazily; `num_frames` forces the length (``mel_len_90fps``)."""
    width = mel_frames_for(spectrogram.num_samples) if num_frames is None else int(num_frames)
    if width < 1:
        raise AudioError(
            f"{spectrogram.name}: too short ({spectrogram.duration_s:.3f} s) to give a feature frame"
        )
    return MelFeatures(spectrogram, width)


def mel_features(source, num_frames: int | None = None) -> np.ndarray:
    """Official M2S-GAN input features: float32 (T, 128) at 90 Hz, T = int(duration * 90) by default.

    `source` is a path, ``(samples, sample_rate)``, an :class:`Audio` or a :class:`Spectrogram`. `num_frames`
    forces the output length (the official ``mel_len_90fps``).
    """
    spectrogram = source if isinstance(source, Spectrogram) else audio_spectrogram(source)
    try:
        return official_features(spectrogram, num_frames).array()
    finally:
        if spectrogram is not source:
            spectrogram.close()
