"""The procedural conductor: a music analysis in, conducting keypoints out, the way conducting is taught.

The right (baton) hand draws the textbook beat pattern of the metre (2: down, up; 3: down, out, up; 4: down,
in, out, up; 6/8: the German six). Every beat is an ictus on a beat plane in front of the lower chest; between
two ictuses the hand rises along an arc (the rebound) and falls into the next beat. Each arc is walked at a
speed that is zero at both ends and has a single maximum between, so the hand is lowest AND slowest exactly at
every beat and never slow anywhere else, and its velocity is continuous (zero where arcs meet). Each piece is
parameterised by its own duration, so tempo changes and ritardandi just work.

Loudness sets the pattern size; articulation the speed profile (legato eases in and out of the ictus,
staccato stops and leaves abruptly) and the shape of the arcs (rounder for legato). Gaps in the beats become
fermatas, releases (cut-offs) and rests, with a preparatory beat before every entry. The left hand mirrors the
right in loud passages and otherwise rests, lifts with crescendos and cues entries; the head nods with the
downbeats and turns to cues, the shoulders dip and sway with the beat. The arms are solved in 3D and drawn
in orthographic projection: each hand works at a depth in front of the shoulders (furthest at the beat plane),
a 3D two-link inverse kinematics with a hanging elbow places the elbow, so the 3D bone lengths are constant and
the arms foreshorten in the image the way a real conductor's do.

Everything is in the official coordinates of ``vconductor.skeleton`` (y down, the conductor faces the camera,
shoulder width 0.2, time-mean hip centre (0.5, 0.75)). Work is vectorised over frames and beats; only the few
gaps between runs of beats and the left-hand cues go through Python loops.
"""

from dataclasses import dataclass

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.special import betainc

from .analysis import MusicAnalysis
from .skeleton import JOINT, NUM_JOINTS

# Body layout (y down). Hips and shoulders centred on x = 0.5, the conductor's left at larger x.
HIP_CENTRE = np.array([0.5, 0.75])
HIP_HALF_WIDTH = 0.065
SHOULDER_CENTRE = np.array([0.5, 0.45])  # 0.30 above the hips
SHOULDER_HALF_WIDTH = 0.10
NOSE_ABOVE_SHOULDERS = 0.095
FACE = {  # offsets from the nose; the face moves rigidly with it
    "left_eye": (0.021, -0.022),
    "right_eye": (-0.021, -0.022),
    "left_ear": (0.047, -0.016),
    "right_ear": (-0.047, -0.016),
}
RIGHT_REST = np.array([0.375, 0.63])  # relaxed, hands low and a little forward; the left rest is its mirror
LEFT_IDLE = np.array([0.64, 0.63])  # the unoccupied left hand, in front of the waist
LEFT_CUE = np.array([0.685, 0.565])  # raised and pointing out to the conductor's left


@dataclass(frozen=True)
class ConductorConfig:
    size_soft: float = 0.04  # pattern height (how high the hand rebounds) at silence, image units
    size_loud: float = 0.11  # ... and at full loudness
    size_per_second: float = 0.2  # at most this much pattern height per second of beat period
    width_ratio: float = 1.4  # pattern width per unit of height
    arc_stretch: float = 1.6  # rebound arcs are this much taller than circular ones
    loudness_smoothing_s: float = 0.6  # size follows loudness smoothed over about this long
    beat_plane_y: float = 0.59  # height of the ictus points for the smallest pattern: the lower chest
    beat_plane_drop: float = 0.5  # the plane sinks by this much per unit of pattern size (big beats go lower)
    pattern_centre_x: float = 0.42  # in front of the right half of the chest
    gap_factor: float = 1.75  # a beat interval this many expected periods long is a fermata or a rest
    rest_min_s: float = 2.0  # beats inside a silence at least this long are not conducted: the hands hold
    left_mirror_loudness: float = 0.6  # smoothed loudness above which the left hand mirrors the right
    left_blend_s: float = 1.0  # how long the left hand takes to join or leave the mirroring
    left_cues: bool = True  # cue entries (phrase starts, strong onsets after quiet) with the left hand
    left_cue_spacing_s: float = 4.0  # at most one cue per this many seconds
    left_lift: float = 0.12  # how far a crescendo lifts the free left hand
    head_motion: float = 1.0  # scales nods, sway and turns of the head
    torso_motion: float = 1.0  # scales shoulder bob and sway
    variation: float = 1.0  # scales the seed-dependent variation of the performance
    # 3D bone lengths (the image shows their projections). Shorter than the default Blender rig's arm relative
    # to the shoulders, so that the add-on lifts even a fully projected arm at the rig's natural scale.
    upper_arm: float = 0.14
    forearm: float = 0.125  # elbow to wrist
    hand_depth: float = 0.15  # how far in front of the shoulders' plane the hand works at the beat plane
    hand_depth_fall: float = 5.0  # ... nearer by this times the squared height above or below the plane
    hand_depth_per_size: float = 0.3  # ... further by this much per unit of pattern size above the softest
    elbow_out: float = 1.0  # the elbow hangs: its pole is down (1), this much outwards ...
    elbow_back: float = 0.25  # ... and this much backwards


@dataclass(frozen=True)
class Pattern:
    """A beat pattern for the right hand, per beat of the bar: where each ictus lies across the beat plane (in
    pattern widths, positive towards the body's midline, "in"), and how high the hand rebounds after it (in
    pattern sizes: nearly even, so that every beat reads as one bounce; the upbeat a little higher)."""

    ictus_x: tuple[float, ...]
    rebound: tuple[float, ...]


