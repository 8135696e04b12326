"""From the network's activations to beats, downbeats and metre (docs/beat-tracker.md).

Two stages, each cheap enough for hours of music:
1. Beats: the beat activation's tempogram gives the piece's tempo, a smooth Viterbi path through it the local
   tempo (conducting.tempo), and the dynamic-programming beat tracker places beats on the activation's peaks
   along that tempo (conducting.beat_tracker). Leading and trailing beats with no activation (silence) go.
   The metrical level is chosen among beats tracked at 2/3 ... 3 times that tempo and every 2nd or 3rd of
   them (metrical_level): the network's pulse is often a subdivision (eighths in a slow piece). Beats the
   tempo path put inside a held chord are dropped (holds.py).
2. Bars: a small hidden Markov model over the beats, whose states are (beats per bar, position in the bar) for
   2, 3 and 4 beats a bar; a bar's position advances one per beat, a new bar may change its metre (rarely), and
   a beat may repeat or skip a place (the beats above added or dropped one; an unheard beat, perhaps a
   fermata filled in, repeats more readily).
   Each beat's evidence is the downbeat activation relative to the beat activation there; a held chord's
   beat gives none of that but is a strong beat (phrases end on one). Its Viterbi path gives every beat's
   place in its bar, the downbeats, and the metre of every bar, changes included.
"""

from dataclasses import dataclass

import numpy as np

from ..conducting import tuning as tun
from ..conducting.tempo import TempoSalience, tempo_curve, tempogram, track_beats
from ..progress import cancellation_point
from .features import FRAME_RATE
from .holds import HEARD_BEAT, held_beats, without_fermata_fills
from .peaks import PEAK_RADIUS, peaks_at

BAR_LENGTHS = (2, 3, 4)  # beats per bar the bar model knows (6/8 is 2 dotted beats, 12/8 is 4)
TEMPO_RANGE_BPM = (35.0, 210.0)  # where the piece's beat tempo is looked for
METRE_CHANGE_PER_BAR = 0.003  # prior probability that a bar has another metre than the one before
# the beat tracker sometimes adds a beat (a fermata filled in) or drops one: the bar model lets a beat repeat its
# place in the bar or skip one with this probability each, so one such slip costs a beat's worth of downbeat
# evidence, not every bar after it (chosen on the development and chorale development renders, docs)
BEAT_SLIP = 0.05
# the bar model weighs each beat's downbeat ratio against the piece's mean ratio, never against less than
# this (a little under the share of downbeats among the training beats, 0.36): where half the beats are
# plainly not downbeats the mean is low and a 4/4's third beat would pass for a bar start
MIN_DOWNBEAT_PRIOR = 0.3
# a held chord ends a phrase, and phrases end on strong beats (a 2- or 3-beat bar's first, a 4-beat bar's
# first or third: 33 of 41 held beats in the chorale development renders are a 4/4's third): on a held beat
# the weak places are this much less likely (1 = no evidence)
HELD_WEAK = 0.3
# a beat the network does not hear may be one the tracker put into a fermata (one held about 2 or 3 beats
# keeps its fill, holds.py): there the bar model lets it repeat its place with this probability, not BEAT_SLIP
FILL_SLIP = 0.2
LEVEL_PERCENTILE = 99.5  # the activation's level: its strongest beats
MIN_LEVEL = 0.01  # below this the network found no beats at all
PRIOR_BPM, PRIOR_OCTAVES = 100.0, 1.0  # log-normal prior on the piece's beat tempo (librosa uses 120, 1)
MIN_GAP_FRAMES = 9  # beats are at least 0.1 s apart (600 BPM)
# Metrical level (docs/beat-tracker.md): beat sequences at these multiples of the strongest pulse's tempo, and
# every 2nd / 3rd beat of each, are scored; the weights were chosen on development renders (never held-out).
LEVEL_RATIOS = (2 / 3, 1.0, 3 / 2, 2.0, 3.0)
LEVEL_DECIMATIONS = (1, 2, 3)
LEVEL_BPM_RANGE = (25.0, 300.0)  # candidate beat tempi outside this are not tried
LEVEL_MIN_BEATS = 8  # shorter candidate sequences are not scored
BETWEEN_WEIGHT = 1.0  # penalty on the strongest beat activation between two beats (a skipped beat)
DOWNBEAT_WEIGHT = 1.0  # reward for the downbeat activation the beats carry ...
DOWNBEAT_CAP = 0.6  # ... up to about one downbeat in two beats (whole bars as beats earn little more)
# log-normal prior on the beat tempo: weight, centre (BPM), width (octaves)
LEVEL_PRIOR_WEIGHT, LEVEL_PRIOR_BPM, LEVEL_PRIOR_OCTAVES = 0.2, 70.0, 1.0
BETWEEN_MARGIN = 0.2  # share of an interval at either end left out of "between"
SILENT_BEAT = 0.1  # leading/trailing beats whose activation stays below this are dropped
EXTEND_PEAK = 0.3  # a beat beyond the tracked ones needs this much activation
TEMPO_MEDIAN_BEATS = 5  # a beat's local tempo: the median of this many inter-beat intervals around it
TIGHTNESS = 200.0  # how strictly beats follow the tempo path (librosa's tightness, for 21.5 frames a beat)


