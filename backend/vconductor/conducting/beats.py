"""Beat cleanup: the chosen beat level's beats moved onto onsets, kept where there is music to conduct, counted
in bars (restarting after long rests), split into eighths for 6/8 in six, and their local tempo."""

from dataclasses import dataclass

import numpy as np

from ..progress import cancellation_point
from . import tuning as tun
from .beat_levels import BeatCandidate
from .features import FEATURE_RATE, SpectralFeatures
from .metre import bar_levels, beat_accents, fit_bar_template, local_max
from .music_analysis import METERS


@dataclass
class DetectedBeats:
    times: np.ndarray  # (B,) seconds
    in_bar: np.ndarray  # (B,) position in the bar, 0 = downbeat
    meter: str
    tempo: np.ndarray  # (B,) BPM

    @classmethod
    def empty(cls, meter: str | None) -> "DetectedBeats":
        return cls(np.zeros(0), np.zeros(0, dtype=np.int64), meter or "4/4", np.zeros(0))


def conducted_beats(
    features: SpectralFeatures, candidate: BeatCandidate, per_bar: int, meter: str | None
) -> DetectedBeats:
    """The beats of `candidate` as conducted with `per_bar` beats per bar (`meter`: the user's, or None)."""
    frames = snap_to_onsets(features, candidate.frames, candidate.bpm[candidate.frames])
    beat_bpm = candidate.bpm[frames]
    fit, phase = candidate.bars[per_bar]
    phase = phase if np.isfinite(fit) else 0
    in_bar = (np.arange(len(frames)) - phase) % per_bar
    cancellation_point()
    keep = beats_to_conduct(features, frames, beat_bpm)
    cancellation_point()
    in_bar = restart_bars(features, frames, keep, in_bar, per_bar)
    name = {2: "2/4", 3: "3/4", 4: "4/4"}[per_bar]
    in_two = candidate.compound and per_bar == 2 and meter is None
    slow_compound = in_two and np.median(beat_bpm) < tun.COMPOUND_IN_6_BELOW
    if meter == "6/8" or slow_compound:
        frames, in_bar, beat_bpm, keep = _in_six(frames, in_bar, beat_bpm, keep)
        name = "6/8"
    frames, in_bar, beat_bpm = frames[keep], in_bar[keep], beat_bpm[keep]
    times = np.maximum(frames / FEATURE_RATE - tun.LATENCY_S, 0.0)
    tempo = beat_tempo(times, beat_bpm)
    return DetectedBeats(times.astype(np.float64), in_bar.astype(np.int64), name, tempo)


def tracker_bar_lengths(meter: str | None) -> tuple[int, ...]:
    """The beats per bar the tracker may choose: any it knows, or the user's metre (6/8: two dotted beats)."""
    if meter is None:
        return (2, 3, 4)
    return (2,) if meter == "6/8" else (METERS[meter],)


def tracked_beats(features: SpectralFeatures, tracked, meter: str | None) -> DetectedBeats:
    """The tracker's beats (a beat_tracking.TrackedBeats) as conducted: none through long rests or before the first and after the last clear
    onset (beats_to_conduct), counted in the tracker's bars; 6/8 given by the user is conducted in six."""
    if len(tracked.beats_s) == 0:
        return DetectedBeats.empty(meter)
    frames = np.clip(np.rint(tracked.beats_s * FEATURE_RATE).astype(int), 0, features.num_frames - 1)
    if getattr(tracked, "given", False):  # the user's beats (beat_sources.py): every one where there is music
        keep = within_the_music(features, frames, tracked.tempo_bpm)
    else:
        keep = beats_to_conduct(features, frames, tracked.tempo_bpm)
    in_bar = tracked.beat_in_bar.copy()
    name = meter or {2: "2/4", 3: "3/4", 4: "4/4"}[tracked.main_bar_length]
    times, tempo = tracked.beats_s, tracked.tempo_bpm
    if meter == "6/8":
        frames, in_bar, tempo, keep = _in_six(frames, in_bar, tempo, keep)
        times = frames / FEATURE_RATE
    return DetectedBeats(times[keep].astype(np.float64), in_bar[keep].astype(np.int64), name, tempo[keep])


def within_the_music(features: SpectralFeatures, frames: np.ndarray, bpm: np.ndarray) -> np.ndarray:
    """Which of the user's beats to conduct: all from a beat before the first sound to the last sound (rests
    included: the user put beats there); none in the silence before the music or after it has died away."""
    sounding = np.flatnonzero(~features.silent)
    if len(sounding) == 0:
        return np.zeros(len(frames), bool)
    period = 60.0 * FEATURE_RATE / bpm
    return (frames >= sounding[0] - period) & (frames <= sounding[-1])


