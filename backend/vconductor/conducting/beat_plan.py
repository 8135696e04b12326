"""The beats the right hand conducts, with everything it needs at each: period, gaps, pattern size and width,
ictus point and rebound height."""

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d

from . import tuning as tun
from .beat_units import conducted_units
from .motion_inputs import MusicContours, Style
from .music_analysis import MusicAnalysis
from .patterns import PATTERNS, Pattern
from .score_marks import fermata_releases, from_the_music_start, outside_fermatas
from .tuning import ConductorConfig


@dataclass
class PlannedBeats:
    times: np.ndarray  # (B,) seconds
    in_bar: np.ndarray  # (B,) position in the bar
    period: np.ndarray  # (B,) expected beat period at each beat (s)
    gap_after: np.ndarray  # (B,) bool: the beats stop after this one (fermata, rest, or the end)
    size: np.ndarray  # (B,) pattern height
    width: np.ndarray  # (B,) pattern width
    articulation: np.ndarray  # (B,) 0 legato .. 1 staccato
    ictus: np.ndarray  # (B, 2) ictus position
    rebound: np.ndarray  # (B,) arch height after the beat
    pattern: Pattern  # the piece's pattern (a bar of another length is conducted in its own: bar_patterns)
    plane_y: np.ndarray  # (B,) height of the beat plane at each beat
    lift: np.ndarray  # (B,) how far the phrase has lifted the pattern at each beat (up positive)
    centre_x: float
    stretch: np.ndarray  # (B,) how much taller than round the rebound arcs are
    release_after: np.ndarray  # (B,) a written fermata's release after this beat (NaN: none; score only)

    @property
    def runs(self) -> list[tuple[int, int]]:
        """(first, last) beat index of each run of beats without a gap."""
        ends = np.flatnonzero(self.gap_after)
        starts = np.concatenate([[0], ends[:-1] + 1])
        return list(zip(starts.tolist(), ends.tolist(), strict=True))


@dataclass
class Performance:
    """Everything the hands and the body follow: the planned beats, the music, the options, the seed's style and
    random numbers (drawn in a fixed order), and the frame times."""

    beats: PlannedBeats
    music: MusicContours
    config: ConductorConfig
    style: Style
    rng: np.random.Generator
    times: np.ndarray  # (T,) frame times in seconds
    phrase_starts_s: np.ndarray  # (P,) the analysis's phrase starts


def plan_beats(
    analysis: MusicAnalysis,
    music: MusicContours,
    config: ConductorConfig,
    style: Style,
    rng: np.random.Generator,
) -> PlannedBeats:
    """The beats of `analysis` that the right hand conducts, where and how big it beats each."""
    times, in_bar, tempo = _usable_beats(analysis, music, config, analysis.beats_per_bar)
    times, in_bar, tempo, per_bar = conducted_units(times, in_bar, tempo, analysis.beats_per_bar)
    pattern = PATTERNS[per_bar]
    period, gap_after, release_after = _periods_and_gaps(times, tempo, config, analysis)
    size = _pattern_size(music.at(music.dynamics, times), period, in_bar, config) * style.size_scale
    staccato = music.at(music.staccato, times) if music.staccato is not None else np.zeros(len(times))
    size = size * (1 - tun.STACCATO_SIZE * staccato)  # written staccato: a smaller, crisper ictus
    width = (config.width_ratio * size + 0.015) * style.width_scale
    articulation = music.at(music.articulation, times)
    plane_y = config.beat_plane_y + style.centre_shift[1] + config.beat_plane_drop * (size - config.size_soft)
    lift = _phrase_lift(times, analysis, music, config, rng)
    plane_y = plane_y - lift
    lowest = tun.LOWEST_PLANE_Y  # softly: the arm must reach the ictus without stretching flat
    plane_y = lowest - 0.02 * np.logaddexp(0, (lowest - plane_y) / 0.02)
    plane_y = tun.HIGHEST_PLANE_Y + 0.02 * np.logaddexp(0, (plane_y - tun.HIGHEST_PLANE_Y) / 0.02)
    centre_x = config.pattern_centre_x + style.centre_shift[0]
    jitter = rng.standard_normal((len(times), 3))
    jitter[:, :2] *= config.variation
    ictus_x, rebound_share = bar_patterns(in_bar, per_bar, gap_after)
    x = centre_x + (ictus_x + 0.04 * jitter[:, 0]) * width
    rebound = rebound_share * style.rebound_scale * (1 + tun.REBOUND_BREATHING * _breathing(jitter))
    rebound = rebound * size * config.energy
    rebound *= 1 + tun.STACCATO_REBOUND * articulation  # staccato flicks up a little higher ...
    rebound *= 1 - tun.STACCATO_SIZE * staccato  # ... but written staccato keeps the whole beat small
    plane_y = _room_to_rebound(plane_y, rebound)
    y = plane_y - 0.015 * jitter[:, 1] * size
    room = np.maximum(y - tun.HIGHEST_HAND_Y, 0.02)
    rebound = room * np.tanh(rebound / room)  # softly below the highest hand position
    return PlannedBeats(
        times=times,
        in_bar=in_bar,
        period=period,
        gap_after=gap_after,
        size=size,
        width=width,
        articulation=articulation,
        ictus=np.column_stack([x, y]),
        rebound=rebound,
        pattern=pattern,
        plane_y=plane_y,
        lift=lift,
        centre_x=centre_x,
        stretch=config.arc_stretch
        * (0.85 + 0.3 * articulation),  # legato rounder, staccato taller and sharper
        release_after=release_after,
    )