@dataclass
class TrackedBeats:
    """Beats of a piece with their place in the bar: the tracker's result."""

    beats_s: np.ndarray  # (B,) float64, increasing
    beat_in_bar: np.ndarray  # (B,) int, 0 = downbeat
    bar_length: np.ndarray  # (B,) int, beats in the bar this beat belongs to
    tempo_bpm: np.ndarray  # (B,) float64, local beat tempo
    confidence: np.ndarray  # (B,) float32 in [0, 1], the beat activation at the beat

    @property
    def downbeats_s(self) -> np.ndarray:
        return self.beats_s[self.beat_in_bar == 0]

    @property
    def main_bar_length(self) -> int:
        """The most common beats per bar (4 when there are no beats)."""
        if len(self.beats_s) == 0:
            return 4
        downbeat_lengths = self.bar_length[self.beat_in_bar == 0]
        counts = np.bincount(downbeat_lengths if len(downbeat_lengths) else self.bar_length, minlength=5)
        return int(np.argmax(counts))

    @classmethod
    def empty(cls) -> "TrackedBeats":
        none = np.zeros(0)
        return cls(none, none.astype(int), none.astype(int), none, none.astype(np.float32))


def decode(activations: np.ndarray, bar_lengths: tuple[int, ...] = BAR_LENGTHS) -> TrackedBeats:
    """Beats, bars and metre from (n, 2) beat and downbeat activations at FRAME_RATE; `bar_lengths` are the
    beats per bar allowed (one of them to fix the metre)."""
    activations = np.nan_to_num(np.asarray(activations, np.float64), nan=0.0).clip(0.0, 1.0)
    if activations.ndim != 2 or activations.shape[1] != 2:
        raise ValueError(f"activations must be (frames, 2), got shape {activations.shape}")
    if len(activations) < 2 * FRAME_RATE:
        return TrackedBeats.empty()
    level = float(np.percentile(activations[:, 0], LEVEL_PERCENTILE))
    if level < MIN_LEVEL:
        return TrackedBeats.empty()  # nothing beat-like anywhere: silence, noise, a drone
    # relative to the piece's own level: the network is less sure of some timbres, not less right
    beat_act = np.minimum(activations[:, 0] / level, 1.0)
    bpm_frames = beat_tempo_curve(beat_act)
    if bpm_frames is None:
        return TrackedBeats.empty()
    cancellation_point()
    down_level = max(float(np.percentile(activations[:, 1], LEVEL_PERCENTILE)), MIN_LEVEL)
    down_act = np.minimum(activations[:, 1] / down_level, 1.0)
    frames = metrical_level(beat_act, down_act, bpm_frames)
    frames = without_fermata_fills(frames, beat_act)
    if len(frames) < 2:
        return TrackedBeats.empty()
    beat_peak = peaks_at(beat_act, frames)
    cancellation_point()
    downbeat_peak = peaks_at(activations[:, 1], frames)
    ratio = downbeat_peak / np.maximum(peaks_at(activations[:, 0], frames), 1e-4)
    heard = beat_peak >= HEARD_BEAT
    held = held_beats(frames, heard)
    ratio[held] = np.nan  # the network hears a held chord as a bar start: no downbeat evidence
    in_bar, length = bar_positions(ratio, bar_lengths, held, ~heard)
    times = np.maximum(_refined(frames, beat_act), 0.0) / FRAME_RATE
    return TrackedBeats(times, in_bar, length, local_tempo(times), beat_peak.astype(np.float32))