PATTERNS = {
    2: Pattern((0.0, -0.4), (1.0, 1.1)),  # down, up
    3: Pattern((0.0, -0.75, -0.2), (1.0, 1.0, 1.1)),  # down, out, up
    4: Pattern((0.0, 0.2, -0.75, -0.2), (1.0, 1.0, 1.0, 1.1)),  # down, in, out, up
    6: Pattern((0.0, 0.12, 0.24, -0.4, -0.75, -0.2), (1.0, 1.0, 1.0, 1.0, 1.0, 1.1)),  # German six
}
REBOUND_BREATHING = 0.2  # relative beat-to-beat variation of the rebound height
HOLD_S = 0.8  # a still moment (before a preparation, after a release) lasts at least this long
ARC_SAMPLES = 24  # intervals per piece in the table that maps arc length to position
SPEED_FIX_PASSES = 6  # rounds of _sampled_speed_fix


def conduct(
    analysis: MusicAnalysis, num_frames: int, seed: int = 0, config: ConductorConfig | None = None
) -> np.ndarray:
    """Conducting motion for `analysis`: float32 (num_frames, 13, 2) keypoints at the analysis frame rate.

    Deterministic for a seed; other seeds vary the size, shape and timing details, not the style.
    """
    cfg = config or ConductorConfig()
    if num_frames <= 0:
        return np.zeros((0, NUM_JOINTS, 2), np.float32)
    rng = np.random.default_rng(seed)
    style = _Style.draw(rng, cfg)
    music = _Music.of(analysis, num_frames, cfg)
    beats = _plan_beats(analysis, music, cfg, style, rng)
    times = np.arange(num_frames) / music.fps

    right = _evaluate(_right_hand_segments(beats, music), times)
    mirror_weight = _mirror_weight(beats, music, cfg, times)
    cue_times = _cue_times(analysis, music, beats, mirror_weight, cfg, rng) if cfg.left_cues else np.zeros(0)
    cue = _cue_envelope(cue_times, times)
    left = _left_hand(right, mirror_weight, cue, music, cfg, rng, times)
    keypoints = _body(right, left, cue, beats, music, cfg, style, rng, times)
    keypoints += HIP_CENTRE - keypoints[:, [JOINT["left_hip"], JOINT["right_hip"]]].mean(axis=(0, 1))
    return keypoints.astype(np.float32)


# --- inputs ------------------------------------------------------------------------------------------------------


@dataclass
class _Style:
    """The seed's personal touch: small, fixed deviations from the textbook."""

    size_scale: float
    width_scale: float
    centre_shift: np.ndarray
    rebound_scale: float
    nod_scale: float
    breath_hz: float
    breath_phase: float

    @classmethod
    def draw(cls, rng: np.random.Generator, cfg: ConductorConfig) -> "_Style":
        v = cfg.variation
        n = np.clip(rng.standard_normal(7), -2, 2)
        return cls(
            size_scale=1 + 0.07 * v * n[0],
            width_scale=1 + 0.07 * v * n[1],
            centre_shift=0.006 * v * n[2:4],
            rebound_scale=1 + 0.06 * v * n[4],
            nod_scale=1 + 0.25 * v * n[5],
            breath_hz=0.22 + 0.03 * v * n[6],
            breath_phase=rng.uniform(0, 2 * np.pi),
        )


@dataclass
class _Music:
    """The analysis contours cut or padded to the motion length, with the smoothed versions the motion follows."""

    fps: float
    duration_s: float
    loudness: np.ndarray  # smoothed, [0, 1]
    articulation: np.ndarray  # smoothed, [0, 1]
    raw_loudness: np.ndarray
    onset: np.ndarray
    silent: np.ndarray

    @classmethod
    def of(cls, analysis: MusicAnalysis, num_frames: int, cfg: ConductorConfig) -> "_Music":
        fps = float(analysis.frame_rate)
        loud = np.clip(_fit(analysis.loudness, num_frames, 0.0), 0, 1)
        artic = np.clip(_fit(analysis.articulation, num_frames, 0.5), 0, 1)
        return cls(
            fps=fps,
            duration_s=float(analysis.duration_s),
            loudness=gaussian_filter1d(loud, cfg.loudness_smoothing_s / 2 * fps, mode="nearest"),
            articulation=gaussian_filter1d(artic, 0.15 * fps, mode="nearest"),
            raw_loudness=loud,
            onset=np.clip(_fit(analysis.onset_strength, num_frames, 0.0), 0, 1),
            silent=_fit(analysis.silent, num_frames, False).astype(bool),
        )

    def at(self, contour: np.ndarray, times_s: np.ndarray) -> np.ndarray:
        frames = np.clip(np.round(np.asarray(times_s) * self.fps).astype(int), 0, len(contour) - 1)
        return contour[frames]


def _fit(contour, num_frames: int, fill) -> np.ndarray:
    """`contour` cut or edge-padded to `num_frames` (`fill` when it is empty)."""
    x = np.asarray(contour)
    if len(x) == 0:
        return np.full(num_frames, fill, dtype=np.asarray(fill).dtype if isinstance(fill, bool) else float)
    x = x[:num_frames].astype(float) if x.dtype != bool else x[:num_frames]
    return np.concatenate([x, np.repeat(x[-1:], num_frames - len(x))])


@dataclass
class _Beats:
    """The beats that are conducted, with everything the right hand needs at each."""

    t: np.ndarray  # (B,) seconds
    pos: np.ndarray  # (B,) position in the bar
    period: np.ndarray  # (B,) expected beat period at each beat (s)
    gap_after: np.ndarray  # (B,) bool: the beats stop after this one (fermata, rest, or the end)
    size: np.ndarray  # (B,) pattern height
    width: np.ndarray  # (B,) pattern width
    artic: np.ndarray  # (B,) articulation, 0 legato .. 1 staccato
    point: np.ndarray  # (B, 2) ictus position
    rebound: np.ndarray  # (B,) arch height after the beat
    pattern: Pattern
    plane: np.ndarray  # (B,) height of the beat plane at each beat
    centre_x: float
    stretch: np.ndarray  # (B,) how much taller than round the rebound arcs are

    @property
    def runs(self) -> list[tuple[int, int]]:
        """(first, last) beat index of each run of beats without a gap."""
        ends = np.flatnonzero(self.gap_after)
        starts = np.concatenate([[0], ends[:-1] + 1])
        return list(zip(starts.tolist(), ends.tolist(), strict=True))


