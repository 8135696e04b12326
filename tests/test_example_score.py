"""The bundled example's score (examples/ode_to_joy.musicxml, written by examples/make_example.py) with its
audio: `generate --score` as the README shows it, and what the score tells the conductor."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO

pytest.importorskip("music21")
from vconductor.metrics.beats import beat_f_measure  # noqa: E402
from vconductor.scores.reading import read_score_file  # noqa: E402

EXAMPLES = REPO / "examples"
TRUTH = json.loads((EXAMPLES / "ode_to_joy.json").read_text())


def test_the_example_score_reads_as_written():
    timeline = read_score_file(EXAMPLES / "ode_to_joy.musicxml")
    assert timeline.instruments == [
        "Flute", "Oboe", "Horns", "Timpani", "Violin I", "Viola", "Violoncello", "Contrabass"
    ]  # fmt: skip
    assert timeline.fermatas == [(46.0, 48.0)]  # the final chord, bar 12 beat 3
    assert len(timeline.bars) == 12 and timeline.tempo_marks[0][1] == pytest.approx(104.0)


def test_generate_with_the_example_score_follows_its_beats(tmp_path):
    out = tmp_path / "ode.npz"
    command = [sys.executable, "-m", "vconductor", "generate", str(EXAMPLES / "ode_to_joy.ogg")]
    command += ["--score", str(EXAMPLES / "ode_to_joy.musicxml"), "--model", "procedural", "-o", str(out)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=REPO, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "ode_to_joy.musicxml: the audio is" in done.stderr + done.stdout  # which case, how confident
    beats = tmp_path / "ode.beats.json"
    command = [sys.executable, "-m", "vconductor", "analyze", str(EXAMPLES / "ode_to_joy.ogg")]
    command += ["--score", str(EXAMPLES / "ode_to_joy.musicxml"), "-o", str(beats)]
    assert subprocess.run(command, capture_output=True, cwd=REPO, timeout=300).returncode == 0
    found = json.loads(beats.read_text())
    # The audio slows over its last five beats where the score only says "rit.": rendered, with a departure
    # there placed on the audio (F 0.989 / 1.000; 0.947 on the straight line alone).
    f, _, _ = beat_f_measure(np.array(found["beats_s"]), np.array(TRUTH["beats_s"]), 0.07)
    down, _, _ = beat_f_measure(np.array(found["downbeats_s"]), np.array(TRUTH["downbeats_s"]), 0.07)
    assert found["score"]["departures"], found["score"]
    assert f >= 0.95 and down >= 0.95, (f, down)
    motion = np.load(out)
    assert np.isfinite(motion["keypoints"]).all() and len(motion["keypoints"]) == int(
        np.ceil(TRUTH["duration_s"] * 30)
    )


def test_a_written_dynamic_is_a_step_not_a_ramp(tmp_path):
    """p for two bars, then f with no hairpin: the guide's level stays p until the f, then jumps."""
    import music21

    from vconductor.scores.alignment import Alignment
    from vconductor.scores.guide import score_guide

    part = music21.stream.Part([music21.meter.TimeSignature("4/4")])
    for bar, mark in enumerate(("p", None, "f", None)):
        if mark:
            part.insert(4.0 * bar, music21.dynamics.Dynamic(mark))
        part.insert(4.0 * bar, music21.note.Note("C4", quarterLength=4.0))
    path = tmp_path / "steps.musicxml"
    music21.stream.Score([part.makeNotation()]).write("musicxml", fp=str(path))
    timeline = read_score_file(path)
    at_120 = Alignment("rendered", 1.0, 1.0, np.array([0.0, 16.0]), np.array([0.0, 8.0]))
    guide = score_guide(timeline, at_120.seconds, 8.0)
    quiet, loud = guide.dynamic_at([0.5, 3.9]), guide.dynamic_at([4.0, 7.5])  # seconds: bars 1-2, bars 3-4
    assert np.ptp(quiet) < 0.01 and np.ptp(loud) < 0.01 and loud.min() - quiet.max() > 0.3, (quiet, loud)