def beat_tempo_curve(beat_act: np.ndarray) -> np.ndarray | None:
    """Per-frame beat tempo (BPM): the strongest pulse of the activation, followed through the piece."""
    tempi = tempogram(beat_act)
    salience = tempi.autocorrelation * tempi.fourier
    energy = tempi.energy
    valid = energy > 1e-6 * max(float(energy.max()), 1e-30)
    if valid.sum() < 3:
        return None
    per_window = salience[valid] / np.maximum(salience[valid].max(axis=1, keepdims=True), 1e-12)
    prior = np.exp(-0.5 * (np.log2(tun.TEMPO_GRID_BPM / PRIOR_BPM) / PRIOR_OCTAVES) ** 2)
    mean = per_window.mean(axis=0) * prior
    grid = tun.TEMPO_GRID_BPM
    inside = (grid >= TEMPO_RANGE_BPM[0]) & (grid <= TEMPO_RANGE_BPM[1])
    centre = float(grid[inside][np.argmax(mean[inside])])
    return tempo_curve(TempoSalience(salience, valid, tempi.centres, len(beat_act)), centre)


def beats_along(beat_act: np.ndarray, bpm_frames: np.ndarray) -> np.ndarray:
    """Beat frames placed on the activation along a tempo path: silent ends trimmed, ends extended, snapped
    to the activation's peaks."""
    frames = _trim_silent(track_beats(beat_act, bpm_frames, TIGHTNESS), beat_act)
    return _spaced(_snap_to_peaks(_extend_ends(frames, beat_act, bpm_frames), beat_act))


def metrical_level(beat_act: np.ndarray, down_act: np.ndarray, bpm_frames: np.ndarray) -> np.ndarray:
    """The beats at the notated level: of beat sequences tracked at LEVEL_RATIOS times the tempo path, and
    every 2nd or 3rd beat of each (all phases), the one with the best `level_score`."""
    median_bpm = float(np.median(bpm_frames))
    lo, hi = LEVEL_BPM_RANGE
    best, best_score = np.zeros(0, np.int64), -np.inf
    for ratio in LEVEL_RATIOS:
        if not lo <= median_bpm * ratio <= hi and ratio != 1.0:
            continue
        cancellation_point()
        frames = beats_along(beat_act, bpm_frames * ratio)
        if ratio == 1.0 and best_score == -np.inf:
            best = frames  # the strongest pulse's beats when nothing scores (very short pieces)
        for step in LEVEL_DECIMATIONS:
            if step > 1 and median_bpm * ratio / step < lo:
                continue
            for phase in range(step):
                candidate = frames[phase::step]
                if len(candidate) < LEVEL_MIN_BEATS:
                    continue
                score = level_score(candidate, beat_act, down_act)
                if score > best_score:
                    best, best_score = candidate, score
    return best


def level_score(frames: np.ndarray, beat_act: np.ndarray, down_act: np.ndarray) -> float:
    """How much a beat sequence looks like the notated beat: strong beat activation on its beats, little
    between them (else it skips beats), the network's downbeats on its beats (a subdivision carries fewer; the
    reward stops near one in two, so a sequence of whole bars, all downbeats, gains little over the beats), a
    plausible tempo."""
    on = peaks_at(beat_act, frames).mean()
    between = _between_max(beat_act, frames).mean()
    downbeats = min(peaks_at(down_act, frames).mean(), DOWNBEAT_CAP)
    bpm = 60.0 * FRAME_RATE / float(np.median(np.diff(frames)))
    prior = 0.5 * (np.log2(bpm / LEVEL_PRIOR_BPM) / LEVEL_PRIOR_OCTAVES) ** 2
    return float(on - BETWEEN_WEIGHT * between + DOWNBEAT_WEIGHT * downbeats - LEVEL_PRIOR_WEIGHT * prior)


