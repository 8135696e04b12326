"""Classical textures written over a score's harmony: training music the corpus lacks (docs/beat-data.md).

Outside the held-out works the corpus has almost no classical instrumental music, and that is where the tracker
fails: slow movements whose running figures it takes for the beat, fast ones it hears in bars. A texture keeps a
score's bars (so its labels), its top voice as the melody and its harmony, and writes the rest again as a
string-quartet accompaniment: the bass on every beat, an inner voice in 2, 3 or 4 notes a beat (Alberti, broken
chords, repeated chords), at a slow or a fast written tempo.
"""

from dataclasses import replace

import numpy as np

from .labels import EPS
from .scores import NOTE_DTYPE, ScoreData

FIGURES = ("alberti", "broken", "repeated")
NOTES_PER_BEAT = (2, 3, 4)
SLOW_SHARE = 0.6  # the rest are fast: the slow movements are the tracker's worst errors
SLOW_BPM, FAST_BPM = (36.0, 60.0), (140.0, 200.0)  # the beat's written tempo (the tempo map varies it)
INNER_LOW = 55  # the figuration's lowest pitch (G3: viola and second violin)
BASS_LOW = 36  # C2: the cello's C string


def textured(data: ScoreData, beat_q: float, rng: np.random.Generator) -> tuple[ScoreData, dict]:
    """The score with its accompaniment written again (and what was drawn); beats of `beat_q` quarters set
    the written tempo."""
    figure = str(rng.choice(FIGURES))
    per_beat = int(rng.choice(NOTES_PER_BEAT))
    beat_bpm = float(rng.uniform(*(SLOW_BPM if rng.random() < SLOW_SHARE else FAST_BPM)))
    parts = np.unique(data.notes["part"])
    top = parts[np.argmax([data.notes["pitch"][data.notes["part"] == p].mean() for p in parts])]
    melody = data.notes[data.notes["part"] == top]  # the highest part on average
    velocity = int(np.median(data.notes["velocity"]))
    rows = [(m["onset_q"], m["duration_q"], m["pitch"], 0, m["velocity"]) for m in melody]
    beats = data.labels.beats_q
    for start, end in zip(beats, np.r_[beats[1:], data.labels.end_q], strict=True):
        pitches = _sounding(data.notes, start, end)
        if len(pitches):
            rows += _beat_rows(pitches, start, end, figure, per_beat, velocity)
    notes = np.array(rows, dtype=NOTE_DTYPE)
    notes = notes[np.argsort(notes["onset_q"], kind="stable")]
    register = [float(notes["pitch"][notes["part"] == p].mean()) for p in range(3)]
    written = replace(
        data, notes=notes, num_parts=3, tempo_marks=[(0.0, beat_bpm * beat_q)], part_register=register
    )
    return written, {"figure": figure, "notes_per_beat": per_beat, "beat_bpm": round(beat_bpm, 2)}


def _sounding(notes: np.ndarray, start: float, end: float) -> np.ndarray:
    """The pitches sounding during [start, end), lowest first."""
    on = (notes["onset_q"] < end - EPS) & (notes["onset_q"] + notes["duration_q"] > start + EPS)
    return np.unique(notes["pitch"][on])


def _beat_rows(pitches: np.ndarray, start: float, end: float, figure: str, per_beat: int, velocity: int):
    """One beat of accompaniment: the bass for the whole beat, the figure in `per_beat` equal notes."""
    bass = int(pitches[0])
    while bass < BASS_LOW:
        bass += 12
    rows = [(start, end - start, bass, 2, velocity)]
    tones = _chord_tones(pitches)
    step = (end - start) / per_beat
    for i, chord in enumerate(_figure(tones, figure, per_beat)):
        rows += [(start + i * step, step, int(p), 1, velocity - 10) for p in chord]
    return rows


def _chord_tones(pitches: np.ndarray) -> list[int]:
    """Three ascending pitches of the chord's pitch classes from INNER_LOW up (a dyad's root doubled above)."""
    classes = sorted({int(p) % 12 for p in pitches}, key=lambda c: (c - INNER_LOW) % 12)
    tones = [INNER_LOW + (c - INNER_LOW) % 12 for c in classes]
    while len(tones) < 3:
        tones.append(tones[len(tones) % len(classes)] + 12)
    return tones[:3]


def _figure(tones: list[int], figure: str, per_beat: int) -> list[list[int]]:
    """The notes of each subdivision: Alberti (low, high, middle, high), a broken chord up, or the chord again."""
    low, middle, high = tones
    if figure == "alberti":
        order = [[low], [high], [middle], [high]]
    elif figure == "broken":
        order = [[low], [middle], [high], [middle]]
    else:
        order = [[middle, high]] * 4
    return [order[i % len(order)] for i in range(per_beat)]
