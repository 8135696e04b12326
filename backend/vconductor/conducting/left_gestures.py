"""The left hand's own gestures when it is not mirroring the right or cueing: it rests low in quiet passages and
is held ready at the chest when the music is full; lifts palm-up through crescendos and presses down through
diminuendos; opens a gesture at each phrase start and sustains it; marks loud downbeats with a small touch."""

import numpy as np
from scipy.ndimage import gaussian_filter1d

from . import tuning as tun
from .beat_plan import Performance
from .motion_inputs import MusicContours, smooth_noise
from .score_marks import written_hairpins
from .tuning import LEFT_IDLE, LEFT_READY


def free_left_hand(performance: Performance) -> np.ndarray:
    """The left wrist's path (T, 2) from its own gestures."""
    music, config, rng, times = performance.music, performance.config, performance.rng, performance.times
    activity = config.left_activity
    engaged = engagement(music) * min(activity, 1.0)
    path = LEFT_IDLE + engaged[:, None] * (LEFT_READY - LEFT_IDLE)
    rise, fall = crescendo(music), crescendo(music, falling=True)
    path = path + activity * (
        rise[:, None] * [-0.02, -config.left_lift] + fall[:, None] * [0.01, tun.DIM_PRESS]
    )
    path = path + activity * _phrase_gestures(performance)
    swell = activity * _phrase_swell(performance)
    path += swell[:, None] * [tun.LEFT_SWELL_OUT, -1.0]  # rising with the phrase, opening out a little
    path = path + activity * engaged[:, None] * _downbeat_touches(performance)
    drift = smooth_noise(rng, len(times), 1.2 * music.fps, 0.006 * config.variation)
    return path + drift * (0.4 + engaged[:, None])


def engagement(music: MusicContours) -> np.ndarray:
    """0..1: how present the left hand is, from the dynamics over the last few seconds (slow to change)."""
    level = gaussian_filter1d(music.dynamics, tun.LEFT_ENGAGE_SMOOTH_S * music.fps, mode="nearest")
    low, high = tun.LEFT_ENGAGE_DYNAMICS
    x = np.clip((level - low) / (high - low), 0, 1)
    return x * x * (3 - 2 * x)


def _phrase_gestures(performance: Performance) -> np.ndarray:
    """(T, 2) offsets: at each phrase start the hand opens (up and out, or up and across, seeded), holds the
    shape while the phrase sustains and sinks back through it; smaller gestures every few bars inside a phrase."""
    music, rng, times = performance.music, performance.rng, performance.times
    starts, scales = _gesture_starts(performance)
    offsets = np.zeros((len(times), 2))
    fps = music.fps
    if len(starts) == 0 or len(times) == 0:
        return offsets
    ends = np.append(starts[1:] + tun.PHRASE_OPEN_S, times[-1] + 1.0)  # a gesture lasts until the next opened
    levels = music.at(music.dynamics, starts)
    for start, end, level, scale in zip(starts, ends, levels, scales, strict=True):
        direction = np.asarray(tun.PHRASE_OPENINGS[rng.integers(len(tun.PHRASE_OPENINGS))])
        size = scale * tun.PHRASE_OPEN_SIZE * (0.4 + 0.6 * level) * (0.8 + 0.4 * rng.random())
        lo, hi = max(int(np.ceil(start * fps)), 0), min(int(np.ceil(end * fps)), len(times))
        u = times[lo:hi] - start
        opening = 0.5 - 0.5 * np.cos(np.pi * np.clip(u / tun.PHRASE_OPEN_S, 0, 1))
        sink = np.exp(-np.maximum(u - tun.PHRASE_OPEN_S, 0) / tun.PHRASE_SUSTAIN_S)
        # the new gesture takes over from the last one as it opens
        offsets[lo:hi] = (
            offsets[lo:hi] * (1 - opening[:, None]) + (opening * sink * size)[:, None] * direction
        )
    return gaussian_filter1d(offsets, 0.1 * music.fps, axis=0, mode="nearest")