def _plan_beats(
    analysis: MusicAnalysis, music: _Music, cfg: ConductorConfig, style: _Style, rng: np.random.Generator
) -> _Beats:
    pattern = PATTERNS[analysis.beats_per_bar]
    n = len(pattern.ictus_x)
    t = np.asarray(analysis.beats_s, dtype=float)
    pos = np.asarray(analysis.beat_in_bar, dtype=int)
    pos = (pos if len(pos) == len(t) else np.arange(len(t))) % n
    tempo = np.asarray(analysis.tempo_bpm, dtype=float)
    tempo = tempo if len(tempo) == len(t) else np.full(len(t), np.nan)
    keep = np.isfinite(t) & ~_in_long_rest(t, music, cfg.rest_min_s)
    keep[1:] &= np.diff(t) > 0.1  # drop duplicates and beats out of order
    t, pos, tempo = t[keep], pos[keep], tempo[keep]

    diffs = np.diff(t)
    fallback = float(np.median(diffs)) if len(diffs) else 0.6
    period = np.where(np.isfinite(tempo) & (tempo > 20), 60.0 / np.maximum(tempo, 1e-6), fallback)
    period = np.clip(period, 0.2, 2.0)
    gap_after = np.ones(len(t), dtype=bool)
    gap_after[:-1] = diffs > cfg.gap_factor * np.maximum(period[:-1], period[1:])

    loud = music.at(music.loudness, t)
    size = cfg.size_soft + (cfg.size_loud - cfg.size_soft) * loud
    size = np.minimum(size, cfg.size_per_second * period)  # fast beats are small beats: no whipping about
    size = gaussian_filter1d(size * np.where(pos == 0, 1.06, 1.0), 0.8, mode="nearest") if len(t) else size
    size = size * style.size_scale
    width = (cfg.width_ratio * size + 0.015) * style.width_scale
    artic = music.at(music.articulation, t)

    plane = cfg.beat_plane_y + style.centre_shift[1] + cfg.beat_plane_drop * (size - cfg.size_soft)
    centre_x = cfg.pattern_centre_x + style.centre_shift[0]
    jitter = rng.standard_normal((len(t), 3))
    jitter[:, :2] *= cfg.variation
    x = centre_x + (np.take(pattern.ictus_x, pos) + 0.04 * jitter[:, 0]) * width
    y = plane - 0.015 * jitter[:, 1] * size
    # Rebound heights breathe from beat to beat (smoothly, over about two beats): livelier than a machine, and
    # it keeps each beat, not each bar, the strongest repetition in the vertical motion.
    breathing = gaussian_filter1d(jitter[:, 2], 1.2, mode="nearest") if len(t) > 1 else jitter[:, 2]
    breathing = breathing / max(float(np.std(breathing)), 1e-9) if len(t) > 2 else 0 * breathing
    rebound = np.take(pattern.rebound, pos) * style.rebound_scale * (1 + REBOUND_BREATHING * breathing) * size
    rebound *= 1 + 0.12 * artic  # staccato flicks up a little higher
    return _Beats(
        t=t,
        pos=pos,
        period=period,
        gap_after=gap_after,
        size=size,
        width=width,
        artic=artic,
        point=np.column_stack([x, y]),
        rebound=rebound,
        pattern=pattern,
        plane=plane,
        centre_x=centre_x,
        stretch=cfg.arc_stretch * (0.85 + 0.3 * artic),  # legato rounder, staccato taller and sharper
    )


