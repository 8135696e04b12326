"""Random but musical tempo maps: score time (quarter lengths) -> performance time (seconds).

A performance is drawn as a log-tempo curve on a fine quarter-length grid: the piece's base tempo (its own
metronome marks, else a random beat tempo), slow rubato, ritardandi into phrase and section ends, now and then a
sudden change of tempo, and notes under a fermata held longer. Seconds are
the cumulative sum of the grid steps' durations, so the map is strictly increasing and exactly invertible by
interpolation. Everything comes from the caller's seeded RNG.
"""

from dataclasses import dataclass, field

import numpy as np

GRID_Q = 1 / 24  # fine enough for triplet sixteenths: onsets fall on grid points
BEAT_BPM_RANGE = (50.0, 160.0)  # base beat tempo of a piece without a metronome mark
BEAT_BPM_LIMITS = (30.0, 300.0)  # no drawn tempo goes past these (beats per minute)
TAIL_Q = 16.0  # the grid runs past the end, for notes ringing beyond the last bar


@dataclass
class TempoMap:
    """A monotone map from quarter lengths to seconds (linear beyond the grid, at the edge tempos)."""

    grid_q: np.ndarray
    grid_s: np.ndarray
    events: list[dict] = field(default_factory=list)  # what was drawn, for the sample's JSON

    def seconds(self, quarters) -> np.ndarray:
        q = np.asarray(quarters, float)
        s = np.interp(q, self.grid_q, self.grid_s)
        first = (self.grid_s[1] - self.grid_s[0]) / (self.grid_q[1] - self.grid_q[0])
        last = (self.grid_s[-1] - self.grid_s[-2]) / (self.grid_q[-1] - self.grid_q[-2])
        s = np.where(q < self.grid_q[0], self.grid_s[0] + (q - self.grid_q[0]) * first, s)
        return np.where(q > self.grid_q[-1], self.grid_s[-1] + (q - self.grid_q[-1]) * last, s)

    def quarters(self, seconds) -> np.ndarray:
        """The inverse of `seconds` on the grid."""
        return np.interp(np.asarray(seconds, float), self.grid_s, self.grid_q)

    def quarter_bpm(self, quarters) -> np.ndarray:
        """The local tempo (quarter notes per minute) at each position."""
        step = np.diff(self.grid_s) / np.diff(self.grid_q)
        index = np.clip(np.searchsorted(self.grid_q, quarters, side="right") - 1, 0, len(step) - 1)
        return 60.0 / step[index]

    def bpm_points(self, start_q: float, end_q: float, tolerance: float = 0.01) -> list[list[float]]:
        """[quarter from start_q, quarter BPM] wherever the tempo moved by more than `tolerance` (relative)."""
        inside = (self.grid_q >= start_q) & (self.grid_q < end_q)
        points, last = [], None
        for q, bpm in zip(self.grid_q[inside], self.quarter_bpm(self.grid_q[inside]), strict=True):
            if last is None or abs(bpm / last - 1) > tolerance:
                points.append([round(float(q - start_q), 4), round(float(bpm), 2)])
                last = bpm
        return points


def _base_log_tempo(rng, grid: np.ndarray, marks, beat_q: float, events: list) -> np.ndarray:
    """log quarter-BPM of the piece's base tempo: its marks scaled by one random factor, else a random tempo."""
    if marks:
        factor = rng.uniform(0.85, 1.15)
        at = np.clip(np.searchsorted([q for q, _ in marks], grid, side="right") - 1, 0, None)
        base = np.array([bpm for _, bpm in marks])[at] * factor
        events.append({"kind": "base", "from": "score marks", "factor": round(float(factor), 3)})
    else:
        beat_bpm = rng.uniform(*BEAT_BPM_RANGE)
        base = np.full(len(grid), beat_bpm * beat_q)
        events.append({"kind": "base", "from": "random", "beat_bpm": round(float(beat_bpm), 2)})
    return np.log(base)


def _rubato(rng, grid: np.ndarray, beat_q: float, events: list) -> np.ndarray:
    """Slow, smooth tempo drift: random values every few beats, interpolated and smoothed."""
    depth = rng.uniform(0.0, 0.08)
    spacing = beat_q * rng.uniform(2.0, 8.0)
    knots = np.arange(grid[0], grid[-1] + spacing, spacing)
    curve = np.interp(grid, knots, rng.normal(0.0, depth, len(knots)))
    width = max(1, int(spacing / GRID_Q / 2))
    curve = np.convolve(np.pad(curve, width, mode="edge"), np.ones(2 * width + 1) / (2 * width + 1), "valid")
    events.append({"kind": "rubato", "depth": round(float(depth), 4), "spacing_q": round(float(spacing), 2)})
    return curve


