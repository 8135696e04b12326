"""Spectral features of the audio at the feature rate, and the contours the conductor follows at its frame rate:
loudness, onset strength, articulation and silence."""

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..audio import HOP, SAMPLE_RATE, mel_power
from . import tuning as tun

FEATURE_RATE = SAMPLE_RATE / HOP  # feature frames per second (the mel features' hop: 11.6 ms)


@dataclass
class SpectralFeatures:
    logmel: np.ndarray  # (128, n) float32 dB, floored 80 dB below the loudest bin
    onset: np.ndarray  # (n,) onset strength (spectral flux of the log-mel spectrogram)
    bass_onset: np.ndarray  # (n,) onset strength below ~300 Hz
    level_db: np.ndarray  # (n,) RMS in dBFS
    loud_level_db: float  # the piece's loud level (tuning.LOUD_LEVEL_PERCENTILE of its sounding frames)
    active: np.ndarray  # (n,) bool, frames above the silence floors (absolute and relative)
    silent: np.ndarray  # (n,) bool, below the floors or in a release (the sound dying away after it stops)

    @property
    def num_frames(self) -> int:
        return len(self.onset)

    @cached_property
    def cumulative(self) -> np.ndarray:
        """(128, n + 1) running sums of `logmel` over time (for span means)."""
        out = np.zeros((self.logmel.shape[0], self.num_frames + 1))
        np.cumsum(self.logmel, axis=1, dtype=np.float64, out=out[:, 1:])
        return out


def spectral_features(samples: np.ndarray) -> SpectralFeatures:
    import librosa
    import scipy.ndimage as ndi

    mel = mel_power(samples) if len(samples) else np.zeros((128, 1), np.float32)
    logmel = librosa.power_to_db(mel, ref=1.0, amin=1e-10, top_db=80.0).astype(np.float32)
    onset = librosa.onset.onset_strength(S=logmel, sr=SAMPLE_RATE, hop_length=HOP).astype(np.float64)
    bass_onset = librosa.onset.onset_strength(S=logmel[:12], sr=SAMPLE_RATE, hop_length=HOP).astype(
        np.float64
    )
    level_db = _rms_db(samples, logmel.shape[1])
    smooth = smooth_db(level_db, tun.LEVEL_SMOOTHING_S)
    sounding = smooth > tun.SILENCE_DBFS
    loud_db = (
        float(np.percentile(smooth[sounding], tun.LOUD_LEVEL_PERCENTILE))
        if sounding.any()
        else tun.SILENCE_DBFS
    )
    quiet = (smooth < tun.SILENCE_DBFS) | (smooth < loud_db - tun.SILENCE_BELOW_LOUD_DB)
    quiet = drop_short(quiet, tun.MIN_QUIET_S)
    active = ~quiet
    flicker = np.ones(tun.ONSET_FLICKER_FRAMES, bool)
    onset[ndi.binary_erosion(quiet, structure=flicker, border_value=1)] = 0.0
    bass_onset[ndi.binary_erosion(quiet, structure=flicker, border_value=1)] = 0.0
    silent = quiet | _in_release(level_db, onset, active)
    silent = drop_short(silent, tun.MIN_REST_S) | quiet
    return SpectralFeatures(logmel, onset, bass_onset, level_db, loud_db, active, silent)


def _rms_db(samples: np.ndarray, num_frames: int) -> np.ndarray:
    """RMS level in dBFS per feature frame."""
    import librosa

    if len(samples) >= 1024:
        rms = librosa.feature.rms(y=samples, frame_length=1024, hop_length=HOP)[0]
    else:
        rms = np.full(
            num_frames, np.sqrt(np.mean(np.square(samples, dtype=np.float64))) if len(samples) else 0.0
        )
    rms = np.resize(rms, num_frames) if len(rms) != num_frames else rms
    return 20.0 * np.log10(np.maximum(rms.astype(np.float64), 1e-6))


def _in_release(level_db: np.ndarray, onset: np.ndarray, active: np.ndarray) -> np.ndarray:
    """Releases: the level has fallen far below its peak of the last second and no note has started since."""
    fast = smooth_db(level_db, tun.RELEASE_SMOOTHING_S)
    fallen = running_max(fast, tun.RELEASE_WINDOW_S) - fast > tun.RELEASE_DROP_DB
    scale = np.percentile(onset[active], tun.ONSET_SCALE_PERCENTILE) if active.any() else 0.0
    lag = tun.NOTE_RISE_FRAMES
    rising = (
        fast - np.r_[np.full(lag, fast[0]), fast[:-lag]] > tun.NOTE_RISE_DB
    )  # a new note raises the level
    note = (onset > tun.NOTE_ONSET_FRACTION * scale) & rising if scale > 0 else np.zeros(len(onset), bool)
    recent_note = running_max(note.astype(float), tun.RECENT_NOTE_S) > 0
    return fallen & ~recent_note


