"""The beat tracker's input: our 128-band log-mel frames (audio.Spectrogram) scaled to [0, 1].

A frame's dB values are floored 80 dB below the piece's loudest bin (Spectrogram.logmel_rows) and mapped to
(dB - floor) / 80, so the input does not depend on the recording's level. Frame k is centred at k * HOP samples:
FRAME_RATE frames per second (~86 Hz), the rate of the activations too.
"""

from pathlib import Path

import numpy as np

from ..audio import HOP, N_MELS, SAMPLE_RATE, TOP_DB, Spectrogram, audio_spectrogram

FRAME_RATE = SAMPLE_RATE / HOP
N_BANDS = N_MELS
# Changes whenever the scaling above changes: stored in weights files and feature caches.
FEATURES_VERSION = "logmel128-top80-v1"


def scaled_rows(spectrogram: Spectrogram, start: int, stop: int) -> np.ndarray:
    """Frames start..stop-1 as (m, 128) float32 in [0, 1]."""
    floor = np.float32(spectrogram.max_db - TOP_DB)
    return (spectrogram.logmel_rows(start, stop) - floor) * np.float32(1.0 / TOP_DB)


def file_frames(path: str | Path) -> np.ndarray:
    """All input frames of an audio file, (n, 128) float32 (for files short enough to hold: training data)."""
    spectrogram = audio_spectrogram(path)
    try:
        return scaled_rows(spectrogram, 0, spectrogram.num_frames)
    finally:
        spectrogram.close()


def frame_times(n_frames: int) -> np.ndarray:
    """Centre time (s) of each frame."""
    return np.arange(n_frames) / FRAME_RATE
