"""What score and audio are compared by: chroma (12 pitch classes) and onset strength, at one frame rate.

The audio's come from its log-mel spectrogram (the samples are gone by then, in the CLI as in the service):
each mel band's power goes to the pitch class of its centre frequency (bands above 4.5 kHz, and below 60 Hz,
left out). The score's come from its notes the same way: a note's first six harmonics, decaying over its
length, put into the mel bands and through the same projection, so both sides share the mel's coarse
resolution at low pitch. Onset strength: the audio's spectral flux (the mean rise of the dB bands) and the
score's note onsets (more notes, stronger).
"""

from functools import lru_cache

import numpy as np

from ..audio.samples import SAMPLE_RATE
from ..audio.spectrogram import HOP, N_MELS

MEL_RATE = SAMPLE_RATE / HOP  # the spectrogram's frames a second (86.1)
CHROMA_RANGE_HZ = (60.0, 4500.0)
HARMONICS = 6
ATTACK_RANGE_S = (0.03, 0.4)
QUIET_DB = 30.0  # a frame this far below the loudest is quiet
FLUX_DELAY_FRAMES = 2  # measured: the flux of a render peaks about 2 frames after its notes' onsets


@lru_cache(maxsize=1)
def mel_centres() -> np.ndarray:
    import librosa

    return librosa.mel_frequencies(N_MELS + 2, fmin=0.0, fmax=SAMPLE_RATE / 2)[1:-1]


@lru_cache(maxsize=1)
def chroma_projection() -> np.ndarray:
    """(128, 12): each mel band's share of each pitch class (by its centre's distance in semitones)."""
    centres = mel_centres()
    inside = (centres >= CHROMA_RANGE_HZ[0]) & (centres <= CHROMA_RANGE_HZ[1])
    midi = 69 + 12 * np.log2(np.maximum(centres, 1.0) / 440.0)
    distance = (midi[:, None] - np.arange(12)[None, :] + 6) % 12 - 6  # signed semitones to each class
    weight = np.clip(1 - np.abs(distance), 0, 1) * inside[:, None]
    return weight.astype(np.float32)


def normalized_chroma(power: np.ndarray) -> np.ndarray:
    """(n, 13) frames of unit length from (n, 12) chroma power: the log-compressed chroma less its mean (its
    shape: chords of one key differ more than raw chroma, which is mostly positive everywhere), scaled by how
    loud the frame is, and a 13th "quiet" bin for the rest: silence and a release 30 dB down meet silence."""
    compressed = np.log1p(100.0 * power / (power.max() + 1e-12))
    shape = _unit_rows(compressed - compressed.mean(axis=1, keepdims=True))
    energy = power.sum(axis=1) / (power.sum(axis=1).max() + 1e-12)
    loud = np.clip(1.0 + np.log10(energy + 1e-12) / QUIET_DB * 10.0, 0.0, 1.0)[:, None]
    return _unit_rows(np.hstack([shape * loud, 1.0 - loud]))


def unit_scaled(x: np.ndarray) -> np.ndarray:
    """`x` over its 99th percentile, clipped to 0..1 (zeros when it is all zero): a level-free strength."""
    scale = np.percentile(x, 99) if len(x) else 0.0
    return np.clip(x / scale, 0.0, 1.0) if scale > 0 else np.zeros_like(x)


def _unit_rows(x: np.ndarray) -> np.ndarray:
    norm = np.linalg.norm(x, axis=1, keepdims=True)
    return np.where(norm > 1e-9, x / np.maximum(norm, 1e-12), 0.0)