def drop_short(mask: np.ndarray, seconds: float) -> np.ndarray:
    """`mask` without its runs shorter than `seconds` (a morphological opening, edges extended)."""
    import scipy.ndimage as ndi

    width = max(1, int(round(seconds * FEATURE_RATE)))
    padded = np.pad(mask, width, mode="edge")
    return ndi.binary_opening(padded, structure=np.ones(width, bool))[width:-width]


def running_max(x: np.ndarray, seconds: float) -> np.ndarray:
    """Maximum of `x` over the last `seconds` (the window ends at each frame)."""
    import scipy.ndimage as ndi

    size = max(1, int(round(seconds * FEATURE_RATE)))
    return ndi.maximum_filter1d(x, size, origin=(size - 1) // 2, mode="nearest")


def smooth_db(level_db: np.ndarray, seconds: float) -> np.ndarray:
    """Average power over `seconds` (a moving mean of the power, back in dB)."""
    import scipy.ndimage as ndi

    size = max(1, int(round(seconds * FEATURE_RATE)))
    power = ndi.uniform_filter1d(10.0 ** (level_db / 10.0), size, mode="nearest")
    return 10.0 * np.log10(np.maximum(power, 1e-12))


def motion_contours(features: SpectralFeatures, num_frames: int, frame_rate: float) -> dict:
    """Loudness, onset strength and articulation (float32, 0 .. 1) and silence (bool) at `frame_rate`."""
    import scipy.ndimage as ndi

    t_out = np.arange(num_frames) / frame_rate
    t_in = np.arange(features.num_frames) / FEATURE_RATE

    def resample(x):
        return np.interp(t_out, t_in, x)

    loud_db = smooth_db(features.level_db, tun.LEVEL_SMOOTHING_S)
    floor_db = features.loud_level_db - tun.LOUDNESS_RANGE_DB
    loudness = np.clip((loud_db - floor_db) / tun.LOUDNESS_RANGE_DB, 0.0, 1.0)
    loudness[~features.active] = np.minimum(loudness[~features.active], tun.QUIET_LOUDNESS_MAX)

    # Onset strength: normalised by a high percentile of the sounding frames, max-pooled per output frame.
    onset = features.onset
    active = features.active
    scale = np.percentile(onset[active], tun.ONSET_SCALE_PERCENTILE) if active.any() else 0.0
    onset = np.clip(onset / scale, 0.0, 1.0) if scale > 0 else np.zeros_like(onset)
    width = max(1, int(round(FEATURE_RATE / frame_rate)))
    onset = ndi.maximum_filter1d(onset, width, mode="nearest")

    silent = resample(features.silent.astype(float)) > 0.5
    return {
        "loudness": resample(loudness).astype(np.float32),
        "onset": resample(onset).astype(np.float32),
        "articulation": resample(articulation(features)).astype(np.float32),
        "silent": silent,
    }


def articulation(features: SpectralFeatures) -> np.ndarray:
    """0 legato .. 1 staccato: how far the level falls below its recent peak between note onsets."""
    import scipy.ndimage as ndi

    level_db = np.maximum(features.level_db, features.loud_level_db - tun.LOUDNESS_RANGE_DB)
    drop = running_max(level_db, tun.ARTICULATION_PEAK_S) - level_db
    weight = (~features.silent).astype(float)
    size = int(tun.ARTICULATION_WINDOW_S * FEATURE_RATE)
    weighted = ndi.uniform_filter1d(drop * weight, size, mode="nearest")
    total = ndi.uniform_filter1d(weight, size, mode="nearest")
    mean_drop = np.where(total > 0.05, weighted / np.maximum(total, 1e-9), np.nan)
    if np.isnan(mean_drop).all():
        return np.full(features.num_frames, 0.5)
    index = np.arange(features.num_frames)
    known = ~np.isnan(mean_drop)
    mean_drop = np.interp(index, index[known], mean_drop[known])
    span = tun.STACCATO_DROP_DB - tun.LEGATO_DROP_DB
    staccato = np.clip((mean_drop - tun.LEGATO_DROP_DB) / span, 0.0, 1.0)
    return ndi.uniform_filter1d(staccato, size, mode="nearest")
