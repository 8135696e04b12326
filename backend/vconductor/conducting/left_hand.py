"""The left hand: it mirrors the right in loud passages and at entries and releases; otherwise it rests in
front of the waist, lifts with crescendos and cues entries."""

import numpy as np
from scipy.ndimage import gaussian_filter1d

from . import tuning as tun
from .beat_plan import Performance
from .motion_inputs import MusicContours, smooth_noise
from .music_analysis import MusicAnalysis
from .tuning import LEFT_CUE, LEFT_IDLE, SHOULDER_CENTRE


def mirror_weight(performance: Performance) -> np.ndarray:
    """How much the left hand mirrors the right: in loud passages, and for every entry, fermata and release."""
    beats, music, config, times = performance.beats, performance.music, performance.config, performance.times
    band = tun.MIRROR_BAND
    loud = np.clip((music.loudness - config.left_mirror_loudness + band) / (2 * band), 0, 1)
    loud = loud * loud * (3 - 2 * loud)
    both = np.zeros(len(times), bool)
    if len(beats.times):
        both |= times < beats.times[0] + 0.5
        for last in np.flatnonzero(beats.gap_after[:-1]):
            both |= (times > beats.times[last]) & (times < beats.times[last + 1] + 0.5)
        both |= times > beats.times[-1]
    weight = np.maximum(loud, both)
    return np.clip(gaussian_filter1d(weight, config.left_blend_s / 3 * music.fps, mode="nearest"), 0, 1)


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
    for cue in cues:
        rise = np.clip((times - (cue - tun.CUE_RISE_S)) / tun.CUE_RISE_S, 0, 1)
        fall = np.clip((times - (cue + tun.CUE_POINT_S)) / tun.CUE_FALL_S, 0, 1)
        raised = 0.5 - 0.5 * np.cos(np.pi * rise) - (0.5 - 0.5 * np.cos(np.pi * fall))
        envelope = np.maximum(envelope, raised)
    return envelope


def left_hand(
    right: np.ndarray, mirroring: np.ndarray, cue: np.ndarray, performance: Performance
) -> np.ndarray:
    """The left wrist: the right one mirrored about the body's midline, weighted by `mirroring`; otherwise
    resting in front of the waist, lifted by crescendos and raised to cue entries."""
    music, config, rng, times = performance.music, performance.config, performance.rng, performance.times
    mirror = np.column_stack([2 * SHOULDER_CENTRE[0] - right[:, 0], right[:, 1]])
    lift = crescendo(music)
    drift = smooth_noise(rng, len(times), 1.2 * music.fps, 0.004 * config.variation)
    free = LEFT_IDLE + drift + lift[:, None] * np.array([-0.02, -config.left_lift])
    target = LEFT_CUE + 0.01 * config.variation * rng.standard_normal(2)
    rises = np.column_stack([np.zeros_like(cue), -0.03 * np.sin(np.pi * cue)])  # up as it reaches out
    free = free + cue[:, None] * (target - free) + rises
    weight = mirroring[:, None]
    return weight * mirror + (1 - weight) * free


def crescendo(
    music: MusicContours, window_s: float = tun.CRESCENDO_WINDOW_S, full_rise: float = tun.CRESCENDO_FULL_RISE
) -> np.ndarray:
    """0..1: how much louder the music is now than `window_s` ago (the music starting after silence is no
    crescendo: silences are filled with the loudness that follows them)."""
    n = len(music.raw_loudness)
    sounding = np.flatnonzero(~music.silent)
    if len(sounding) == 0:
        return np.zeros(n)
    following = np.minimum(np.searchsorted(sounding, np.arange(n)), len(sounding) - 1)
    filled = gaussian_filter1d(music.raw_loudness[sounding[following]], music.fps / 2, mode="nearest")
    lag = int(window_s * music.fps)
    before = np.concatenate([np.repeat(filled[:1], lag), filled])[:n]
    return gaussian_filter1d(np.clip((filled - before) / full_rise, 0, 1), 0.3 * music.fps, mode="nearest")
