"""Spectral features of the audio at the feature rate, and the contours the conductor follows at its frame rate:
loudness, onset strength, articulation and silence."""

from dataclasses import dataclass

import numpy as np
import scipy.fft

from ..audio import HOP, SAMPLE_RATE, Spectrogram
from ..audio.frame_store import FrameStore
from . import tuning as tun

FEATURE_RATE = SAMPLE_RATE / HOP  # feature frames per second (the mel features' hop: 11.6 ms)
N_MFCC = 13
BASS_BANDS = 12  # below ~300 Hz
_ONSET_DELAY = (
    4  # librosa's onset_strength(center=True) reports the flux of frame t at t + 4 (n_fft // 2 hop)
)


@dataclass
class SpectralFeatures:
    """What the analysis reads from the spectrogram, all per feature frame (one pass over it, then closed)."""

    onset: np.ndarray  # (n,) onset strength (spectral flux of the log-mel spectrogram, librosa's)
    bass_onset: np.ndarray  # (n,) onset strength below ~300 Hz
    mfcc: np.ndarray  # (13, n) float32 MFCC of the log-mel spectrogram (timbre, for phrases)
    flatness_db: np.ndarray  # (n,) spectral flatness in dB (near 0 for white noise)
    level_db: np.ndarray  # (n,) RMS in dBFS
    loud_level_db: float  # the piece's loud level (tuning.LOUD_LEVEL_PERCENTILE of its sounding frames)
    active: np.ndarray  # (n,) bool, frames above the silence floors (absolute and relative)
    silent: np.ndarray  # (n,) bool, below the floors or in a release (the sound dying away after it stops)
    cumulative: FrameStore  # (n + 1, 128) float64 running sums of the log-mel spectrogram over time

    @property
    def num_frames(self) -> int:
        return len(self.onset)

    def band_sums(self, index: np.ndarray) -> np.ndarray:
        """(128, len(index)) sums of the log-mel frames before each frame index (for span means)."""
        return self.cumulative.rows_at(index).T

    def close(self) -> None:
        self.cumulative.close()


def spectral_features(spectrogram: Spectrogram, check=None) -> SpectralFeatures:
    """The features of a spectrogram, read block by block (`check()` runs between blocks and may raise)."""
    import scipy.ndimage as ndi

    streams = _read_spectrogram(spectrogram, check)
    onset, bass_onset, mfcc, flatness_db, cumulative = streams
    level_db = 20.0 * np.log10(np.maximum(spectrogram.rms.astype(np.float64), 1e-6))
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
    return SpectralFeatures(
        onset, bass_onset, mfcc, flatness_db, level_db, loud_db, active, silent, cumulative
    )


def _read_spectrogram(spectrogram: Spectrogram, check):
    """One pass over the log-mel blocks: onset strengths, MFCC, flatness and running band sums."""
    n = spectrogram.num_frames
    flux, bass_flux = np.zeros(n, np.float32), np.zeros(n, np.float32)  # flux[t]: from frame t - 1 to t
    mfcc, flatness = np.empty((N_MFCC, n), np.float32), np.empty(n, np.float32)
    cumulative = FrameStore(dtype="<f8")
    total = np.zeros((128, 1))
    cumulative.append(total.T)
    previous = None
    try:
        for start, block in spectrogram.logmel_blocks():
            if check is not None:
                check()
            stop = start + block.shape[1]
            joined = block if previous is None else np.concatenate([previous, block], axis=1)
            rise = np.maximum(0.0, joined[:, 1:] - joined[:, :-1])  # librosa: lag 1, max_size 1
            first = stop - rise.shape[1]
            flux[first:stop] = np.mean(rise, axis=0)
            bass_flux[first:stop] = np.mean(rise[:BASS_BANDS], axis=0)
            mfcc[:, start:stop] = scipy.fft.dct(block, axis=0, type=2, norm="ortho")[:N_MFCC]
            mel = block.astype(np.float64)
            flatness[start:stop] = mel.mean(axis=0) - 10.0 * np.log10(np.mean(10.0 ** (mel / 10.0), axis=0))
            sums = np.cumsum(np.concatenate([total, mel], axis=1), axis=1)  # sequential, as one cumsum
            cumulative.append(sums[:, 1:].T)
            total = sums[:, -1:]
            previous = block[:, -1:]
        cumulative.seal()
    except BaseException:
        cumulative.close()
        raise
    return _delayed(flux), _delayed(bass_flux), mfcc, flatness, cumulative


def _delayed(flux: np.ndarray) -> np.ndarray:
    """Flux placed where librosa's centred onset_strength reports it (zeros before), as float64."""
    onset = np.zeros(len(flux))
    onset[1 + _ONSET_DELAY :] = flux[1 : len(flux) - _ONSET_DELAY]
    return onset


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
