"""What the score's marks change in the procedural conductor (docs/conducting.md#score): the written dynamics
blended into the heard ones, hairpins for the left hand, staccato for the ictus, fermatas for the beats. Only
used when `MusicAnalysis.score` is given; without a score none of this runs."""

import numpy as np
from scipy.ndimage import gaussian_filter1d

from . import tuning as tun
from .score_guide import ScoreGuide


def _curve(guide: ScoreGuide) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The written curve's points in time order, those with a time and a level only; and the staccato at
    them (None where the score gives none, or not one per point)."""
    t, level = np.asarray(guide.dynamics_s, float), np.asarray(guide.dynamics, float)
    staccato = np.asarray(guide.staccato, float) if len(guide.staccato) == len(t) else None
    if len(level) != len(t):
        return np.zeros(0), np.zeros(0), None
    keep = np.isfinite(t) & np.isfinite(level) & (np.isfinite(staccato) if staccato is not None else True)
    order = np.argsort(t[keep], kind="stable")
    return t[keep][order], level[keep][order], staccato[keep][order] if staccato is not None else None


def written_dynamics(guide: ScoreGuide, times: np.ndarray) -> np.ndarray | None:
    """(T,) the written dynamic level on the motion's 0 (pp) .. 1 (ff) scale, None when the score marks none."""
    t, level, _ = _curve(guide)
    if len(t) == 0:
        return None
    low, high = tun.WRITTEN_DYNAMICS_RANGE
    return np.clip((np.interp(times, t, level) - low) / (high - low), 0, 1)


def blended_dynamics(heard: np.ndarray, guide: ScoreGuide, times: np.ndarray, fps: float) -> np.ndarray:
    """The gestures' dynamics: the written level blended with the heard one (a recording's balance and the
    player's shaping still count); smoothed like the heard one so a new marking is not a jump."""
    written = written_dynamics(guide, times)
    if written is None:
        return heard
    written = gaussian_filter1d(written, tun.WRITTEN_DYNAMICS_SMOOTH_S * fps, mode="nearest")
    return (1 - tun.WRITTEN_DYNAMICS_WEIGHT) * heard + tun.WRITTEN_DYNAMICS_WEIGHT * written


def written_staccato(guide: ScoreGuide, times: np.ndarray) -> np.ndarray | None:
    """(T,) 0..1 how much of the music is marked staccato, None when the score says nothing of it."""
    t, _, staccato = _curve(guide)
    if staccato is None or len(t) == 0:
        return None
    return np.clip(np.interp(times, t, staccato), 0, 1)


def written_hairpins(guide: ScoreGuide, times: np.ndarray, fps: float, falling: bool) -> np.ndarray | None:
    """(T,) 0..1 how strongly the written level rises (or falls) here: the slope of gradual changes
    (hairpins); a new marking from one note to the next (subito) is no crescendo."""
    t, level, _ = _curve(guide)
    if len(t) < 2:
        return None
    span = np.diff(t)
    slope = np.where(span >= tun.HAIRPIN_MIN_S, np.diff(level) / np.maximum(span, 1e-9), 0.0)
    segment = np.clip(np.searchsorted(t, times, side="right") - 1, 0, len(slope) - 1)
    inside = (times >= t[0]) & (times < t[-1])
    rate = np.where(inside, slope[segment], 0.0) * (-1 if falling else 1)
    change = np.clip(rate * tun.CRESCENDO_WINDOW_S / tun.HAIRPIN_FULL_RISE, 0, 1)
    return gaussian_filter1d(change, 0.3 * fps, mode="nearest")


def _fermatas(guide: ScoreGuide) -> list[tuple[float, float]]:
    return [(float(a), float(b)) for a, b in guide.fermatas if np.isfinite(a) and np.isfinite(b) and b > a]


def outside_fermatas(times: np.ndarray, guide: ScoreGuide) -> np.ndarray:
    """Which beats to keep: none inside a fermata (the pattern holds there)."""
    keep = np.ones(len(times), bool)
    for start, end in _fermatas(guide):
        keep &= ~((times > start + tun.FERMATA_EDGE_S) & (times < end - tun.FERMATA_EDGE_S))
    return keep


def fermata_releases(times: np.ndarray, guide: ScoreGuide | None) -> np.ndarray:
    """(B,) the written release after each beat (NaN where none): a fermata's cut-off follows the last beat
    at or before its start."""
    release = np.full(len(times), np.nan)
    for start, end in _fermatas(guide) if guide is not None else []:
        held = np.flatnonzero(times <= start + tun.FERMATA_EDGE_S)
        if len(held) and times[held[-1]] > start - tun.FERMATA_LAST_BEAT_S:
            release[held[-1]] = end
    return release


def from_the_music_start(times: np.ndarray, guide: ScoreGuide) -> np.ndarray:
    """Which beats to keep: from the beat the music starts on (the last at or just before the score's first
    note); an opening rest's silent beats are not conducted, so the preparation is the beat before the
    first sound (it was the beat before the rest: two beats early)."""
    keep = np.ones(len(times), bool)
    start = guide.music_starts_s
    if not np.isfinite(start):
        return keep
    on_or_before = np.flatnonzero(times <= start + tun.MUSIC_START_EDGE_S)
    if len(on_or_before):
        keep[: on_or_before[-1]] = False
    return keep
