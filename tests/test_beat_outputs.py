"""The beats a user gets: the contract's BeatTrack (JSON and CSV, validated when read back) and
`vconductor analyze` as a real process, with its outputs and its one-line errors."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO
from vconductor.contract_beats import BeatsFileError, BeatTrack, beats_from_document, beats_to_bytes

EXAMPLE = REPO / "examples" / "ode_to_joy.ogg"
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(REPO / "backend")}


def _track(**changes) -> BeatTrack:
    values = dict(
        beats_s=[0.5, 1.0, 1.5, 2.0, 2.5],
        beat_in_bar=[2, 0, 1, 2, 0],
        bar_length=[3, 3, 3, 3, 4],
        tempo_bpm=[120.0] * 5,
        confidence=[0.9, 0.8, 0.7, 0.9, 0.95],
        duration_s=3.0,
        source="x.wav",
    )
    return BeatTrack(**{**values, **changes})


def test_a_beat_track_round_trips_through_json_and_its_csv_has_one_row_per_beat():
    track = _track()
    doc = json.loads(beats_to_bytes(track, ".json"))
    assert doc["downbeats_s"] == [1.0, 2.5] and doc["bars"] == [[1.0, 3], [2.5, 4]]
    again = beats_from_document(doc)
    assert np.array_equal(again.beats_s, track.beats_s) and np.array_equal(again.bar_length, track.bar_length)
    rows = beats_to_bytes(track, ".csv").decode().splitlines()
    assert rows[2] == "time_s,beat_in_bar,bar_length,downbeat,tempo_bpm,confidence"
    assert rows[3:5] == ["0.5000,2,3,0,120.00,0.900", "1.0000,0,3,1,120.00,0.800"] and len(rows) == 8
    assert "conducted" not in doc  # reported only when known (the tracker's and the service's beats)


def test_how_the_bars_are_conducted_travels_with_the_beats_and_is_checked():
    track = _track(conducted={"beats_per_bar": 1, "written_per_bar": 3})
    doc = json.loads(beats_to_bytes(track, ".json"))
    assert beats_from_document(doc).conducted == {"beats_per_bar": 1, "written_per_bar": 3}
    csv_rows = beats_to_bytes(track, ".csv").decode().splitlines()
    assert csv_rows[2] == '# conducted: {"beats_per_bar": 1, "written_per_bar": 3}'
    for wrong in (
        {"beats_per_bar": 0, "written_per_bar": 3},
        {"beats_per_bar": 1.5, "written_per_bar": 3},
        [1, 3],
    ):
        with pytest.raises(BeatsFileError, match="conducted must be"):
            beats_from_document({**doc, "conducted": wrong})


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"beats_s": [0.5, 0.4, 1.5, 2.0, 2.5]}, "increasing"),
        ({"tempo_bpm": [120.0, np.nan, 1, 1, 1]}, "non-finite"),
        ({"beat_in_bar": [3, 0, 1, 2, 0]}, "within its bar_length"),
        ({"confidence": [1.0]}, "one value per beat"),
    ],
)
def test_invalid_beat_tracks_are_refused_with_the_reason(changes, message):
    with pytest.raises(BeatsFileError, match=message):
        _track(**changes)
    with pytest.raises(BeatsFileError, match="not a beats document"):
        beats_from_document({"beats_s": []})


def _analyze(*args) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "vconductor", "analyze", *map(str, args)]
    return subprocess.run(command, env=ENV, capture_output=True, text=True, timeout=300)


def test_analyze_writes_the_tracker_beats_as_json_csv_or_to_stdout(tmp_path):
    from vconductor.beat_tracking.tracker import track_file

    expected = track_file(EXAMPLE)
    done = _analyze(EXAMPLE, "-o", tmp_path / "beats.json")
    assert done.returncode == 0, done.stderr
    written = beats_from_document(json.loads((tmp_path / "beats.json").read_text()))
    assert np.allclose(written.beats_s, expected.beats_s, atol=1e-4) and len(written.beats_s) >= 20
    assert "beats" in done.stderr and written.source == "ode_to_joy.ogg"
    assert written.conducted == {"beats_per_bar": 4, "written_per_bar": 4}  # a moderate 4/4, as written

    stdout = _analyze(EXAMPLE, "-q")
    assert (
        stdout.returncode == 0
        and json.loads(stdout.stdout)["beats_s"]
        == json.loads((tmp_path / "beats.json").read_text())["beats_s"]
    )
    twice = _analyze(EXAMPLE, EXAMPLE, "-o", tmp_path / "many", "-q")
    assert twice.returncode == 1 and "given twice" in twice.stderr and not (tmp_path / "many").exists()
    folder = _analyze(EXAMPLE, "-o", f"{tmp_path / 'dir'}/", "--format", "csv,json", "-q")
    assert folder.returncode == 0, folder.stderr
    assert sorted(p.name for p in (tmp_path / "dir").iterdir()) == [
        "ode_to_joy.beats.csv",
        "ode_to_joy.beats.json",
    ]


def test_analyze_fails_per_file_with_one_line_and_writes_nothing(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF....WAVEnot really")
    done = _analyze(bad, tmp_path / "missing.flac", EXAMPLE, "-o", tmp_path / "out", "-q")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = done.stderr.strip().splitlines()
    assert any("bad.wav" in line for line in lines) and any("missing.flac" in line for line in lines)
    assert "2 of 3 file(s) failed" in lines[-1]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["ode_to_joy.beats.json"]
    wrong = _analyze(EXAMPLE, "-o", tmp_path / "beats.txt")
    assert wrong.returncode == 1 and "not a beats file" in wrong.stderr


@pytest.mark.parametrize(
    ("bpm", "metre", "conducted"), [(220.0, 3, 1), (240.0, 4, 2), (180.0, 3, 3), (100.0, 4, 4)]
)
def test_fast_bars_are_reported_as_conducted_in_fewer_beats(bpm, metre, conducted):
    """A fast 3/4 is conducted in one and a fast 4/4 in two (conducting.beat_units: beats under 0.3 s apart),
    and the beats document says so; slower bars are conducted as written."""
    from vconductor.beat_tracking.decoder import TrackedBeats
    from vconductor.beat_tracking.tracker import beat_track

    in_bar = np.tile(np.arange(metre), 8)
    times = 1.0 + np.arange(len(in_bar)) * 60.0 / bpm
    tracked = TrackedBeats(
        times, in_bar, np.full(len(in_bar), metre), np.full(len(in_bar), bpm), np.ones(len(in_bar))
    )
    document = beat_track(tracked, 20.0, "clicks.wav").to_document()
    assert document["conducted"] == {"beats_per_bar": conducted, "written_per_bar": metre}


@pytest.mark.parametrize(("dotted_bpm", "conducted"), [(50.0, 6), (104.0, 2)])
def test_a_six_eight_given_as_the_metre_is_reported_in_six_or_in_two(dotted_bpm, conducted):
    """`--meter 6/8`: the tracker's two dotted beats a bar are conducted in six (conducting.beats splits each in
    three), and in two again when those eighths come under 0.3 s apart (K. 458's 104 BPM: 0.29 s)."""
    from vconductor.beat_tracking.decoder import TrackedBeats
    from vconductor.beat_tracking.tracker import beat_track

    n = 16
    times = 1.0 + np.arange(n) * 60.0 / dotted_bpm
    in_bar = np.tile([0, 1], n // 2)
    tracked = TrackedBeats(times, in_bar, np.full(n, 2), np.full(n, dotted_bpm), np.ones(n))
    assert beat_track(tracked, 30.0, meter="6/8").conducted == {
        "beats_per_bar": conducted,
        "written_per_bar": 2,
    }
