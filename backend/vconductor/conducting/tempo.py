"""Tempo: tempograms of the onset strength, smooth tempo paths through them, the tatum, and a beat tracker that
follows a time-varying tempo curve. Tempi are on the log-tempo grid tuning.TEMPO_GRID_BPM."""

from dataclasses import dataclass

import numpy as np

from ..audio import HOP, SAMPLE_RATE
from ..progress import cancellation_point
from . import tuning as tun
from .beat_tracker import beat_track
from .features import FEATURE_RATE
from .viterbi import viterbi_path

GRID = tun.TEMPO_GRID_BPM


@dataclass
class Tempogram:
    """Tempogram windows (rows) over the tempo grid (columns)."""

    autocorrelation: np.ndarray  # unbiased normalised autocorrelation at each tempo's lag
    fourier: np.ndarray  # DFT magnitude, normalised per window
    centres: np.ndarray  # feature frame at the centre of each window
    energy: np.ndarray  # the onset envelope's energy in each window


@dataclass
class TempoSalience:
    """How strongly each tempo pulses in each tempogram window (the product of the two tempograms)."""

    salience: np.ndarray  # (windows, tempi)
    valid: np.ndarray  # (windows,) bool: sounding windows with some onset energy
    centres: np.ndarray  # (windows,) feature frames
    num_frames: int  # feature frames of the piece


