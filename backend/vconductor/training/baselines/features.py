"""Music features for the baselines, computed from the dataset's mel (T, 128) at 90 Hz.

The dataset mel is the official one (docs/official-model.md#audio-features): (dB + 80) / 80 with band 0 the
*highest*. So
dB = 80 * mel - 80 after flipping the band axis back.
- MFCC: the orthonormal DCT-II of the dB mel over bands (librosa's ``mfcc`` on a dB mel), first 20 coefficients.
- loudness: the mean dB over bands, scaled to about [0, 1].
- pitch proxy: the spectral centroid over mel bands of the power (10^(dB/10)), as a fraction of the band count
  (true pitch needs the audio; the mel keeps only a coarse spectral position).
- beat: onset strength (positive spectral flux of the dB mel), its peaks at least 0.25 s apart as beats, and
  the KHMM sawtooth: 0 at each beat rising linearly to 1 at the next.
Every feature is averaged over the 3 mel frames of each motion frame, giving 30 Hz like the motion.
"""

import numpy as np
from scipy.fft import dct
from scipy.ndimage import uniform_filter1d
from scipy.signal import find_peaks

from ...skeleton import MEL_FRAMES_PER_MOTION_FRAME, MEL_RATE

N_MFCC = 20


def mel_db(mel: np.ndarray) -> np.ndarray:
    return 80.0 * np.asarray(mel, dtype=np.float64)[:, ::-1] - 80.0


def to_motion_rate(x: np.ndarray) -> np.ndarray:
    """(3F, C) at 90 Hz -> (F, C) at 30 Hz by averaging each motion frame's mel frames."""
    r = MEL_FRAMES_PER_MOTION_FRAME
    f = x.shape[0] // r
    return x[: f * r].reshape(f, r, -1).mean(axis=1)


def mfcc(mel: np.ndarray) -> np.ndarray:
    """(3F, 128) mel -> (F, 20) MFCCs, scaled by 1/100 to unit-ish range."""
    return to_motion_rate(dct(mel_db(mel), type=2, norm="ortho", axis=1)[:, :N_MFCC] / 100.0).astype(
        np.float32
    )


def beat_sawtooth(onset: np.ndarray, rate: float = MEL_RATE, min_gap_s: float = 0.25) -> np.ndarray:
    """0 at each detected beat, rising linearly to 1 at the next (held at 0 before the first, 1 after the last)."""
    height = onset.mean() + onset.std()
    peaks, _ = find_peaks(onset, height=height, distance=max(1, int(min_gap_s * rate)))
    saw = np.zeros_like(onset)
    if len(peaks) == 0:
        return saw
    for a, b in zip(peaks[:-1], peaks[1:], strict=True):
        saw[a:b] = np.arange(b - a) / (b - a)
    saw[peaks[-1] :] = 1.0
    return saw


def khmm_features(mel: np.ndarray) -> np.ndarray:
    """(3F, 128) mel -> (F, 3): pitch proxy, loudness, beat sawtooth."""
    db = mel_db(mel)
    power = 10.0 ** (db / 10.0)
    bands = np.arange(db.shape[1])
    pitch = (power * bands).sum(1) / np.maximum(power.sum(1), 1e-12) / db.shape[1]
    loudness = db.mean(axis=1) / 80.0 + 1.0
    flux = np.maximum(np.diff(db, axis=0, prepend=db[:1]), 0).mean(axis=1)
    onset = uniform_filter1d(flux, 3)
    feats = np.stack([pitch, loudness, beat_sawtooth(onset)], axis=1)
    return to_motion_rate(feats).astype(np.float32)