def _in_long_rest(t: np.ndarray, music: _Music, min_s: float) -> np.ndarray:
    """Which beats fall inside a silent run of at least `min_s` seconds."""
    edges = np.diff(np.concatenate([[0], music.silent.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    if len(starts) == 0:
        return np.zeros(len(t), bool)
    frames = np.round(np.nan_to_num(t) * music.fps).astype(int)
    run = np.maximum(np.searchsorted(starts, frames, side="right") - 1, 0)
    return (frames >= starts[run]) & (frames < ends[run]) & (ends[run] - starts[run] >= min_s * music.fps)


# --- right hand: arcs walked with a stop at each end --------------------------------------------------------------


@dataclass
class _Segments:
    """Pieces of a wrist path. Piece i runs from p0[i] at t0[i] to p1[i] at t1[i] along an arc: a circle through
    both ends in a frame stretched `stretch[i]` times vertically (so an upright ellipse), bulging `bulge[i]` from
    the chord (signed: positive is up for a chord pointing to image-right). It is walked at a speed proportional
    to u^c (1-u)^c at phase u (c = `sharp`): zero at both ends, one maximum between. Between pieces the hand
    holds still.

    Arcs turn smoothly (no corners), so sampled at 30 fps the measured speed keeps the designed single maximum;
    where a turn would still dent it, _sampled_speed_fix evens it out."""

    t0: np.ndarray
    t1: np.ndarray
    p0: np.ndarray  # (N, 2)
    p1: np.ndarray  # (N, 2)
    bulge: np.ndarray
    level: np.ndarray  # bool: the arc rises from a level chord (beats), else from the chord itself (moves)
    stretch: np.ndarray
    sharp: np.ndarray

    FIELDS = ("t0", "t1", "p0", "p1", "bulge", "level", "stretch", "sharp")

    @classmethod
    def concat(cls, parts: list["_Segments"]) -> "_Segments":
        joined = [np.concatenate([getattr(p, f) for p in parts]) for f in cls.FIELDS]
        order = np.argsort(joined[0], kind="stable")
        return cls(*(x[order] for x in joined))


def _segment(t0, t1, p0, p1, bulge=0.0, sharp=1.3, level=False, stretch=1.0) -> _Segments:
    """One piece as a _Segments of length 1."""
    seg = _Segments(*(np.array([x], dtype=float) for x in (t0, t1, p0, p1, bulge, level, stretch, sharp)))
    seg.level = seg.level.astype(bool)
    return seg


def _sharpness(artic: np.ndarray) -> np.ndarray:
    """Legato eases in and out of the ictus (a smooth bell of speed); staccato stops and leaves abruptly."""
    return 1.1 - 0.6 * artic


def _beat_arcs(beats: _Beats, i: np.ndarray, j: np.ndarray, t0: np.ndarray) -> _Segments:
    """Arcs from beat i's ictus to beat j's ictus, rising by beat i's rebound."""
    start, end = beats.point[i], beats.point[j]
    bulge = np.where(end[:, 0] >= start[:, 0], 1.0, -1.0) * beats.rebound[i]
    # Tall arcs over a short chord close into loops; those stay round (a narrow one would whip round its top).
    wide = np.clip(np.abs(end[:, 0] - start[:, 0]) / np.maximum(beats.rebound[i], 1e-9), 0.0, 1.0)
    stretch = 1.0 + (beats.stretch[i] - 1.0) * (0.5 + 0.5 * wide)
    level = np.ones(len(i), bool)
    return _Segments(t0, beats.t[j], start, end, bulge, level, stretch, _sharpness(beats.artic[i]))


def _right_hand_segments(beats: _Beats, music: _Music) -> _Segments:
    if len(beats.t) == 0:
        return _segment(0.0, 1.0, RIGHT_REST, RIGHT_REST)
    i = np.flatnonzero(~beats.gap_after)
    parts = [_beat_arcs(beats, i, i + 1, beats.t[i])]
    runs = beats.runs
    parts += _entry(beats, runs[0][0], RIGHT_REST, 0.0)
    for (_, last), (first, _) in zip(runs[:-1], runs[1:], strict=True):
        parts += _gap(beats, last, first, music)
    parts += _ending(beats, runs[-1][1], music)
    return _Segments.concat(parts)


def _ready_point(beats: _Beats, first: int) -> np.ndarray:
    """Where the hand waits before an entry: at the ictus of the beat before it in the pattern."""
    k = (beats.pos[first] - 1) % len(beats.pattern.ictus_x)
    x = beats.centre_x + beats.pattern.ictus_x[k] * beats.width[first]
    return np.array([x, beats.plane[first]])


def _preparation(beats: _Beats, first: int, start: np.ndarray, t0: float) -> _Segments:
    """The preparatory beat: from `start`, a breath-like rebound that falls into the first ictus, in tempo
    (from a raised hand, as after a fermata, a plain drop into the beat)."""
    end = beats.point[first]
    rise = beats.rebound[first] * beats.pattern.rebound[-1]
    level = start[1] >= end[1] - 0.3 * rise
    if not level:
        rise = 0.2 * np.linalg.norm(end - start)
    bulge = rise if end[0] >= start[0] else -rise
    stretch = beats.stretch[first] if level else 1.0
    return _segment(t0, beats.t[first], start, end, bulge, sharp=1.2, level=level, stretch=stretch)


def _entry(beats: _Beats, first: int, held: np.ndarray, free_from: float) -> list[_Segments]:
    """Raise the hand from `held` (still since `free_from`) to the ready position, hold, then prepare."""
    t_first = beats.t[first]
    prep = min(beats.period[first], max(t_first - free_from - 0.05, 0.05))
    prep_start = t_first - prep
    ready = _ready_point(beats, first)
    room = prep_start - free_from
    if room < 0.5:  # no time to settle at a ready position: prepare straight from where the hand is
        return [_preparation(beats, first, held, prep_start)]
    hold = HOLD_S if room >= HOLD_S + 0.6 else 0.0
    rise = min(1.3, room - hold)
    bow = 0.15 * np.linalg.norm(ready - held)  # out a little on the way up
    move = _segment(prep_start - hold - rise, prep_start - hold, held, ready, bow, sharp=1.4)
    return [move, _preparation(beats, first, ready, prep_start)]


def _sustain(beats: _Beats, last: int, duration: float) -> tuple[_Segments, np.ndarray]:
    """After the last beat of a run, rebound up into a held position (a fermata, or before a release)."""
    p = beats.point[last]
    up = max(0.9 * beats.rebound[last], 0.05)
    held = np.array([0.5 * p[0] + 0.5 * beats.centre_x - 0.1 * beats.width[last], p[1] - up])
    bow = 0.15 * np.linalg.norm(held - p)
    return _segment(beats.t[last], beats.t[last] + duration, p, held, bow, sharp=0.9), held


def _cutoff(end_time: float, held: np.ndarray, size: float, duration: float) -> tuple[_Segments, np.ndarray]:
    """The release: a small loop out and round that closes with a click at `end_time`."""
    r = max(0.4 * size, 0.035)
    close = held + [0.3 * r, 0.8 * r]
    loop = -1.0 * np.linalg.norm(close - held)  # negative: the loop swings out (image left) first
    return _segment(end_time - duration, end_time, held, close, loop, sharp=0.8), close


def _release_time(music: _Music, after: float, before: float) -> float | None:
    """The first silent moment in (after, before), if any."""
    lo, hi = max(int(np.ceil(after * music.fps)), 0), max(int(np.floor(before * music.fps)), 0)
    hits = np.flatnonzero(music.silent[lo:hi])
    return (lo + hits[0]) / music.fps if len(hits) else None


def _gap(beats: _Beats, last: int, first: int, music: _Music) -> list[_Segments]:
    """Beats stop and resume: sustain (fermata); release at the first silence; rest at ready; prepare."""
    gap = beats.t[first] - beats.t[last]
    sustain_s = min(beats.period[last], 0.7, 0.3 * gap)
    prep_s = min(beats.period[first], 0.35 * gap)
    up, held = _sustain(beats, last, sustain_s)
    cut_s = float(np.clip(0.6 * beats.period[last], 0.3, 0.5))
    earliest = beats.t[last] + sustain_s + 0.2 + cut_s
    latest = beats.t[first] - prep_s - 0.1
    release = _release_time(music, beats.t[last] + 0.1, latest)
    if release is None or latest < earliest:  # a fermata straight into the next entry
        return [up, _preparation(beats, first, held, beats.t[first] - prep_s)]
    release = max(release, earliest)
    cut, closed = _cutoff(release, held, beats.size[last], cut_s)
    return [up, cut, *_entry(beats, first, closed, release + HOLD_S)]


def _ending(beats: _Beats, last: int, music: _Music) -> list[_Segments]:
    """After the final beat: sustain, release when the sound stops, then lower the hands to rest."""
    sustain_s = min(beats.period[last], 0.7)
    up, held = _sustain(beats, last, sustain_s)
    cut_s = float(np.clip(0.6 * beats.period[last], 0.3, 0.5))
    earliest = beats.t[last] + sustain_s + 0.2 + cut_s
    end_of_music = min(music.duration_s, len(music.silent) / music.fps)
    release = _release_time(music, beats.t[last] + 0.1, end_of_music)
    release = max(release if release is not None else end_of_music, earliest)
    cut, closed = _cutoff(release, held, beats.size[last], cut_s)
    bow = -0.1 * np.linalg.norm(RIGHT_REST - closed)
    lower = _segment(release + HOLD_S, release + HOLD_S + 1.6, closed, RIGHT_REST, bow, sharp=1.4)
    return [up, cut, lower]


def _arc_points(seg: _Segments, frac: np.ndarray) -> np.ndarray:
    """Points (N, K, 2) at fractions (N, K) of each piece's turning angle."""
    stretch = seg.stretch[:, None]
    level = seg.level[:, None]
    y0, y1 = seg.p0[:, 1:], seg.p1[:, 1:]
    # A level arc is built on a horizontal chord and then tilted by a smooth step (flat at both ends), so it
    # leaves and enters its ends exactly as a level one would: straight up and straight down onto the beat.
    p0 = np.stack([seg.p0[:, 0], np.where(seg.level, 0.0, seg.p0[:, 1]) / seg.stretch], axis=1)[:, None]
    p1 = np.stack([seg.p1[:, 0], np.where(seg.level, 0.0, seg.p1[:, 1]) / seg.stretch], axis=1)[:, None]
    chord = p1 - p0
    length = np.linalg.norm(chord, axis=-1)
    along = np.where(length[..., None] > 1e-12, chord / np.maximum(length, 1e-12)[..., None], [1.0, 0.0])
    normal = np.stack([along[..., 1], -along[..., 0]], axis=-1)
    # The circle through both ends rising h above the chord's middle: radius r, turning angle theta.
    h = np.maximum(np.abs(seg.bulge[:, None]) / stretch, 1e-9)
    radius = (length**2 + 4 * h**2) / (8 * h)
    psi = 4 * np.arctan2(2 * h, length) * (frac - 0.5)
    u = radius * np.sin(psi)
    v = h - 2 * radius * np.sin(psi / 2) ** 2
    straight = np.abs(seg.bulge[:, None]) < 1e-7  # a straight line, or a hold
    u = np.where(straight, (frac - 0.5) * length, u)
    v = np.where(straight, 0.0, v) * np.sign(seg.bulge[:, None])
    pos = p0 + along * (length / 2 + u)[..., None] + normal * v[..., None]
    pos[..., 1] *= stretch
    pos[..., 1] += np.where(level, y0 + (y1 - y0) * frac * frac * (3 - 2 * frac), 0.0)
    return pos


def _evaluate(seg: _Segments, times: np.ndarray) -> np.ndarray:
    """Wrist positions (T, 2) at `times`: on the piece in progress, else held at the last piece's end."""
    j = np.clip(np.searchsorted(seg.t0, times, side="right") - 1, 0, len(seg.t0) - 1)
    span = np.maximum(seg.t1[j] - seg.t0[j], 1e-9)
    u = np.clip((times - seg.t0[j]) / span, 0.0, 1.0)
    c = seg.sharp[j]
    walked = betainc(c + 1, c + 1, u)  # the fraction of the arc's length walked
    table = _arc_length_table(seg)
    picked = _Segments(*(getattr(seg, f)[j] for f in _Segments.FIELDS))
    for _ in range(SPEED_FIX_PASSES):
        pos = _arc_points(picked, _angle_at(table, j, walked)[:, None])[:, 0]
        walked = _sampled_speed_fix(j, walked, pos)
    return _arc_points(picked, _angle_at(table, j, walked)[:, None])[:, 0]


def _angle_at(table, j: np.ndarray, walked: np.ndarray) -> np.ndarray:
    """Angle fraction of piece j at arc-length fraction `walked`: cubic Hermite with exact slopes, so the speed
    it gives has no ripples."""
    knots, values, slopes = table
    rows = knots[j]
    k = np.clip((rows < walked[:, None]).sum(axis=1) - 1, 0, ARC_SAMPLES - 1)
    lo, hi = np.take_along_axis(rows, k[:, None], 1)[:, 0], np.take_along_axis(rows, k[:, None] + 1, 1)[:, 0]
    width = np.maximum(hi - lo, 1e-12)
    t = np.clip((walked - lo) / width, 0.0, 1.0)
    t2, t3 = t * t, t * t * t
    m0 = np.take_along_axis(slopes[j], k[:, None], 1)[:, 0]
    m1 = np.take_along_axis(slopes[j], k[:, None] + 1, 1)[:, 0]
    angle = (2 * t3 - 3 * t2 + 1) * values[k] + (3 * t2 - 2 * t3) * values[k + 1]
    angle += ((t3 - 2 * t2 + t) * m0 + (t3 - t2) * m1) * width
    return np.where(walked >= 1, 1.0, np.where(walked <= 0, 0.0, np.clip(angle, 0.0, 1.0)))


def _sampled_speed_fix(j: np.ndarray, walked: np.ndarray, pos: np.ndarray) -> np.ndarray:
    """Re-space the frames along each piece so that the speed measured from them follows the designed profile.

    At 30 fps the chord between a frame's neighbours (a central-difference speed) is shorter than the arc
    walked wherever the path turns, which would dent the speed over the top of a rebound and read as an extra
    beat. Frames on the turn move a little further apart, the others a little closer; each piece's frames keep
    their first and last places.
    """
    n = len(j)
    same = j[1:] == j[:-1]
    inside = np.zeros(n, bool)
    inside[1:-1] = same[:-1] & same[1:]
    arc_len = np.zeros(n)
    chord = np.zeros(n)
    step = np.linalg.norm(np.diff(pos, axis=0), axis=1)
    arc_len[1:-1] = step[:-1] + step[1:]
    chord[1:-1] = np.linalg.norm(pos[2:] - pos[:-2], axis=1)
    ratio = np.where(inside & (chord > 1e-12), arc_len / np.maximum(chord, 1e-12), 1.0)
    ratio = np.clip(ratio, 1.0, 1.1)  # small corrections only: a tight loop at speed is beyond any fix
    dw = np.diff(walked)
    new_dw = np.where(same, dw * (ratio[1:] + ratio[:-1]) / 2, 0.0)
    old_total = np.bincount(j[:-1], np.where(same, dw, 0.0), minlength=j.max() + 1)
    new_total = np.bincount(j[:-1], new_dw, minlength=j.max() + 1)
    new_dw *= np.where(same, old_total[j[:-1]] / np.maximum(new_total[j[:-1]], 1e-15), 0.0)
    cum = np.concatenate([[0.0], np.cumsum(new_dw)])
    first = np.concatenate([[True], ~same])
    base = np.maximum.accumulate(np.where(first, np.arange(n), 0))
    return np.clip(walked[base] + cum - cum[base], 0.0, 1.0)


def _arc_length_table(seg: _Segments) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per piece: arc-length fractions (N, K+1) at evenly spaced angle fractions `values` (K+1,), and the
    slopes d(angle)/d(length fraction) there, from Simpson's rule on the exact speed."""
    n = len(seg.t0)
    fine = np.linspace(0.0, 1.0, 2 * ARC_SAMPLES + 1)
    eps = 1e-5
    ahead = _arc_points(seg, np.broadcast_to(np.minimum(fine + eps, 1.0), (n, len(fine))))
    behind = _arc_points(seg, np.broadcast_to(np.maximum(fine - eps, 0.0), (n, len(fine))))
    speed = np.linalg.norm(ahead - behind, axis=-1) / (
        np.minimum(fine + eps, 1.0) - np.maximum(fine - eps, 0.0)
    )
    pieces = (speed[:, :-2:2] + 4 * speed[:, 1:-1:2] + speed[:, 2::2]) / (6 * ARC_SAMPLES)
    length = np.concatenate([np.zeros((n, 1)), np.cumsum(pieces, axis=1)], axis=1)
    total = np.maximum(length[:, -1:], 1e-12)
    slopes = total / np.maximum(speed[:, ::2], 1e-12)
    flat = length[:, -1] < 1e-9  # a hold: nothing to walk
    knots = np.where(flat[:, None], fine[::2], length / total)
    slopes = np.where(flat[:, None], 1.0, slopes)
    return knots, fine[::2], slopes


# --- left hand ----------------------------------------------------------------------------------------------------


def _mirror_weight(beats: _Beats, music: _Music, cfg: ConductorConfig, times: np.ndarray) -> np.ndarray:
    """How much the left hand mirrors the right: in loud passages, and for every entry, fermata and release."""
    band = 0.08
    loud = np.clip((music.loudness - cfg.left_mirror_loudness + band) / (2 * band), 0, 1)
    loud = loud * loud * (3 - 2 * loud)
    both = np.zeros(len(times), bool)
    if len(beats.t):
        both |= times < beats.t[0] + 0.5
        for last in np.flatnonzero(beats.gap_after[:-1]):
            both |= (times > beats.t[last]) & (times < beats.t[last + 1] + 0.5)
        both |= times > beats.t[-1]
    weight = np.maximum(loud, both)
    return np.clip(gaussian_filter1d(weight, cfg.left_blend_s / 3 * music.fps, mode="nearest"), 0, 1)


def _cue_times(
    analysis: MusicAnalysis,
    music: _Music,
    beats: _Beats,
    mirror_weight: np.ndarray,
    cfg: ConductorConfig,
    rng: np.random.Generator,
) -> np.ndarray:
    """Entries worth a left-hand cue: phrase starts and strong onsets after a quiet second, spaced out."""
    onset = music.onset
    peaks = np.flatnonzero((onset[1:-1] > 0.6) & (onset[1:-1] >= onset[:-2]) & (onset[1:-1] > onset[2:])) + 1
    window = int(music.fps)
    csum = np.concatenate([[0.0], np.cumsum(music.raw_loudness)])
    before = (csum[peaks] - csum[np.maximum(peaks - window, 0)]) / np.maximum(np.minimum(peaks, window), 1)
    candidates = np.concatenate(
        [np.asarray(analysis.phrase_starts_s, float), peaks[before < 0.3] / music.fps]
    )
    if len(beats.t) == 0 or len(candidates) == 0:
        return np.zeros(0)
    candidates = np.sort(candidates[(candidates > beats.t[0] + 1.0) & (candidates < beats.t[-1])])
    chosen, last = [], -np.inf
    for c in candidates:
        free = mirror_weight[min(int(c * music.fps), len(mirror_weight) - 1)] < 0.3
        if c - last >= cfg.left_cue_spacing_s and free:
            last = c
            if rng.random() < 0.85:  # a conductor does not cue every single entry
                chosen.append(c + 0.05 * cfg.variation * rng.standard_normal())
    return np.array(chosen)


def _cue_envelope(cue_times: np.ndarray, times: np.ndarray) -> np.ndarray:
    """0..1: raise over 0.5 s into the cue, point for 0.35 s, lower over 0.9 s (raised-cosine ramps)."""
    env = np.zeros(len(times))
    for c in cue_times:
        rise = np.clip((times - (c - 0.5)) / 0.5, 0, 1)
        fall = np.clip((times - (c + 0.35)) / 0.9, 0, 1)
        env = np.maximum(env, 0.5 - 0.5 * np.cos(np.pi * rise) - (0.5 - 0.5 * np.cos(np.pi * fall)))
    return env


def _left_hand(
    right: np.ndarray,
    mirror_weight: np.ndarray,
    cue: np.ndarray,
    music: _Music,
    cfg: ConductorConfig,
    rng: np.random.Generator,
    times: np.ndarray,
) -> np.ndarray:
    """The left wrist: the right one mirrored about the body's midline in tutti, entries and releases;
    otherwise resting in front of the waist, lifted by crescendos and raised to cue entries."""
    mirror = np.column_stack([2 * SHOULDER_CENTRE[0] - right[:, 0], right[:, 1]])
    lift = _crescendo(music)
    drift = _smooth_noise(rng, len(times), 1.2 * music.fps, 0.004 * cfg.variation)
    free = LEFT_IDLE + drift + lift[:, None] * np.array([-0.02, -cfg.left_lift])
    target = LEFT_CUE + 0.01 * cfg.variation * rng.standard_normal(2)
    rises = np.column_stack([np.zeros_like(cue), -0.03 * np.sin(np.pi * cue)])  # up as it reaches out
    free = free + cue[:, None] * (target - free) + rises
    w = mirror_weight[:, None]
    return w * mirror + (1 - w) * free


def _crescendo(music: _Music, window_s: float = 1.5, full_rise: float = 0.25) -> np.ndarray:
    """0..1: how much louder the music is now than `window_s` ago (the music starting after silence is no
    crescendo: silences are filled with the loudness that follows them)."""
    n = len(music.raw_loudness)
    sounding = np.flatnonzero(~music.silent)
    if len(sounding) == 0:
        return np.zeros(n)
    nxt = np.minimum(np.searchsorted(sounding, np.arange(n)), len(sounding) - 1)
    filled = gaussian_filter1d(music.raw_loudness[sounding[nxt]], music.fps / 2, mode="nearest")
    lag = int(window_s * music.fps)
    before = np.concatenate([np.repeat(filled[:1], lag), filled])[:n]
    return gaussian_filter1d(np.clip((filled - before) / full_rise, 0, 1), 0.3 * music.fps, mode="nearest")


def _smooth_noise(rng: np.random.Generator, n: int, sigma_frames: float, amplitude: float, dims: int = 2):
    """Slowly wandering noise with standard deviation `amplitude`."""
    noise = gaussian_filter1d(rng.standard_normal((n + 1, dims)), sigma_frames, axis=0, mode="wrap")[:n]
    return noise / max(float(noise.std()), 1e-9) * amplitude if n > 1 else np.zeros((n, dims))


# --- body ---------------------------------------------------------------------------------------------------------


def _beat_pulses(
    beats: _Beats, cfg: ConductorConfig, times: np.ndarray, fps: float, sigma_s: float
) -> np.ndarray:
    """Smooth bumps (peak ~1 for a loud downbeat) at the beats, downbeats strongest."""
    impulses = np.zeros(len(times) + 1)
    weight = np.where(beats.pos == 0, 1.0, 0.35) * beats.size / cfg.size_loud
    f = beats.t * fps
    ok = (f >= 0) & (f < len(times) - 1)
    lo = np.floor(f[ok]).astype(int)
    np.add.at(impulses, lo, weight[ok] * (1 - (f[ok] - lo)))
    np.add.at(impulses, lo + 1, weight[ok] * (f[ok] - lo))
    sigma = sigma_s * fps
    return gaussian_filter1d(impulses[:-1], sigma, mode="constant") * sigma * np.sqrt(2 * np.pi)


def _softplus(x: np.ndarray, k: float) -> np.ndarray:
    return k * np.logaddexp(0, x / k)


def _body(
    right: np.ndarray,
    left: np.ndarray,
    cue: np.ndarray,
    beats: _Beats,
    music: _Music,
    cfg: ConductorConfig,
    style: _Style,
    rng: np.random.Generator,
    times: np.ndarray,
) -> np.ndarray:
    fps = music.fps
    n = len(times)
    torso, head = cfg.torso_motion, cfg.head_motion
    # Shoulders sway a little towards where the hands are and dip into each ictus with the arm.
    lateral = (right[:, 0] - beats.centre_x) + (left[:, 0] - (1 - beats.centre_x))
    sway_x = 0.05 * torso * gaussian_filter1d(lateral, 0.35 * fps, mode="nearest")
    bob = 0.04 * torso * gaussian_filter1d(right[:, 1] - cfg.beat_plane_y, 0.07 * fps, mode="nearest")
    breath = 0.002 * torso * np.sin(2 * np.pi * style.breath_hz * times + style.breath_phase)
    centre = SHOULDER_CENTRE + np.column_stack([sway_x, bob + breath])
    lift_r = 0.07 * torso * _softplus(0.47 - right[:, 1], 0.02)  # a raised arm lifts its shoulder
    lift_l = 0.07 * torso * _softplus(0.47 - left[:, 1], 0.02)
    r_shoulder = centre + np.column_stack([np.full(n, -SHOULDER_HALF_WIDTH), -lift_r])
    l_shoulder = centre + np.column_stack([np.full(n, SHOULDER_HALF_WIDTH), -lift_l])

    nod = 0.011 * head * style.nod_scale * _beat_pulses(beats, cfg, times, fps, 0.1)
    look = _smooth_noise(rng, n, 2.0 * fps, 0.006 * head * cfg.variation)
    turn = np.column_stack([0.014 * head * cue, np.zeros(n)])  # towards the cued players, on the left
    nose = centre + [0.0, -NOSE_ABOVE_SHOULDERS] + look + turn + np.column_stack([np.zeros(n), nod])

    hip_shift = 0.2 * np.column_stack([sway_x, np.zeros(n)])
    kp = np.zeros((n, NUM_JOINTS, 2))
    kp[:, JOINT["nose"]] = nose
    for name, offset in FACE.items():
        kp[:, JOINT[name]] = nose + offset
    kp[:, JOINT["left_shoulder"]], kp[:, JOINT["right_shoulder"]] = l_shoulder, r_shoulder
    kp[:, JOINT["left_hip"]] = HIP_CENTRE + [HIP_HALF_WIDTH, 0.0] + hip_shift
    kp[:, JOINT["right_hip"]] = HIP_CENTRE - [HIP_HALF_WIDTH, 0.0] + hip_shift
    size = cfg.size_soft + (cfg.size_loud - cfg.size_soft) * music.loudness
    for side, shoulder, wrist, out in (("right", r_shoulder, right, -1.0), ("left", l_shoulder, left, 1.0)):
        depth = hand_depth(wrist[:, 1], size, cfg)
        elbow, reached = arm_ik_3d(shoulder, wrist, depth, cfg, out)
        kp[:, JOINT[f"{side}_elbow"]], kp[:, JOINT[f"{side}_wrist"]] = elbow[:, :2], reached[:, :2]
    return kp


def hand_depth(wrist_y: np.ndarray, size: np.ndarray, cfg: ConductorConfig) -> np.ndarray:
    """How far in front of the shoulders' plane each hand works (T,): furthest at the beat plane, reaching into
    the ictus with the forearm about level; nearer on the rebound above it and at rest below it (the forearm
    turning about the elbow); a little further for big patterns."""
    height = wrist_y - cfg.beat_plane_y
    reach = cfg.hand_depth + cfg.hand_depth_per_size * (size - cfg.size_soft)
    return np.maximum(reach - cfg.hand_depth_fall * height**2, 0.02)


def arm_ik_3d(
    shoulder: np.ndarray, wrist: np.ndarray, depth: np.ndarray, cfg: ConductorConfig, out: float
) -> tuple[np.ndarray, np.ndarray]:
    """3D elbow and wrist (T, 3) for an arm of constant 3D bone lengths whose hand is at image position `wrist`
    (T, 2) and about `depth` (T,) in front of `shoulder` (T, 2). Coordinates: image x, image y (down), z
    towards the camera (the conductor faces it); (x, y) is the orthographic projection.

    The image position is kept; the depth gives way where the arm could not reach that far (the 3D distance
    stays softly below full stretch), and only a target out of reach even flat on the image plane is pulled in
    along the image. The elbow bends towards a pole pointing down, `out` (-1 right arm: image-left; +1 left)
    and back: it hangs below and a little outside the shoulder, as a real arm does."""
    upper, fore = cfg.upper_arm, cfg.forearm
    reach, knee = 0.995 * (upper + fore), 0.93 * (upper + fore)
    near, near_knee = abs(upper - fore) + 0.02, abs(upper - fore) + 0.05
    d = wrist - shoulder
    flat = np.maximum(np.linalg.norm(d, axis=1), 1e-9)
    flat_in = np.where(flat > knee, reach - (reach - knee) * np.exp(-(flat - knee) / (reach - knee)), flat)
    d = d * (flat_in / flat)[:, None]
    # Depth: the wanted one, softly capped where the 3D distance would pass the knee ...
    room = np.sqrt(np.maximum(knee**2 - flat_in**2, 0.0))
    k = 0.01
    z = np.maximum(-k * np.logaddexp(-depth / k, -room / k), 0.0)
    # ... and pushed forward where the hand would be too close to the shoulder for the elbow to fold.
    dist = np.sqrt(flat_in**2 + z**2)
    folded = near + (near_knee - near) * np.exp((dist - near_knee) / (near_knee - near))
    dist = np.where(dist < near_knee, folded, dist)
    z = np.sqrt(np.maximum(dist**2 - flat_in**2, 0.0))
    target = np.column_stack([d, z])
    unit = target / np.maximum(dist, 1e-9)[:, None]
    pole = np.array([out * cfg.elbow_out, 1.0, -cfg.elbow_back])
    across_dir = pole - (unit @ pole)[:, None] * unit
    across_dir /= np.maximum(np.linalg.norm(across_dir, axis=1), 1e-9)[:, None]
    along = (upper**2 - fore**2 + dist**2) / (2 * dist)
    across = np.sqrt(np.maximum(upper**2 - along**2, 0.0))
    origin = np.column_stack([shoulder, np.zeros(len(shoulder))])
    elbow = origin + along[:, None] * unit + across[:, None] * across_dir
    return elbow, origin + target