def _in_six(frames: np.ndarray, in_bar: np.ndarray, beat_bpm: np.ndarray, keep: np.ndarray):
    """Conducted in six: each (dotted-quarter) beat split into three eighth-note beats; the last beat before a
    gap or a dropped beat keeps only its first eighth."""
    step = frames[-1] - frames[-2] if len(frames) > 1 else 0
    following = np.r_[frames[1:], frames[-1] + step]
    long_gap = following[:-1] - frames[:-1] > tun.BEAT_GAP_RATIO * 60 * FEATURE_RATE / beat_bpm[:-1]
    last = np.r_[~keep[1:] | long_gap, True]
    parts = []
    for k in range(3):
        part = np.round(frames + (following - frames) * k / 3.0).astype(int)
        parts.append((part, in_bar * 3 + k, beat_bpm * 3, keep & ((k == 0) | ~last)))
    return tuple(np.stack([p[i] for p in parts], axis=1).ravel() for i in range(4))


def onset_support(features: SpectralFeatures, frames: np.ndarray) -> tuple[np.ndarray, float]:
    """Onset strength at each beat, and its median over the sounding beats."""
    support = local_max(features.onset, frames, 3)
    sounding = ~features.silent[frames]
    return support, float(np.median(support[sounding])) if sounding.any() else 0.0


def snap_to_onsets(features: SpectralFeatures, frames: np.ndarray, bpm: np.ndarray) -> np.ndarray:
    """Move beats that fall between notes onto a clear onset nearby (ritardandi, fermata chords arrive later
    than the smooth tempo curve predicts), keeping some room between beats."""
    support, median = onset_support(features, frames)
    if median <= 0:
        return frames
    onset, last_frame = features.onset, features.num_frames - 1
    out = frames.copy()
    period = 60.0 * FEATURE_RATE / bpm
    for k in np.flatnonzero(support < tun.SNAP_WEAK_FRACTION * median):
        reach = int(tun.SNAP_REACH_BEATS * period[k])
        room = int(tun.SNAP_SPACING_BEATS * period[k])
        lo = max(frames[k] - reach, out[k - 1] + room if k > 0 else 0)
        hi = min(frames[k] + reach, frames[k + 1] - room if k + 1 < len(frames) else last_frame)
        if hi > lo:
            strongest = lo + int(np.argmax(onset[lo : hi + 1]))
            if onset[strongest] >= median:
                out[k] = strongest
    return out


def beats_to_conduct(features: SpectralFeatures, frames: np.ndarray, bpm: np.ndarray) -> np.ndarray:
    """Which beats to conduct: none in long silences, none before the first clear onset, and none after the
    last one (a held final chord is held, not beaten)."""
    import scipy.ndimage as ndi

    period = 60.0 * FEATURE_RATE / bpm
    labels, count = ndi.label(features.silent)
    keep = np.ones(len(frames), bool)
    if count:
        lengths = np.bincount(labels.ravel())
        run = lengths[labels[frames]]
        long_rest = np.maximum(tun.LONG_REST_S * FEATURE_RATE, tun.LONG_REST_BEATS * period)
        keep &= ~((labels[frames] > 0) & (run >= long_rest))
    support, median = onset_support(features, frames)
    if median > 0:
        clear = np.flatnonzero(keep & (support >= tun.CLEAR_ONSET_FRACTION * median))
    else:
        clear = np.zeros(0, int)
    if len(clear) == 0:
        return np.zeros(len(frames), bool)
    keep[: clear[0]] = False
    keep[clear[-1] + 1 :] = False
    return keep


def restart_bars(
    features: SpectralFeatures, frames: np.ndarray, keep: np.ndarray, in_bar: np.ndarray, per_bar: int
) -> np.ndarray:
    """After a long rest the bar count may restart: re-fit the downbeat phase of each later passage."""
    kept = np.flatnonzero(keep)
    if len(kept) < 2:
        return in_bar
    gaps = np.flatnonzero(np.diff(kept) > 1) + 1  # beats dropped in between: a rest
    if len(gaps) == 0:
        return in_bar
    out = in_bar.copy()
    for start, end in zip(gaps, np.r_[gaps[1:], len(kept)], strict=True):
        passage = kept[start:end]
        if len(passage) >= 3 * per_bar:
            fit, phase = fit_bar_template(beat_accents(features, frames[passage]), bar_levels(per_bar))
            if np.isfinite(fit) and fit > 0:
                out[passage] = (np.arange(len(passage)) - phase) % per_bar
    return out


def beat_tempo(times: np.ndarray, tracked_bpm: np.ndarray) -> np.ndarray:
    """60 / local inter-beat interval, median-smoothed; the tracked tempo across gaps."""
    import scipy.ndimage as ndi

    if len(times) < 2:
        return tracked_bpm.astype(np.float64)
    interval = np.diff(times)
    expected = 60.0 / tracked_bpm
    plausible = np.abs(np.log(interval / expected[:-1])) < np.log(tun.TEMPO_OUTLIER_RATIO)
    local = np.where(plausible, 60.0 / interval, tracked_bpm[:-1])
    local = np.r_[local, local[-1]]
    return ndi.median_filter(local, tun.TEMPO_MEDIAN_BEATS, mode="nearest").astype(np.float64)
