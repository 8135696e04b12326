"""Rubato performances that a straight line with held fermatas nearly explains (docs/scores.md): an
accelerando the score does not write, over the last bars of a hymn, and a chorale whose every phrase is held
and shaped, each once taken for a render from the score (beat F 0.80 and 0.82 with Fluid R3), through
`vconductor analyze --score`."""

import json
from pathlib import Path

import numpy as np
import pytest
import soundfile

from conftest import analyze_cli

pytest.importorskip("music21")
from vconductor.beat_data.render import fluidsynth_executable  # noqa: E402
from vconductor.metrics.beats import beat_f_measure  # noqa: E402

SOUNDFONTS = Path("/usr/share/sounds/sf2")
pytestmark = pytest.mark.skipif(fluidsynth_executable() is None, reason="needs fluidsynth")


@pytest.mark.parametrize(
    "work, bars, soundfont",
    [("johnson_j_r/lift_every_voice", 12, "TimGM6mb.sf2"), ("bach/bwv244.10", 12, "FluidR3_GM.sf2")],
)
def test_a_rubato_take_close_to_the_line_keeps_its_beats(tmp_path, work, bars, soundfont):
    import music21

    from vconductor.beat_data.score_renders import render, rubato_tempo_map
    from vconductor.scores.reading import read_score_file

    score = tmp_path / "score.musicxml"
    music21.corpus.parse(work).measures(0, bars).write("musicxml", fp=str(score))
    timeline = read_score_file(score)
    if not (SOUNDFONTS / soundfont).is_file():
        pytest.skip(f"needs {soundfont} (Debian's timgm6mb-soundfont / fluid-soundfont-gm)")
    take = render(timeline, rubato_tempo_map(timeline, 7), SOUNDFONTS / soundfont, seed=5)
    audio, out = tmp_path / "take.wav", tmp_path / "beats.json"
    soundfile.write(audio, take.samples, 22050)
    done = analyze_cli(audio, score, out)
    assert done.returncode == 0, done.stderr
    doc = json.loads(out.read_text())
    beat_f = beat_f_measure(np.array(doc["beats_s"]), take.beats_s, 0.07)[0]
    downbeat_f = beat_f_measure(np.array(doc["downbeats_s"]), take.downbeats_s, 0.07)[0]
    assert beat_f >= 0.9 and downbeat_f >= 0.9, (beat_f, downbeat_f, doc["score"])