def tempogram(onset: np.ndarray) -> Tempogram:
    """Autocorrelation and Fourier tempograms of the onset envelope, windows of TEMPOGRAM_WINDOW_S.

    Computed TEMPOGRAM_BLOCK windows at a time: the spectra of all windows of a 3 h piece would take 2 GB."""
    import scipy.ndimage as ndi

    n = len(onset)
    size = int(round(tun.TEMPOGRAM_WINDOW_S * FEATURE_RATE))
    detrended = (onset - ndi.uniform_filter1d(onset, int(FEATURE_RATE), mode="nearest")).astype(np.float32)
    padded = np.pad(detrended, (size // 2, size))
    centres = np.arange(0, n, tun.TEMPOGRAM_HOP_FRAMES)
    window = np.hanning(size).astype(np.float32)
    all_frames = np.lib.stride_tricks.sliding_window_view(padded, size)
    parts = []
    for a in range(0, len(centres), TEMPOGRAM_BLOCK):
        cancellation_point()
        parts.append(_tempogram_block(all_frames[centres[a : a + TEMPOGRAM_BLOCK]] * window, window))
    by_lag, by_frequency, energy = (np.concatenate(part) for part in zip(*parts, strict=True))
    return Tempogram(by_lag, by_frequency, centres, energy)


TEMPOGRAM_BLOCK = 1024  # windows per FFT block (~35 MB of spectra)


def _tempogram_block(frames: np.ndarray, window: np.ndarray):
    """(autocorrelation, Fourier magnitude) on the tempo grid, and energy, for windowed onset frames."""
    import scipy.fft

    size = frames.shape[1]
    nfft = tun.TEMPOGRAM_FFT_SIZE
    spectrum = scipy.fft.rfft(frames, n=nfft, axis=1, workers=-1)
    power = spectrum.real**2 + spectrum.imag**2
    max_lag = int(np.ceil(60.0 * FEATURE_RATE / GRID[0])) + 2
    autocorr = scipy.fft.irfft(power, n=nfft, axis=1, workers=-1)[:, :max_lag]
    window_autocorr = np.correlate(window**2, window**2, mode="full")[size - 1 : size - 1 + max_lag]
    autocorr = autocorr / np.maximum(window_autocorr / window_autocorr[0], 1e-3)
    energy = autocorr[:, 0].copy()
    autocorr /= np.maximum(energy, 1e-12)[:, None]

    def sample(x, position):
        i0 = np.clip(np.floor(position).astype(int), 0, x.shape[1] - 2)
        frac = position - i0
        return x[:, i0] * (1 - frac) + x[:, i0 + 1] * frac

    by_lag = np.maximum(sample(autocorr, 60.0 * FEATURE_RATE / GRID), 0.0)
    by_frequency = sample(np.abs(spectrum), GRID / 60.0 / FEATURE_RATE * nfft)
    by_frequency /= np.maximum(by_frequency.max(axis=1, keepdims=True), 1e-12)
    return by_lag, by_frequency, energy


def _tempo_transition(states: int, step: float) -> np.ndarray:
    """Gaussian steps of about `step` bins between windows, and a small chance of a jump anywhere."""
    k = np.arange(states)
    trans = np.exp(-0.5 * ((k[:, None] - k[None, :]) / step) ** 2)
    trans /= trans.sum(axis=1, keepdims=True)
    jump = tun.TEMPO_JUMP_PROBABILITY
    return trans * (1 - jump) + jump / states


def _emissions(salience_rows, valid: np.ndarray, prior: np.ndarray, chunk: int):
    """Per-window probabilities of each tempo: the normalised salience times the prior (the prior alone where
    the window is not valid), `chunk` windows at a time."""
    for a in range(0, len(valid), chunk):
        salience = salience_rows(a, a + chunk)
        emit = (salience / np.maximum(salience.max(axis=1, keepdims=True), 1e-12) + 0.05) * prior
        emit[~valid[a : a + chunk]] = prior
        emit /= emit.sum(axis=1, keepdims=True)
        yield emit


def tempo_curve(
    pulses: TempoSalience,
    centre: float,
    levels=((1.0, 1.0),),
    span_oct: float = 0.55,
    prior_oct: float = 0.3,
) -> np.ndarray:
    """Per-frame tempo (BPM) near `centre`: a smooth Viterbi path on a fine log-tempo grid, with a log-normal
    prior at `centre`.

    The salience of a tempo sums the tempogram at `levels` (ratio, weight) of it, so a tatum's salience
    includes the slower levels it divides, which an alias a fifth away (3:2) does not have."""
    fine = centre * 2.0 ** (np.arange(-span_oct, span_oct + 1e-9, tun.FINE_TEMPO_STEP_OCT))
    fine = fine[(fine >= GRID[0]) & (fine <= GRID[-1])]
    if len(fine) < 3:
        return np.full(pulses.num_frames, centre)
    logs = np.log2(GRID)
    columns = []
    for ratio, weight in levels:
        position = np.log2(fine * ratio)
        inside = (position >= logs[0]) & (position <= logs[-1])
        k = np.clip(np.searchsorted(logs, position), 1, len(GRID) - 1)
        frac = np.clip((position - logs[k - 1]) / (logs[k] - logs[k - 1]), 0.0, 1.0)
        columns.append((weight * inside, k, frac))

    def salience_rows(a: int, b: int) -> np.ndarray:
        rows = pulses.salience[a:b]
        salience = np.zeros((len(rows), len(fine)))
        for scale, k, frac in columns:
            salience += scale * (rows[:, k - 1] * (1 - frac) + rows[:, k] * frac)
        return salience

    prior = np.exp(-0.5 * (np.log2(fine / centre) / prior_oct) ** 2)
    emissions = _emissions(salience_rows, pulses.valid, prior, chunk=TEMPO_PATH_CHUNK)
    path = viterbi_path(emissions, _tempo_transition(len(fine), tun.TEMPO_PATH_STEP_BINS))
    return np.interp(np.arange(pulses.num_frames), pulses.centres, fine[path])


TEMPO_PATH_CHUNK = (
    2048  # windows whose emissions are held at once (the whole piece's would be 200 MB an hour)
)


def track_beats(
    onset: np.ndarray, bpm_frames: np.ndarray, tightness: float = tun.TRACKER_TIGHTNESS
) -> np.ndarray:
    """librosa's dynamic-programming beat tracker (ported to numpy in beat_tracker.py) on a time-varying tempo,
    returning feature-frame indices."""
    onset_up, bpm_up, up, scaled_tightness = tracker_input(onset, bpm_frames, tightness)
    beats = beat_track(onset_up, bpm_up, SAMPLE_RATE * up / HOP, scaled_tightness)
    return np.unique(np.clip(np.round(beats / up).astype(int), 0, len(onset) - 1))


def tracker_input(onset: np.ndarray, bpm_frames: np.ndarray, tightness: float):
    """The beat tracker's input: the envelope and tempo upsampled so that whole frames per beat are precise
    enough, the factor, and `tightness` (given for librosa's usual ~21.5 frames per beat) scaled to the frames
    per beat here (docs/conducting.md)."""
    frames_per_beat = 60.0 * FEATURE_RATE / float(np.max(bpm_frames))
    up = int(min(8, max(1, np.ceil(tun.TRACKER_MIN_FRAMES_PER_BEAT / frames_per_beat))))
    n = len(onset)
    if up > 1:
        x = np.arange(n * up) / up
        onset_up = np.interp(x, np.arange(n), onset)
        bpm_up = np.interp(x, np.arange(n), bpm_frames)
    else:
        onset_up, bpm_up = onset, bpm_frames
    scale = float(np.median(60.0 * FEATURE_RATE * up / bpm_up)) / 21.5
    return onset_up, bpm_up, up, tightness * scale


def pick_tatum(mean_salience: np.ndarray) -> float:
    """The fastest salient pulse: the strongest tempogram peak, or a faster peak at TATUM_RATIOS times it."""
    import scipy.signal

    lo, hi = tun.TATUM_RANGE_BPM
    inside = (lo <= GRID) & (hi >= GRID)
    peaks = [p for p in scipy.signal.find_peaks(np.r_[0, mean_salience, 0])[0] - 1 if inside[p]]
    if not peaks:
        return float(GRID[inside][np.argmax(mean_salience[inside])])
    top = max(peaks, key=lambda p: mean_salience[p])
    tatum = GRID[top]
    for p in sorted(peaks, key=lambda p: -GRID[p]):
        ratio = GRID[p] / GRID[top]
        integer = round(ratio) in tun.TATUM_RATIOS and abs(ratio - round(ratio)) < 0.05 * ratio
        if ratio > 1.5 and mean_salience[p] >= tun.TATUM_MIN_STRENGTH * mean_salience[top] and integer:
            tatum = GRID[p]
            break
    return float(tatum)
