"""Rubato performances that a straight line with held fermatas nearly explains (docs/scores.md): an
accelerando the score does not write, over the last bars of a hymn, and a chorale whose every phrase is held
and shaped, each once taken for a render from the score (beat F 0.80 and 0.82 with Fluid R3), through
`vconductor analyze --score`."""

from pathlib import Path

import pytest

from conftest import analyzed_take, take_f_measures

pytest.importorskip("music21")
from vconductor.beat_data.render import fluidsynth_executable  # noqa: E402

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
    doc = analyzed_take(take, score, tmp_path)
    beat_f, downbeat_f = take_f_measures(doc, take)
    assert beat_f >= 0.9 and downbeat_f >= 0.9, (beat_f, downbeat_f, doc["score"])
