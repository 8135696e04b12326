"""Test and benchmark material: a score rendered with FluidSynth, either at its nominal time (as a notation
program exports it) or as a performance (a drawn rubato tempo map: beat_data/tempo_map.py), with the true beats
and downbeats in the audio's time. Not used by a job; the tests and benchmarks/bench_score_alignment.py share it.
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..scores.timeline import ScoreTimeline

LEAD_IN_S = 0.7


@dataclass
class Render:
    samples: np.ndarray  # 22050 Hz mono float32
    beats_s: np.ndarray
    downbeats_s: np.ndarray
    start_q: float
    end_q: float


def nominal_tempo_map(timeline: ScoreTimeline):
    from .tempo_map import GRID_Q, TAIL_Q, TempoMap

    grid = np.arange(0.0, timeline.end_q + TAIL_Q + GRID_Q / 2, GRID_Q)
    return TempoMap(grid, timeline.nominal_seconds(grid))


def rubato_tempo_map(timeline: ScoreTimeline, seed: int):
    from .tempo_map import random_tempo_map

    labels = timeline.labels
    beat_q = float(np.median(np.diff(labels.beats_q))) if len(labels.beats_q) > 1 else 1.0
    return random_tempo_map(
        np.random.default_rng(seed),
        timeline.end_q,
        labels.downbeats_q,
        beat_q,
        marks=timeline.tempo_marks or [(0.0, 100.0 * beat_q)],
        fermatas=timeline.fermatas,
    )


def render(timeline: ScoreTimeline, tempo, soundfont: Path, seed: int, end_q: float | None = None) -> Render:
    """The score's first `end_q` quarters played on `tempo` (LEAD_IN_S of silence first) through FluidSynth."""
    from .render import detached_articulation, performance_midi, synthesize

    rng = np.random.default_rng(seed)
    end_q = timeline.end_q if end_q is None else min(end_q, timeline.end_q)
    notes = timeline.notes[timeline.notes["onset_q"] < end_q - 1e-6].copy()
    notes["duration_q"] = np.minimum(notes["duration_q"], end_q - notes["onset_q"])
    programs = ([48, 41, 42, 43, 71, 60, 56, 73] * 8)[: timeline.notes["part"].max() + 1]
    labels = timeline.labels
    midi, _ = performance_midi(
        notes, tempo, programs, rng, 0.0, LEAD_IN_S, labels.downbeats_q, detached_articulation
    )
    samples, _ = synthesize(midi, soundfont, rng, evaluation=True)
    origin = float(tempo.seconds(0.0)) - LEAD_IN_S
    beats = labels.beats_q[labels.beats_q < end_q - 1e-6]
    downbeats = labels.downbeats_q[labels.downbeats_q < end_q - 1e-6]
    return Render(
        samples, tempo.seconds(beats) - origin, tempo.seconds(downbeats) - origin, 0.0, float(end_q)
    )
