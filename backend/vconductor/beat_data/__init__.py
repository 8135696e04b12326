"""Training data for the beat/downbeat/metre tracker: music21 corpus scores rendered with fluidsynth, labelled
from their own bars (docs/beat-data.md). Training-time only: nothing at runtime imports this package.

Modules: scores (works, held-out rules, notes), labels (beats from bars), tempo_map, render (MIDI, fluidsynth),
augment, samples (windows, files), score_cache, build (the resumable builder), cli.
"""
