"""The left hand: independent of the right (docs/conducting.md#left-hand). It joins the right hand's pattern only
at tutti climaxes and for the first entry and the releases; otherwise it keeps its own gestures
(left_gestures.py) and rises to cue entries (cues.py)."""

import numpy as np
from scipy.ndimage import gaussian_filter1d

from . import tuning as tun
from .beat_plan import Performance
from .left_gestures import free_left_hand
from .score_cues import CuePlan
from .tuning import LEFT_CUE, SHOULDER_CENTRE


def mirror_weight(performance: Performance) -> np.ndarray:
    """0..1, how much the left hand mirrors the right: at the piece's climaxes (its loudest moments, well above
    its usual level, a few seconds at most each) and for the first entry, fermatas and releases."""
    beats, music, config, times = performance.beats, performance.music, performance.config, performance.times
    weight = _climaxes(music.loudness, music.silent, music.fps, config.left_mirror_loudness)
    weight = weight * min(config.left_mirroring, 1.0)
    if len(beats.times):
        both = times < beats.times[0] + 0.5
        for last in np.flatnonzero(beats.gap_after[:-1]):
            both |= (times > beats.times[last]) & (times < beats.times[last + 1] + 0.5)
        both |= times > beats.times[-1]
        weight = np.maximum(weight, both)
    return np.clip(gaussian_filter1d(weight, config.left_blend_s / 3 * music.fps, mode="nearest"), 0, 1)


def _climaxes(loudness: np.ndarray, silent: np.ndarray, fps: float, floor: float) -> np.ndarray:
    """1 in the climaxes: loudness near the piece's peak, clearly above its median and above `floor`; each run
    at least CLIMAX_MIN_S long and cut to the CLIMAX_MAX_S around its loudest frame."""
    sounding = loudness[~silent] if (~silent).any() else loudness
    if len(sounding) == 0:
        return np.zeros(len(loudness))
    peak = np.percentile(sounding, tun.CLIMAX_PERCENTILE)
    threshold = max(peak - tun.CLIMAX_BAND, np.median(sounding) + tun.CLIMAX_ABOVE_MEDIAN, floor)
    climax = np.zeros(len(loudness))
    edges = np.diff(np.concatenate([[0], (loudness >= threshold).astype(np.int8), [0]]))
    longest = int(tun.CLIMAX_MAX_S * fps)
    for start, end in zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1), strict=True):
        if end - start < tun.CLIMAX_MIN_S * fps:
            continue
        centre = start + int(np.argmax(loudness[start:end]))
        lo = int(np.clip(centre - longest // 2, start, max(end - longest, start)))
        climax[lo : min(lo + longest, end)] = 1.0
    return climax


def left_hand(
    right: np.ndarray,
    mirroring: np.ndarray,
    cue: np.ndarray,
    performance: Performance,
    score_cues: CuePlan | None = None,
) -> np.ndarray:
    """The left wrist (T, 2): its own gestures, raised to the cues (`cue`, or the score's `score_cues` towards
    each section), blended into the right hand's mirror image by `mirroring`."""
    config, rng = performance.config, performance.rng
    mirror = np.column_stack([2 * SHOULDER_CENTRE[0] - right[:, 0], right[:, 1]])
    free = free_left_hand(performance)
    target = LEFT_CUE + 0.01 * config.variation * rng.standard_normal(2)
    rises = np.column_stack([np.zeros_like(cue), -0.03 * np.sin(np.pi * cue)])  # up as it reaches out
    if score_cues is None:
        free = free + cue[:, None] * (target - free) + rises
    else:
        free = free + score_cues.left[:, None] * (score_cues.left_target - free)
    weight = mirroring[:, None]
    return weight * mirror + (1 - weight) * free
