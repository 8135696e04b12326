"""The user's beats (issue 15): beat files read strictly, grids, bar positions, and the conductor exactly on
them: the procedural motion's ictus on a deliberately offset grid (so the tracker cannot be what agrees), a
learned model locked to them, and the CLI refusing bad files with one line and writing nothing."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import REPO
from vconductor.beat_files import MAX_BEATS_BYTES, BeatsFileError, parse_beats, read_beats_file
from vconductor.beat_sources import BeatSourceError, bar_lengths, beat_source, given_beats, tracker_phase
from vconductor.beat_tracking.decoder import TrackedBeats
from vconductor.contract_beats import BeatTrack, beats_to_bytes
from vconductor.metrics import beat_align_score, motion_beats

EXAMPLE = REPO / "examples" / "ode_to_joy.ogg"
VCONDUCTOR = [sys.executable, "-m", "vconductor"]


# ------------------------------------------------------------------------------------------------ files


def test_plain_text_csv_and_the_analysis_documents_are_read():
    text = parse_beats(b"# my taps\n0.5\n1.0\n\n1.52\n", "taps.txt")
    assert np.allclose(text.times_s, [0.5, 1.0, 1.52]) and text.beat_in_bar is None
    pairs = parse_beats(b"0.5,2\n1.0,0\n1.5,1\n2.0,2\n2.5,0\n", "bars.csv")
    assert pairs.beat_in_bar.tolist() == [2, 0, 1, 2, 0] and pairs.bar_length is None
    spaced = parse_beats(b"\xef\xbb\xbftime_s beat_in_bar\r\n0.5 0\r\n1.0 1\r\n", "bom.txt")
    assert spaced.beat_in_bar.tolist() == [0, 1]
    track = BeatTrack([0.5, 1.0, 1.5, 2.0], [3, 0, 1, 2], [4, 3, 3, 3], [120] * 4, [0.9] * 4, 3.0, "x.wav")
    for suffix in (".json", ".csv"):
        read = parse_beats(beats_to_bytes(track, suffix), "x" + suffix)
        assert np.allclose(read.times_s, track.beats_s), suffix
        assert read.beat_in_bar.tolist() == [3, 0, 1, 2] and read.bar_length.tolist() == [4, 3, 3, 3]
    short = parse_beats(json.dumps({"beats_s": [0.5, 1.0, 1.5]}).encode(), "short.json")
    assert short.beat_in_bar is None and len(short.times_s) == 3


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"0.5\n1.0\nabc\n", "line 3: 'abc' is not a number"),
        (b"0.5\n1.0\n0.9\n", "times must increase: beat 3"),
        (b"0.5\n0.5\n", "times must increase"),
        (b"-0.5\n1.0\n", "negative time"),
        (b"0.5\nnan\n", "not a finite number"),
        (b"0.5\ninf\n", "not a finite number"),
        (b"0.5\n", "at least 2 beats"),
        (b"", "at least 2 beats"),
        (b"0.5\n0.55\n", "50 ms apart"),
        (b"0.5,0\n1.0\n", "every line has a beat_in_bar or none"),
        (b"0.5,0\n1.0,1.5\n", "not a whole number"),
        (b"0.5,-1\n1.0,0\n", "negative beat_in_bar"),
        (b"\x00\x01\x02", "not a text file"),
        (b"\xff\xfe\x00", "not a text file"),
        (b'{"beats_s": [0.5, ', "not valid JSON"),
        (b'{"beats": [0.5, 1]}', "object with 'beats_s'"),
        (b'{"beats_s": [0.5, "1"]}', "only numbers"),
        (b'{"beats_s": [0.5, 1.0], "beat_in_bar": [0]}', "one value per beat"),
        (b"[" * 100_000, "names no time column"),  # does not start with '{': read as text
        (b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "not valid JSON"),  # too deep to parse
        (b'{"format": "vconductor-beats/1", "beats_s": [1, 2]}', "not a beats document"),
        (b"when,what\n0.5,1\n", "names no time column"),
    ],
)
def test_bad_files_are_one_line_errors_naming_the_problem(data, reason):
    with pytest.raises(BeatsFileError) as caught:
        parse_beats(data, "f.txt")
    message = str(caught.value)
    assert reason in message and "\n" not in message and message.startswith("f.txt")


def test_size_and_count_are_bounded(tmp_path):
    with pytest.raises(BeatsFileError, match="at most 1048576 bytes"):
        parse_beats(b"0" * (MAX_BEATS_BYTES + 1))
    big = tmp_path / "big.txt"
    big.write_bytes(b"1\n" * (MAX_BEATS_BYTES // 2 + 1))
    with pytest.raises(BeatsFileError, match="big.txt: .* bytes: a beat file is at most"):
        read_beats_file(big)
    with pytest.raises(BeatsFileError, match="more than 100000 beats"):
        parse_beats(b"1\n" * 100_001)
    with pytest.raises(BeatsFileError, match="at most 100000 numbers"):
        parse_beats(json.dumps({"beats_s": [1] * 100_001}).encode())
    with pytest.raises(BeatsFileError, match="cannot read"):
        read_beats_file(tmp_path / "missing.txt")


# --------------------------------------------------------------------------------- fitting to the audio


def _tracked(beats, downbeat_every=4, first=0) -> TrackedBeats:
    beats = np.asarray(beats, float)
    in_bar = (np.arange(len(beats)) - first) % downbeat_every
    n = len(beats)
    return TrackedBeats(beats, in_bar, np.full(n, downbeat_every), np.full(n, 120.0), np.ones(n, np.float32))


def test_bar_positions_come_from_the_file_the_metre_or_the_tracker():
    times = np.arange(0.5, 10, 0.5)
    source = beat_source(parse_beats("\n".join(map(str, times)).encode()))
    tracker = _tracked(times + 0.03, 3, first=1)  # the tracker's downbeats on the 2nd, 5th, ... given beat
    given = given_beats(source, 10.0, tracker, None)
    assert given.beat_in_bar[:4].tolist() == [2, 0, 1, 2] and set(given.bar_length) == {3}
    four = given_beats(source, 10.0, tracker, "4/4")  # the metre fixes 4 a bar; the tracker still votes
    assert set(four.bar_length) == {4} and four.main_bar_length == 4
    alone = given_beats(source, 10.0, TrackedBeats.empty(), "3/4")
    assert alone.beat_in_bar[:4].tolist() == [0, 1, 2, 0]
    assert np.allclose(given.tempo_bpm, 120) and np.all(given.confidence == 1.0)
    assert bar_lengths(np.array([2, 0, 1, 2, 0, 1, 2, 0])).tolist() == [3, 3, 3, 3, 3, 3, 3, 3]
    assert bar_lengths(np.array([0, 1, 0, 1, 2, 3, 4])).tolist() == [2, 2, 5, 5, 5, 5, 5]


def test_a_grid_runs_from_the_first_downbeat_to_the_end():
    grid = given_beats(beat_source(None, 120.0, 0.52), 10.0, TrackedBeats.empty(), "3/4")
    assert np.allclose(grid.beats_s, np.arange(0.52, 10.0, 0.5))
    assert grid.beat_in_bar[:4].tolist() == [0, 1, 2, 0]
    assert grid.main_bar_length == 3 and np.allclose(grid.tempo_bpm, 120)
    tracker = _tracked(np.arange(0.3, 10, 0.5), 4, first=2)  # downbeats at 1.3, 3.3, ...
    assert tracker_phase(tracker, 0.5, 4) == pytest.approx(1.3)
    phased = given_beats(beat_source(None, 120.0), 10.0, tracker, None)
    assert phased.beats_s[0] == pytest.approx(1.3) and phased.beat_in_bar[0] == 0
    cropped = given_beats(beat_source(None, 120.0, 0.52, offset_s=2.0, cropped=True), 5.0, tracker, "4/4")
    # the crop starts at 2 s of the upload: the grid's 4th beat (2.02 s, the 4th of its bar) comes first
    assert cropped.beats_s[0] == pytest.approx(0.02) and cropped.beat_in_bar[:2].tolist() == [3, 0]


def test_contradictions_and_beats_beyond_the_audio_are_refused():
    given = parse_beats(b"0.5\n1.0\n40\n", "far.txt")
    with pytest.raises(BeatSourceError, match="not both"):
        beat_source(given, 120.0)
    with pytest.raises(BeatSourceError, match="needs a tempo"):
        beat_source(None, None, 0.5)
    with pytest.raises(BeatSourceError, match="between 20 and 400"):
        beat_source(None, float("nan"))
    with pytest.raises(BeatSourceError, match="far.txt: beat 3 at 40.000 s is after the end of the audio"):
        given_beats(beat_source(given), 30.0, TrackedBeats.empty(), None)
    with pytest.raises(BeatSourceError, match="after the end of the audio"):
        given_beats(beat_source(None, 120.0, 31.0), 30.0, TrackedBeats.empty(), None)
    cropped = given_beats(beat_source(given, offset_s=0.2, cropped=True), 30.0, TrackedBeats.empty(), None)
    assert np.allclose(cropped.beats_s, [0.3, 0.8])  # the beat beyond the crop is dropped, not refused


# ---------------------------------------------------------------------------------------- the conductor


@pytest.fixture(scope="module")
def offset_grid():
    """The example's tracked beats moved half a beat: a grid the music's own beats do not support."""
    from vconductor import pipeline

    prepared = pipeline.prepare_input(EXAMPLE, "analysis")
    tracked = prepared.beats.beats_s
    period = float(np.median(np.diff(tracked)))
    return tracked, np.arange(tracked[0] + period / 2, prepared.duration_s - 0.1, period)


def test_the_procedural_ictus_lands_on_each_given_beat(offset_grid):
    from vconductor import pipeline

    tracked, grid = offset_grid
    source = beat_source(parse_beats("\n".join(f"{t:.4f}" for t in grid).encode(), "grid.txt"))
    prepared = pipeline.prepare_input(EXAMPLE, "analysis", beats=source)
    assert prepared.given_beats and np.allclose(prepared.beats.beats_s, grid, atol=1e-4)
    assert np.all(prepared.beats.confidence == 1.0)
    motion = pipeline.run(prepared, pipeline.ProceduralConductor())
    found = motion_beats(motion.keypoints)
    on_given = beat_align_score(found, grid)
    conducted = prepared.analysis.beats_s
    assert np.allclose(conducted, grid[: len(conducted)], atol=1e-3) and len(conducted) >= len(grid) - 5
    assert on_given >= 0.9, on_given
    assert beat_align_score(found, tracked) < 0.3  # the tracker's beats are half a beat away
    assert (
        beat_align_score(found, conducted, average_over="music") >= 0.9
    )  # every conducted beat has an ictus


def test_a_manual_grid_in_three_is_conducted_in_three():
    from vconductor import pipeline

    source = beat_source(None, 97.0, 0.52)
    prepared = pipeline.prepare_input(EXAMPLE, "analysis", meter="3/4", beats=source)
    analysis = prepared.analysis
    assert analysis.meter == "3/4" and analysis.beat_in_bar[0] == 0
    assert np.allclose(np.diff(analysis.beats_s), 60 / 97, atol=1e-3) and analysis.beats_s[
        0
    ] == pytest.approx(0.52)
    motion = pipeline.run(prepared, pipeline.ProceduralConductor())
    assert beat_align_score(motion_beats(motion.keypoints), analysis.beats_s) >= 0.9


def test_a_learned_model_is_locked_to_the_given_beats(random_generator_file, offset_grid):
    from vconductor import pipeline

    _, grid = offset_grid
    learned = pipeline.load_conductor(str(random_generator_file), "cpu")
    source = beat_source(parse_beats("\n".join(f"{t:.4f}" for t in grid).encode()))
    prepared = pipeline.prepare_input(EXAMPLE, "mel", beats=source)
    try:
        report = pipeline.JobReport()
        locked = pipeline.run(prepared, learned, seed=0, report=report)  # auto: on, the beats are given
        free = pipeline.run(prepared, learned, seed=0, beat_lock="off")
    finally:
        prepared.close()
    assert report.beat_lock is not None and report.beat_lock["pairs"] > 10
    before = beat_align_score(motion_beats(free.keypoints), grid)
    after = beat_align_score(motion_beats(locked.keypoints), grid)
    assert after > before


# ----------------------------------------------------------------------------------------------- the CLI


def _generate(*args, cwd):
    return subprocess.run(
        [*VCONDUCTOR, "generate", str(EXAMPLE), *args], capture_output=True, text=True, cwd=cwd
    )


def test_cli_conducts_a_beat_file_and_refuses_bad_ones_writing_nothing(tmp_path, offset_grid):
    from vconductor.motion_io import load_motion

    _, grid = offset_grid
    (tmp_path / "grid.txt").write_text("\n".join(f"{t:.4f}" for t in grid))
    done = _generate("--model", "procedural", "--beats", "grid.txt", "-o", "out.npz", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    score = beat_align_score(motion_beats(load_motion(tmp_path / "out.npz").keypoints), grid)
    assert score >= 0.9, score
    (tmp_path / "far.txt").write_text("0.5\n1.0\n40\n")
    (tmp_path / "bad.txt").write_text("0.5\nabc\n")
    cases = [
        (["--beats", "far.txt"], "far.txt: beat 3 at 40.000 s is after the end of the audio"),
        (["--beats", "bad.txt"], "bad.txt line 2: 'abc' is not a number"),
        (["--beats", "missing.txt"], "cannot read the beat file"),
        (["--beats", "grid.txt", "--bpm", "100"], "contradict"),
        (["--first-downbeat", "0.5"], "--first-downbeat needs --bpm"),
        (["--bpm", "0"], "--bpm must be between 20 and 400"),
        (["--bpm", "100", "--first-downbeat", "99"], "after the end of the audio"),
    ]
    for args, reason in cases:
        failed = _generate("--model", "procedural", *args, "-o", "sub/bad.npz", cwd=tmp_path)
        lines = failed.stderr.strip().splitlines()
        assert failed.returncode == 1 and len(lines) == 1 and reason in lines[0], (args, failed.stderr)
        assert not (tmp_path / "sub").exists()
    grid_run = _generate(
        "--model",
        "procedural",
        "--bpm",
        "97",
        "--meter",
        "3/4",
        "--first-downbeat",
        "0.52",
        "-o",
        "g.json",
        cwd=tmp_path,
    )
    assert grid_run.returncode == 0, grid_run.stderr


def test_cli_analyze_completes_given_beats_into_a_document(tmp_path):
    from vconductor.contract_beats import beats_from_document

    (tmp_path / "taps.txt").write_text("0.3\n0.91\n1.52\n2.13\n2.74\n3.35\n")
    run = subprocess.run(
        [*VCONDUCTOR, "analyze", str(EXAMPLE), "--beats", "taps.txt", "--meter", "3/4", "-o", "t.json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert run.returncode == 0, run.stderr
    track = beats_from_document(json.loads((tmp_path / "t.json").read_text()))
    assert np.allclose(track.beats_s, [0.3, 0.91, 1.52, 2.13, 2.74, 3.35]) and set(track.bar_length) == {3}
    assert set(track.confidence) == {1.0} and np.allclose(track.tempo_bpm, 60 / 0.61)