def audio_features(spectrogram) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(chroma power (n, 12), onset strength (n,), loudest band's dB (n,)) at MEL_RATE."""
    chroma_parts, flux_parts, level_parts, previous = [], [], [], None
    for _, block in spectrogram.logmel_blocks():
        frames = block.T.astype(np.float32)
        chroma_parts.append(np.power(10.0, frames / 10.0) @ chroma_projection())
        level_parts.append(frames.max(axis=1))
        joined = frames if previous is None else np.vstack([previous, frames])
        rise = np.maximum(np.diff(joined, axis=0), 0).mean(axis=1)
        flux_parts.append(rise if previous is not None else np.r_[0.0, rise])
        previous = frames[-1:]
    chroma = np.vstack(chroma_parts) if chroma_parts else np.zeros((0, 12), np.float32)
    flux = np.concatenate(flux_parts) if flux_parts else np.zeros(0)
    flux = np.r_[flux[FLUX_DELAY_FRAMES:], np.zeros(min(FLUX_DELAY_FRAMES, len(flux)))]
    return chroma, flux, np.concatenate(level_parts) if level_parts else np.zeros(0)


def attack_time(level_db: np.ndarray) -> float:
    """How long the audio's first sound takes to reach its level (ATTACK_RANGE_S): a piano's is a frame or
    two, an orchestral strings patch's a fifth of a second. The score's notes are given the same rise."""
    sounding = np.flatnonzero(level_db > level_db.max() - 50.0)
    if len(sounding) == 0:
        return ATTACK_RANGE_S[0]
    first = int(sounding[0])
    window = level_db[first : first + int(ATTACK_RANGE_S[1] * MEL_RATE)]
    reached = np.flatnonzero(window >= window.max() - 3.0)
    return float(np.clip(reached[0] / MEL_RATE, *ATTACK_RANGE_S))


def score_chroma(
    pitches, onsets_s, ends_s, velocities, num_frames: int, rate: float, attack_s: float = 0.12
) -> np.ndarray:
    """(num_frames, 12) chroma power of notes at `rate` frames a second (harmonics through the mel bands)."""
    out = np.zeros((num_frames, 12), np.float64)
    for profile, onset, end, velocity in zip(
        note_profiles(pitches), onsets_s, ends_s, velocities, strict=True
    ):
        first, last = int(onset * rate), max(int(onset * rate) + 1, int(np.ceil(end * rate)))
        if first >= num_frames:
            continue
        last = min(last, num_frames)
        age = np.arange(last - first) / rate
        decay = np.exp(-age / 1.5) * np.minimum(1.0, (age + 0.5 / rate) / attack_s)  # rises, then fades
        out[first:last] += (velocity / 127.0) ** 2 * decay[:, None] * profile[None, :]
    return out


def note_profiles(pitches) -> np.ndarray:
    """(n, 12): each MIDI pitch's chroma through the mel bands (its first HARMONICS harmonics, fading)."""
    centres = mel_centres()
    projection = chroma_projection()
    frequency = 440.0 * 2.0 ** ((np.asarray(pitches, float) - 69) / 12)
    harmonics = frequency[:, None] * np.arange(1, HARMONICS + 1)[None, :]
    bands = np.abs(centres[None, None, :] - harmonics[:, :, None]).argmin(axis=2)  # (n, HARMONICS)
    weights = 0.6 ** np.arange(HARMONICS)
    return np.einsum("h,nhc->nc", weights, projection[bands]).astype(np.float64)


def score_onsets(onsets_s, num_frames: int, rate: float) -> np.ndarray:
    """(num_frames,) onset strength of the score: the square root of the notes starting in each frame."""
    counts = np.bincount(
        np.clip((np.asarray(onsets_s) * rate).astype(int), 0, num_frames - 1), minlength=num_frames
    )
    return np.sqrt(counts[:num_frames].astype(float))


def pooled(x: np.ndarray, factor: float, num_frames: int) -> np.ndarray:
    """Frames of `x` averaged into `num_frames` frames of `factor` input frames each (the DTW's rate)."""
    edges = np.minimum((np.arange(num_frames + 1) * factor).astype(int), len(x))
    sums = np.cumsum(np.concatenate([np.zeros((1,) + x.shape[1:]), x]), axis=0)
    counts = np.maximum(np.diff(edges), 1).reshape((-1,) + (1,) * (x.ndim - 1))
    return (sums[edges[1:]] - sums[edges[:-1]]) / counts