def _between_max(activation: np.ndarray, frames: np.ndarray) -> np.ndarray:
    """The largest activation inside each interval between consecutive beats (BETWEEN_MARGIN of it and the
    peak radius left out at either end), 0 where nothing is left."""
    gaps = np.diff(frames)
    margin = np.maximum(PEAK_RADIUS + 1, (BETWEEN_MARGIN * gaps).astype(np.int64))
    starts, stops = frames[:-1] + margin, frames[1:] - margin
    inside = stops > starts
    result = np.zeros(len(gaps))
    if inside.any():
        bounds = np.c_[starts[inside], stops[inside]].ravel()  # reduceat over [start, stop) pairs
        result[inside] = np.maximum.reduceat(activation, bounds)[::2]
    return result


def _spaced(frames: np.ndarray) -> np.ndarray:
    """Increasing beat frames at least MIN_GAP_FRAMES apart (two beats snapped to one peak become one), so
    the sub-frame refinement (at most half a frame each way) keeps them in order."""
    kept: list[int] = []
    for frame in np.sort(frames).tolist():
        if not kept or frame - kept[-1] >= MIN_GAP_FRAMES:
            kept.append(frame)
    return np.asarray(kept, np.int64)


def _snap_to_peaks(frames: np.ndarray, activation: np.ndarray) -> np.ndarray:
    """Each beat moved to the largest activation within PEAK_RADIUS frames (the tempo path is smooth, the
    network's peaks are where the beats are)."""
    offsets = np.arange(-PEAK_RADIUS, PEAK_RADIUS + 1)
    index = np.clip(frames[:, None] + offsets[None, :], 0, len(activation) - 1)
    return index[np.arange(len(frames)), np.argmax(activation[index], axis=1)]


def _refined(frames: np.ndarray, activation: np.ndarray) -> np.ndarray:
    """Fractional frames: the vertex of the parabola through each peak and its two neighbours."""
    left = activation[np.maximum(frames - 1, 0)]
    right = activation[np.minimum(frames + 1, len(activation) - 1)]
    centre = activation[frames]
    curvature = left - 2 * centre + right
    shift = np.where(curvature < -1e-9, 0.5 * (left - right) / np.where(curvature < -1e-9, curvature, 1), 0)
    return frames + np.clip(shift, -0.5, 0.5)


def _extend_ends(frames: np.ndarray, beat_act: np.ndarray, bpm_frames: np.ndarray) -> np.ndarray:
    """Beats the dynamic programme leaves off either end (it cannot reach a first beat less than a period
    from the start): a clear peak about one period beyond the first or last beat is added, repeatedly."""
    if len(frames) < 2:
        return frames
    frames = list(frames)
    for step, end in ((-1, 0), (1, -1)):
        while True:
            period = 60.0 * FRAME_RATE / bpm_frames[frames[end]]
            expected = frames[end] + step * period
            lo, hi = int(expected - 0.2 * period), int(expected + 0.2 * period) + 1
            if lo < 0 or hi > len(beat_act):
                break
            peak = lo + int(np.argmax(beat_act[lo:hi]))
            if beat_act[peak] < EXTEND_PEAK:
                break
            frames.insert(len(frames) if step > 0 else 0, peak)
    return np.asarray(frames, np.int64)


def _trim_silent(frames: np.ndarray, beat_act: np.ndarray) -> np.ndarray:
    """Without the leading and trailing beats that have no activation (the tracker beats on through silence)."""
    strong = np.flatnonzero(peaks_at(beat_act, frames) >= SILENT_BEAT)
    return frames[strong[0] : strong[-1] + 1] if len(strong) else frames[:0]


def local_tempo(times: np.ndarray) -> np.ndarray:
    """BPM at each of two or more beats: 60 / the median of the inter-beat intervals around it (rests and
    fermatas do not slow it)."""
    from scipy.ndimage import median_filter

    interval = np.diff(times)
    interval = np.r_[interval, interval[-1]]
    return 60.0 / median_filter(interval, TEMPO_MEDIAN_BEATS, mode="nearest")