def _room_to_rebound(plane_y: np.ndarray, rebound: np.ndarray) -> np.ndarray:
    """The beat plane, lowered (softly) where a phrase lifted it so high that the beat's rebound would not fit
    below the highest hand position: a loud phrase lifted the plane to the shoulders and squashed its big
    beats flat (a written p -> f made each beat's path no longer); loud beats rise high from a plane that
    stays at the chest. Never below LOWEST_PLANE_Y."""
    floor = np.minimum(tun.HIGHEST_HAND_Y + tun.REBOUND_ROOM * rebound, tun.LOWEST_PLANE_Y)
    return floor + 0.02 * np.logaddexp(0, (plane_y - floor) / 0.02)


def _periods_and_gaps(times: np.ndarray, tempo: np.ndarray, config: ConductorConfig, analysis: MusicAnalysis):
    """Each beat's expected period, whether the beats stop after it (a gap, or a written fermata even where
    the beats run on), and the written release after it (NaN: none)."""
    intervals = np.diff(times)
    fallback = float(np.median(intervals)) if len(intervals) else 0.6
    period = np.where(np.isfinite(tempo) & (tempo > 20), 60.0 / np.maximum(tempo, 1e-6), fallback)
    period = np.clip(period, 0.2, 2.0)
    gap_after = np.ones(len(times), dtype=bool)
    gap_after[:-1] = intervals > config.gap_factor * np.maximum(period[:-1], period[1:])
    release_after = fermata_releases(times, analysis.score)
    return period, gap_after | np.isfinite(release_after), release_after


def _usable_beats(analysis: MusicAnalysis, music: MusicContours, config: ConductorConfig, per_bar: int):
    """Beat times, positions in the bar and tempi, without beats in long rests, duplicates or beats out of
    order."""
    times = np.asarray(analysis.beats_s, dtype=float)
    in_bar = np.asarray(analysis.beat_in_bar, dtype=int)
    in_bar = in_pattern(in_bar, per_bar) if len(in_bar) == len(times) else np.arange(len(times)) % per_bar
    tempo = np.asarray(analysis.tempo_bpm, dtype=float)
    tempo = tempo if len(tempo) == len(times) else np.full(len(times), np.nan)
    keep = np.isfinite(times) & ~in_long_rest(times, music, config.rest_min_s)
    if analysis.score is not None:
        keep &= outside_fermatas(np.nan_to_num(times), analysis.score)
        keep &= from_the_music_start(np.nan_to_num(times), analysis.score)
    keep[1:] &= np.diff(times) > tun.MIN_BEAT_INTERVAL_S
    return times[keep], in_bar[keep], tempo[keep]


def in_pattern(in_bar: np.ndarray, per_bar: int) -> np.ndarray:
    """Each beat's place in the pattern of `per_bar` beats: its place in the bar, modulo the pattern (a bar of
    twice the pattern's beats is two patterns). A longer bar that is no multiple of it (an overfull bar in a
    score, a 5/4 bar among 4/4 ones in a beat file) repeats the beat before its last for the extra beats, and
    its last beat still goes up: 4/4's pattern gives five beats down, in, out, out, up (it restarted at the
    fifth: two downbeats in a row)."""
    in_bar = np.asarray(in_bar, int)
    if len(in_bar) == 0:
        return in_bar
    bar = np.cumsum(np.r_[True, in_bar[1:] <= in_bar[:-1]]) - 1
    beats_in_bar = np.bincount(bar, minlength=bar[-1] + 1)[bar]
    longer = (in_bar.max() + 1 > per_bar) & (beats_in_bar > per_bar) & (beats_in_bar % per_bar != 0)
    last = np.r_[bar[1:] != bar[:-1], True]
    extra = np.where(last, per_bar - 1, np.minimum(in_bar, max(per_bar - 2, 0)))
    return np.where(longer & (in_bar >= per_bar - 1), extra, in_bar % per_bar)


