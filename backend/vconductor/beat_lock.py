"""Beat-locked learned motion: the learned model's gestures moved in time so that their beats land on the
tracked beats, their shape kept (docs/beat-tracker.md, "Beat-locking").

The learned model conducts in the music's style but not on its beats (its wrist period matched the true beat on
2 of 9 corpus pieces). A motion beat is where the right wrist slows to its lowest speed (the ictus: FACT's and
our Beat Align Score's definition). Each tracked beat is paired with at most one motion beat, in order, by a
nearest-first matching; the pairs become anchors of a smooth, monotone time warp
(PCHIP through them, its slope kept between MIN_RATE and MAX_RATE), and the keypoints are resampled along it.
Nothing is invented: every output frame is an interpolation of two neighbouring input frames.
"""

import numpy as np
from scipy.interpolate import PchipInterpolator
from scipy.ndimage import gaussian_filter1d
from scipy.signal import argrelextrema

from .contract import FPS, JOINT

MIN_CONFIDENCE = 0.3  # "auto" locks only when the tracker's mean confidence reaches this
MAX_SHIFT_BEATS = 0.45  # a motion beat further than this (in beat periods) from a music beat is not paired
MIN_RATE, MAX_RATE = 0.6, 1.6  # the warp never plays the motion slower or faster than this
SPEED_SMOOTHING_S = 5 / 60  # FACT's smoothing of the wrist speed


def wrist_minima(keypoints: np.ndarray, fps: float = FPS) -> np.ndarray:
    """Times (s) of the right wrist's speed minima: the motion's beats."""
    wrist = np.asarray(keypoints, np.float64)[:, JOINT["right_wrist"]]
    speed = gaussian_filter1d(np.linalg.norm(np.gradient(wrist, axis=0), axis=1), SPEED_SMOOTHING_S * fps)
    return argrelextrema(speed, np.less)[0] / fps


def pair_beats(motion_s: np.ndarray, music_s: np.ndarray) -> list[tuple[float, float]]:
    """(music beat, motion beat) pairs, both increasing, each beat used once: every music beat takes its
    nearest motion beat within MAX_SHIFT_BEATS of the local beat period; of two music beats wanting the same
    motion beat the nearer keeps it."""
    if len(motion_s) == 0 or len(music_s) < 2:
        return []
    period = np.interp(music_s, music_s[1:], np.diff(music_s))
    right = np.clip(np.searchsorted(motion_s, music_s), 0, len(motion_s) - 1)
    left = np.maximum(right - 1, 0)
    nearest = np.where(np.abs(motion_s[left] - music_s) < np.abs(motion_s[right] - music_s), left, right)
    gap = np.abs(motion_s[nearest] - music_s)
    ok = gap <= MAX_SHIFT_BEATS * period
    claimed: dict[int, int] = {}
    for i in np.flatnonzero(ok):
        j = int(nearest[i])
        if j not in claimed or gap[i] < gap[claimed[j]]:
            claimed[j] = int(i)
    return sorted((float(music_s[i]), float(motion_s[j])) for j, i in claimed.items())


def _monotone_anchors(pairs, duration: float) -> tuple[np.ndarray, np.ndarray]:
    """Anchors (output time, source time) from 0 to the end, dropping pairs that would make the warp play
    faster than MAX_RATE or slower than MIN_RATE."""
    out, src = [0.0], [0.0]
    for music, motion in pairs:
        dt_out, dt_src = music - out[-1], motion - src[-1]
        if dt_out > 0 and MIN_RATE <= dt_src / dt_out <= MAX_RATE:
            out.append(music)
            src.append(motion)
    if duration > out[-1]:
        end_src = src[-1] + np.clip(
            duration - src[-1], MIN_RATE * (duration - out[-1]), MAX_RATE * (duration - out[-1])
        )
        out.append(duration)
        src.append(min(end_src, duration))
    return np.asarray(out), np.asarray(src)


def beat_lock(keypoints: np.ndarray, beats_s: np.ndarray, fps: float = FPS) -> tuple[np.ndarray, dict]:
    """The keypoints time-warped so their motion beats fall on `beats_s`, and what was done (pairs, rates)."""
    keypoints = np.asarray(keypoints, np.float32)
    frames = len(keypoints)
    duration = (frames - 1) / fps
    pairs = pair_beats(wrist_minima(keypoints, fps), np.asarray(beats_s, np.float64))
    out_t, src_t = _monotone_anchors(pairs, duration)
    if len(out_t) < 3:
        return keypoints.copy(), {"pairs": 0, "anchors": 0}
    warp = PchipInterpolator(out_t, src_t)
    source = np.clip(warp(np.arange(frames) / fps) * fps, 0, frames - 1)
    lo = np.floor(source).astype(int)
    hi = np.minimum(lo + 1, frames - 1)
    frac = (source - lo).astype(np.float32)[:, None, None]
    locked = keypoints[lo] * (1 - frac) + keypoints[hi] * frac
    rates = np.diff(source)
    return locked.astype(np.float32), {
        "pairs": len(pairs),
        "anchors": len(out_t) - 2,
        "rate_range": (float(rates.min()), float(rates.max())) if len(rates) else (1.0, 1.0),
    }


def should_lock(mode: str, confidence: np.ndarray) -> bool:
    """`mode` "on", "off", or "auto": on when the tracker is confident about this piece's beats."""
    if mode not in ("auto", "on", "off"):
        raise ValueError(f"beat lock must be auto, on or off, got {mode!r}")
    if mode != "auto":
        return mode == "on"
    return len(confidence) >= 4 and float(np.mean(confidence)) >= MIN_CONFIDENCE