def _gesture_starts(performance: Performance) -> tuple[np.ndarray, np.ndarray]:
    """When the left hand makes a gesture, and how big (1 at a phrase start): the first beat and every phrase
    start, and a downbeat every 2-4 bars (seeded) inside a phrase, at SUB_PHRASE_SIZE."""
    beats, rng = performance.beats, performance.rng
    phrases = np.asarray(performance.phrase_starts_s, float)
    if len(beats.times) == 0:
        return phrases, np.ones(len(phrases))
    phrases = np.concatenate([[beats.times[0]], phrases[phrases > beats.times[0] + 1.0]])
    downbeats = beats.times[beats.in_bar == 0]
    chosen, count, every = [], 0, rng.integers(2, 5)
    for when in downbeats:
        count += 1
        if count >= every and np.min(np.abs(phrases - when)) > tun.SUB_PHRASE_CLEAR_S:
            chosen.append(when)
            count, every = 0, rng.integers(2, 5)
    starts = np.concatenate([phrases, chosen])
    scales = np.concatenate([np.ones(len(phrases)), np.full(len(chosen), tun.SUB_PHRASE_SIZE)])
    order = np.argsort(starts, kind="stable")
    return starts[order], scales[order]


def _phrase_swell(performance: Performance) -> np.ndarray:
    """(T,) how far the hand rises with the phrase (the right hand's pattern lift), later and smoother."""
    beats, music, times = performance.beats, performance.music, performance.times
    if len(beats.times) == 0:
        return np.zeros(len(times))
    lift = np.interp(times - tun.LEFT_SWELL_LAG_S, beats.times, beats.lift)
    return tun.LEFT_SWELL * gaussian_filter1d(lift, 0.6 * music.fps, mode="nearest")


def _downbeat_touches(performance: Performance) -> np.ndarray:
    """(T, 2): a small dip of the hand into each downbeat (not the others, so it never becomes the pattern)."""
    beats, fps, n = performance.beats, performance.music.fps, len(performance.times)
    sigma = tun.DOWNBEAT_TOUCH_S * fps
    frames = np.round((beats.times[beats.in_bar == 0] - 0.5 * tun.DOWNBEAT_TOUCH_S) * fps).astype(int)
    impulses = np.zeros(n)
    np.add.at(impulses, frames[(frames >= 0) & (frames < n)], 1.0)
    dips = gaussian_filter1d(impulses, sigma, mode="constant") * sigma * np.sqrt(2 * np.pi)
    return np.column_stack([np.zeros(n), tun.DOWNBEAT_TOUCH * np.clip(dips, 0, 1)])


def crescendo(
    music: MusicContours,
    window_s: float = tun.CRESCENDO_WINDOW_S,
    full_rise: float = tun.CRESCENDO_FULL_RISE,
    falling: bool = False,
) -> np.ndarray:
    """0..1: how much louder (or, `falling`, quieter) the music is now than `window_s` ago. The music starting
    after silence is no crescendo, nor its stopping a diminuendo: silences take the loudness next to them.
    With a score that marks dynamics, its hairpins instead."""
    n = len(music.raw_loudness)
    if music.score is not None:
        written = written_hairpins(music.score, np.arange(n) / music.fps, music.fps, falling)
        if written is not None:
            return written
    sounding = np.flatnonzero(~music.silent)
    if len(sounding) == 0:
        return np.zeros(n)
    side = "left" if not falling else "right"
    nearest = np.clip(
        np.searchsorted(sounding, np.arange(n), side) - (1 if falling else 0), 0, len(sounding) - 1
    )
    filled = gaussian_filter1d(music.raw_loudness[sounding[nearest]], music.fps / 2, mode="nearest")
    lag = int(window_s * music.fps)
    before = np.concatenate([np.repeat(filled[:1], lag), filled])[:n]
    change = (before - filled) if falling else (filled - before)
    return gaussian_filter1d(np.clip(change / full_rise, 0, 1), 0.3 * music.fps, mode="nearest")