def _bar_states(bar_lengths: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    lengths = np.concatenate([[m] * m for m in bar_lengths])
    positions = np.concatenate([np.arange(m) for m in bar_lengths])
    return lengths, positions


def bar_transition(bar_lengths: tuple[int, ...] = BAR_LENGTHS, repeat: float | None = None) -> np.ndarray:
    """(S, S) log-probabilities between the bar model's states from one beat to the next; `repeat` is the
    probability that the beat repeats its place (BEAT_SLIP by default)."""
    lengths, positions = _bar_states(bar_lengths)
    n = len(lengths)
    advance = np.zeros((n, n))
    starts = {m: int(np.flatnonzero((lengths == m) & (positions == 0))[0]) for m in bar_lengths}
    same = 1.0 - METRE_CHANGE_PER_BAR if len(bar_lengths) > 1 else 1.0
    change = METRE_CHANGE_PER_BAR / max(1, len(bar_lengths) - 1)
    for s in range(n):
        if positions[s] < lengths[s] - 1:
            advance[s, s + 1] = 1.0
            continue
        for m, start in starts.items():
            advance[s, start] = same if m == lengths[s] else change
    # a slip stays in the bar's metre: the same place again (a beat added), or two places on (one dropped);
    # in a 2-beat bar those are one path and keep one slip's probability, lest 2 fit every slip at half price
    skip_to = np.arange(n) - positions + (positions + 2) % lengths
    repeat = BEAT_SLIP if repeat is None else repeat
    slip = np.zeros((n, n))
    slip[np.arange(n), np.arange(n)] = repeat
    slip[np.arange(n), skip_to] = np.maximum(slip[np.arange(n), skip_to], BEAT_SLIP)
    with np.errstate(divide="ignore"):
        return np.log((1.0 - repeat - BEAT_SLIP) * advance + slip)


def bar_positions(
    downbeat_ratio: np.ndarray,
    bar_lengths: tuple[int, ...] = BAR_LENGTHS,
    held: np.ndarray | None = None,
    unheard: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(position in bar, beats in bar) of each beat: the Viterbi path of the bar model, where a beat's
    `downbeat_ratio` (downbeat over beat activation, about the chance that it starts a bar) is the evidence;
    NaN where a beat gives none. `held` beats (a held chord follows) are on a strong place (HELD_WEAK);
    `unheard` ones may repeat their place (FILL_SLIP)."""
    lengths, positions = _bar_states(bar_lengths)
    p = np.clip(np.asarray(downbeat_ratio, np.float64), 0.02, 0.98)
    known = np.isfinite(p)
    # against the piece's own mean (a network unsure of every downbeat should not favour long bars), floored
    mean = float(np.clip(p[known].mean() if known.any() else 0.0, MIN_DOWNBEAT_PRIOR, 0.95))
    down, other = np.log(p / mean), np.log((1 - p) / (1 - mean))
    log_emit = np.where(positions[None, :] == 0, down[:, None], other[:, None])
    log_emit[~known] = 0.0
    if held is not None:
        strong = (positions == 0) | ((lengths == 4) & (positions == 2))
        log_emit[held] += np.where(strong, 0.0, np.log(HELD_WEAK))
    log_t, log_fill = bar_transition(bar_lengths), bar_transition(bar_lengths, FILL_SLIP)
    unheard = np.zeros(len(p), bool) if unheard is None else unheard
    score = log_emit[0] - np.log(len(lengths))  # any state first: a piece may start with a pickup
    back = np.zeros((len(p), len(lengths)), np.int16)
    for b in range(1, len(p)):
        candidates = score[:, None] + (log_fill if unheard[b] else log_t)
        back[b] = np.argmax(candidates, axis=0)
        score = candidates[back[b], np.arange(len(lengths))] + log_emit[b]
    path = np.zeros(len(p), np.int64)
    path[-1] = int(np.argmax(score))
    for b in range(len(p) - 1, 0, -1):
        path[b - 1] = back[b, path[b]]
    return positions[path], lengths[path]