def bar_patterns(
    in_bar: np.ndarray, per_bar: int, gap_after: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Each beat's ictus place across the plane (pattern widths) and rebound (pattern sizes). A whole bar of
    another length than the piece's `per_bar` (the tracker's or the score's metre changes: a 3/4 bar among 4/4
    ones) is conducted in its own pattern, so the beat before every downbeat is an upbeat. Pickups, the last
    bar, bars no pattern fits (five beats) and bars the beats stop in (`gap_after`: its other beats are in a
    rest, not missing) keep the piece's pattern (`in_bar` as `in_pattern` gives it)."""
    main = PATTERNS[per_bar]
    x, rebound = np.take(main.ictus_x, in_bar), np.take(main.rebound, in_bar)
    starts = np.flatnonzero(in_bar == 0)
    for start, end in zip(starts[:-1], starts[1:], strict=True):
        own = PATTERNS.get(end - start)
        whole = gap_after is None or not gap_after[start:end].any()
        if end - start > 1 and end - start != per_bar and own is not None and whole:
            x[start:end], rebound[start:end] = own.ictus_x, own.rebound
    return x, rebound


def _pattern_size(dynamics: np.ndarray, period: np.ndarray, in_bar: np.ndarray, config: ConductorConfig):
    """Pattern height at each beat: louder is bigger, fast beats are small beats (no whipping about), downbeats
    a little bigger."""
    size = config.size_soft + (config.size_loud - config.size_soft) * dynamics
    size = np.minimum(size, config.size_per_second * period)
    if len(size):
        size = gaussian_filter1d(size * np.where(in_bar == 0, tun.DOWNBEAT_SIZE, 1.0), 0.8, mode="nearest")
    return size


def _phrase_lift(
    times: np.ndarray, analysis: MusicAnalysis, music: MusicContours, config: ConductorConfig, rng
) -> np.ndarray:
    """How far the whole pattern rises at each beat: an arc over each phrase (up towards its middle, settling at
    its end), bigger in loud phrases, plus a slow seeded wander: the pattern lives at more than one height."""
    if len(times) == 0:
        return np.zeros(0)
    edges = np.concatenate([[times[0]], np.asarray(analysis.phrase_starts_s, float), [times[-1] + 1e-6]])
    edges = np.unique(edges[(edges >= times[0]) & (edges <= times[-1] + 1e-6)])
    phrase = np.clip(np.searchsorted(edges, times, "right") - 1, 0, len(edges) - 2)
    start, end = edges[phrase], edges[np.minimum(phrase + 1, len(edges) - 1)]
    u = np.clip((times - start) / np.maximum(end - start, 1e-6), 0, 1)
    arc = (
        np.sin(np.pi * u) ** 1.5 - 0.45
    )  # about zero-mean: the phrase ends lower than the plane, its middle above
    wander = gaussian_filter1d(rng.standard_normal(len(times) + 32), 8.0, mode="wrap")[: len(times)]
    wander /= max(float(np.std(wander)), 1e-9)
    dynamics = music.at(music.dynamics, times)
    wander = wander * 0.3 * config.phrase_lift * config.variation * (0.1 + 0.9 * dynamics)
    lift = config.phrase_lift * dynamics * arc + wander
    return gaussian_filter1d(lift, 1.0, mode="nearest")


def _breathing(jitter: np.ndarray) -> np.ndarray:
    """Rebound heights breathe from beat to beat (smoothly, over about two beats): livelier than a machine, and
    it keeps each beat, not each bar, the strongest repetition in the vertical motion."""
    breathing = gaussian_filter1d(jitter[:, 2], 1.2, mode="nearest") if len(jitter) > 1 else jitter[:, 2]
    return breathing / max(float(np.std(breathing)), 1e-9) if len(jitter) > 2 else 0 * breathing


def in_long_rest(times: np.ndarray, music: MusicContours, min_s: float) -> np.ndarray:
    """Which beats fall inside a silent run of at least `min_s` seconds."""
    edges = np.diff(np.concatenate([[0], music.silent.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if len(starts) == 0:
        return np.zeros(len(times), bool)
    frames = np.round(np.nan_to_num(times) * music.fps).astype(int)
    run = np.maximum(np.searchsorted(starts, frames, side="right") - 1, 0)
    long_enough = ends[run] - starts[run] >= min_s * music.fps
    return (frames >= starts[run]) & (frames < ends[run]) & long_enough
