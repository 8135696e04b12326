"""Onset chroma: where each pitch class starts a note (docs/scores.md), in the spirit of DLNCO (Ewert, Müller &
Grosche 2009: decaying locally-normalized chroma onset features, what synctoolbox aligns with).

Broadband onset strength tells only that something starts; in a dense texture every eighth note does, so a DTW
map half a beat off meets onsets as well as the right one. Which pitch classes start is far more specific.
The audio's: each mel band's rise in dB (bands within LOUD_DB of the frame's loudest; a quiet band's rise is
noise) folded into the 12 pitch classes by the chroma projection, less its running median (vibrato and
sustained strings rise a little everywhere). The score's: each note's harmonic profile at its onset. Both then
go the same way at the DTW's rate: scaled by the local maximum of the frames' norms (a soft passage counts as
much as a loud one), and smeared forward by a decaying kernel (DECAY_S: an onset a frame or two off still
meets). The DTW compares them by Euclidean distance (both zero: no cost).
"""

import numpy as np

from .features import FLUX_DELAY_FRAMES, chroma_projection, note_profiles

LOUD_DB = 40.0
CONTRAST_S = 0.3  # the running median's length
NORM_S = 2.0  # the local normalization's window
DECAY_S = 0.1  # the decay kernel's length


def audio_onset_chroma(spectrogram) -> np.ndarray:
    """(n, 12) onset strength per pitch class at MEL_RATE (before the running median: see dlnco)."""
    parts, previous = [], None
    projection = chroma_projection()
    for _, block in spectrogram.logmel_blocks():
        frames = block.T.astype(np.float32)
        joined = frames if previous is None else np.vstack([previous, frames])
        rise = np.maximum(np.diff(joined, axis=0), 0.0)
        loud = joined[1:] > joined[1:].max(axis=1, keepdims=True) - LOUD_DB
        chroma = (rise * loud) @ projection
        parts.append(chroma if previous is not None else np.vstack([np.zeros((1, 12)), chroma]))
        previous = frames[-1:]
    if not parts:
        return np.zeros((0, 12), np.float32)
    onsets = np.vstack(parts)
    delay = min(FLUX_DELAY_FRAMES, len(onsets))  # the same delay as the broadband flux
    return np.vstack([onsets[delay:], np.zeros((delay, 12), onsets.dtype)])


def score_onset_chroma(pitches, onsets_s, velocities, num_frames: int, rate: float) -> np.ndarray:
    """(num_frames, 12): each note's harmonic pitch-class profile at its onset frame."""
    out = np.zeros((num_frames, 12))
    frames = (np.asarray(onsets_s, float) * rate).astype(int)
    inside = (frames >= 0) & (frames < num_frames)
    weight = (np.asarray(velocities, float) / 127.0)[:, None] * note_profiles(pitches)
    np.add.at(out, frames[inside], weight[inside])
    return out


def dlnco(onsets: np.ndarray, rate: float) -> np.ndarray:
    """Onset chroma (n, 12) at `rate` frames a second made comparable: less its running median, scaled by the
    local maximum norm, smeared by the decay kernel."""
    from scipy.ndimage import maximum_filter1d, median_filter

    if len(onsets) == 0:
        return np.zeros((0, 12))
    length = max(1, int(round(CONTRAST_S * rate))) | 1
    x = np.maximum(onsets - median_filter(onsets, size=(length, 1), mode="nearest"), 0.0)
    norms = np.linalg.norm(x, axis=1)
    local = maximum_filter1d(norms, max(1, int(round(NORM_S * rate))), mode="nearest")
    x = x / np.maximum(local, 0.05 * max(norms.max(), 1e-9) + 1e-12)[:, None]
    taps = max(1, int(round(DECAY_S * rate)))
    kernel = np.sqrt(np.linspace(1.0, 0.0, taps + 1)[:-1])
    out = np.zeros_like(x)
    for lag, k in enumerate(kernel):  # causal: an onset rings on after it, never before
        out[lag:] += k * x[: len(x) - lag]
    return out


def onset_distance(score: np.ndarray, audio: np.ndarray) -> np.ndarray:
    """(n_score, n_audio) Euclidean distances between DLNCO frames."""
    squared = (score**2).sum(axis=1)[:, None] + (audio**2).sum(axis=1)[None, :] - 2.0 * score @ audio.T
    return np.sqrt(np.maximum(squared, 0.0))
