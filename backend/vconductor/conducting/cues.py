"""Which entries the left hand cues, and the raise-point-lower envelope of each cue."""

import numpy as np

from . import tuning as tun
from .beat_plan import Performance
from .music_analysis import MusicAnalysis


def cue_times(analysis: MusicAnalysis, performance: Performance, mirroring: np.ndarray) -> np.ndarray:
    """Entries worth a left-hand cue: phrase starts and strong onsets after a quiet second, spaced out."""
    beats, music, config, rng = performance.beats, performance.music, performance.config, performance.rng
    onset = music.onset
    peaks = np.flatnonzero((onset[1:-1] > 0.6) & (onset[1:-1] >= onset[:-2]) & (onset[1:-1] > onset[2:])) + 1
    window = int(music.fps)
    csum = np.concatenate([[0.0], np.cumsum(music.raw_loudness)])
    before = (csum[peaks] - csum[np.maximum(peaks - window, 0)]) / np.maximum(np.minimum(peaks, window), 1)
    entries = peaks[before < tun.CUE_QUIET_BEFORE] / music.fps
    candidates = np.concatenate([np.asarray(analysis.phrase_starts_s, float), entries])
    if len(beats.times) == 0 or len(candidates) == 0:
        return np.zeros(0)
    inside = (candidates > beats.times[0] + 1.0) & (candidates < beats.times[-1])
    candidates = np.sort(candidates[inside])
    chosen, last = [], -np.inf
    for time in candidates:
        free = mirroring[min(int(time * music.fps), len(mirroring) - 1)] < 0.3
        if time - last >= config.left_cue_spacing_s and free:
            last = time
            if rng.random() < tun.CUE_PROBABILITY:
                chosen.append(time + 0.05 * config.variation * rng.standard_normal())
    return np.array(chosen)


def cue_envelope(cues: np.ndarray, times: np.ndarray) -> np.ndarray:
    """0..1: raise the hand into each cue, point, lower it (raised-cosine ramps)."""
    envelope = np.zeros(len(times))
    if len(times) < 2:
        return envelope
    fps = 1.0 / (times[1] - times[0])
    for cue in cues:
        lo = max(int(np.floor((cue - tun.CUE_RISE_S) * fps)), 0)
        hi = min(int(np.ceil((cue + tun.CUE_POINT_S + tun.CUE_FALL_S) * fps)) + 1, len(times))
        t = times[lo:hi]
        rise = np.clip((t - (cue - tun.CUE_RISE_S)) / tun.CUE_RISE_S, 0, 1)
        fall = np.clip((t - (cue + tun.CUE_POINT_S)) / tun.CUE_FALL_S, 0, 1)
        raised = 0.5 - 0.5 * np.cos(np.pi * rise) - (0.5 - 0.5 * np.cos(np.pi * fall))
        envelope[lo:hi] = np.maximum(envelope[lo:hi], raised)
    return envelope