def _ritardando(grid: np.ndarray, end_q: float, span_q: float, slowest: float) -> np.ndarray:
    """log-tempo that falls linearly to log(slowest) over the span before end_q, and is back after it."""
    ramp = np.clip((grid - (end_q - span_q)) / span_q, 0.0, 1.0)
    return np.where(grid < end_q, ramp * np.log(slowest), 0.0)


def _ritardandi(rng, grid, downbeats_q, section_ends_q, bar_q: float, events: list) -> np.ndarray:
    """Ritardandi into most section ends (strong) and into some phrase ends every 4 or 8 bars (gentle)."""
    curve = np.zeros(len(grid))
    for end in section_ends_q:
        if rng.random() < (0.95 if end == section_ends_q[-1] else 0.7):
            span, slowest = bar_q * rng.uniform(0.5, 2.0), rng.uniform(0.55, 0.9)
            curve += _ritardando(grid, end, span, slowest)
            events.append(
                {
                    "kind": "ritardando",
                    "end_q": float(end),
                    "span_q": round(float(span), 2),
                    "slowest": round(float(slowest), 3),
                }
            )
    phrase = int(rng.choice([4, 8]))
    for end in downbeats_q[phrase::phrase]:
        if rng.random() < 0.3 and not any(abs(end - e) < bar_q for e in section_ends_q):
            span, slowest = bar_q * rng.uniform(0.5, 1.0), rng.uniform(0.85, 0.97)
            curve += _ritardando(grid, end, span, slowest)
            events.append(
                {"kind": "phrase ritardando", "end_q": float(end), "slowest": round(float(slowest), 3)}
            )
    return curve


def _sudden_changes(rng, grid, downbeats_q, events: list) -> np.ndarray:
    """A few abrupt new tempos at bar lines (about one per 150 quarters), the factors kept within 0.6-1.6."""
    curve = np.zeros(len(grid))
    if len(downbeats_q) < 4:
        return curve
    count = rng.poisson(max(grid[-1] - TAIL_Q, 0.0) / 150.0)
    level = 0.0
    for at in np.sort(rng.choice(downbeats_q[2:], size=min(count, len(downbeats_q) - 2), replace=False)):
        level = float(np.clip(level + np.log(rng.uniform(0.75, 1.33)), np.log(0.6), np.log(1.6)))
        curve[grid >= at] = level
        events.append({"kind": "tempo change", "at_q": float(at), "factor": round(float(np.exp(level)), 3)})
    return curve


def _fermatas(rng, grid, held, events: list) -> np.ndarray:
    """log-tempo lowering over each note under a fermata: everything sounding then lasts `stretch` times longer."""
    curve = np.zeros(len(grid))
    for onset, end in held:
        stretch = rng.uniform(1.5, 3.0)
        curve[(grid >= onset - 1e-9) & (grid < end - 1e-9)] -= np.log(stretch)
        events.append({"kind": "fermata", "at_q": float(onset), "stretch": round(float(stretch), 3)})
    return curve


def random_tempo_map(
    rng: np.random.Generator,
    end_q: float,
    downbeats_q,
    beat_q: float,
    marks=(),
    fermatas=(),
    section_ends_q=(),
    strict: bool = False,
) -> TempoMap:
    """A performance's tempo map for a score of `end_q` quarters whose typical beat is `beat_q` quarters;
    `strict`: in strict time (the base tempo alone, as ../shared/corpus is played)."""
    grid = np.arange(0.0, end_q + TAIL_Q + GRID_Q / 2, GRID_Q)
    downbeats_q = np.asarray(downbeats_q, float)
    bar_q = float(np.median(np.diff(downbeats_q))) if len(downbeats_q) > 1 else 4.0 * beat_q
    events: list[dict] = []
    log_bpm = _base_log_tempo(rng, grid, list(marks), beat_q, events)
    shaped = _rubato(rng, grid, beat_q, events)
    shaped += _ritardandi(rng, grid, downbeats_q, list(section_ends_q) or [end_q], bar_q, events)
    shaped += _sudden_changes(rng, grid, downbeats_q, events)
    held = _fermatas(rng, grid, list(fermatas), events)
    if strict:  # drawn all the same, so that the seed's later draws (instruments, soundfont) stay
        shaped, held = 0.0, 0.0
        events[:] = [e for e in events if e["kind"] == "base"]
    low, high = np.log(BEAT_BPM_LIMITS[0] * beat_q), np.log(BEAT_BPM_LIMITS[1] * beat_q)
    log_bpm = np.clip(log_bpm + shaped, low, high)
    log_bpm += held  # after the clip: a fermata may hold long
    step_s = np.diff(grid) * 60.0 / np.exp(log_bpm[:-1])  # each step at the tempo of its start
    return TempoMap(grid, np.concatenate([[0.0], np.cumsum(step_s)]), events)
