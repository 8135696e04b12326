"""Timeline markers -> beats (motion/marker_beats.py) and the multipart upload that carries them
(service/multipart.py), without Blender; the beat file is read back by the backend's own parser."""

import io

import numpy as np
import pytest
import soundfile as sf
from virtual_conductor_addon.motion.marker_beats import (
    MarkerBeatsError,
    bar_positions,
    is_downbeat_name,
    marker_beats,
    markers_in_range,
)
from virtual_conductor_addon.service.multipart import FilePart, JobExtras, MultipartBody, wav_part

NTSC = 30000 / 1001


def taps(frames):
    return [(f"F_{i + 1:02d}", f) for i, f in enumerate(frames)]


@pytest.mark.parametrize("fps", [24.0, 25.0, NTSC, 60.0])
@pytest.mark.parametrize("start", [1.0, 37.0, 100.5])
def test_times_are_seconds_from_the_first_played_frame(fps, start):
    frames = [int(np.ceil(start)) + 12 * k for k in range(10)]
    beats = marker_beats(taps(frames), start, start + 200, fps, "NONE")
    assert beats.beat_in_bar is None and beats.names[0] == "F_01"
    assert np.allclose(beats.times_s, (np.array(frames) - start) / fps, atol=1e-12)
    # the scene frame the backend's beat maps back to is the marker's, exactly
    assert np.allclose(start + beats.times_s * fps, frames, atol=1e-9)


def test_only_markers_inside_the_range_count_in_frame_order():
    markers = [("late", 300), ("b", 120), ("before", 9), ("a", 110), ("end", 200), ("start", 10)]
    assert markers_in_range(markers, 10.0, 200.0) == [("start", 10), ("a", 110), ("b", 120)]
    beats = marker_beats(markers, 10.0, 200.0, 24.0, "FIRST", 3)
    assert beats.names == ("start", "a", "b") and beats.beat_in_bar.tolist() == [0, 1, 2]


def test_downbeat_names():
    assert all(map(is_downbeat_name, ["VC 12.1", "12.1", "bar 3.1 ", "VC 0.1"]))
    assert not any(map(is_downbeat_name, ["VC 12.10", "VC 12.2", "F_01", "1.1.1x", "v1.1a", "0.15"]))


def test_named_downbeats_start_bars_and_pickups_count_back():
    names = [
        "VC 0.3",
        "VC 0.4",
        "VC 1.1",
        "VC 1.2",
        "VC 1.3",
        "VC 2.1",
        "x",
        "y",
        "VC 3.1",
        "a",
        "b",
        "c",
        "d",
        "e",
    ]
    # bar 1 has 3 markers (a beat deleted), bar 2 three; after the last downbeat: bars of 4
    assert bar_positions(names, "NAMED", 4).tolist() == [2, 3, 0, 1, 2, 0, 1, 2, 0, 1, 2, 3, 0, 1]


def test_tapped_markers_take_the_first_as_downbeat():
    names = [f"F_{i:02d}" for i in range(1, 9)]
    assert bar_positions(names, "NAMED", 3).tolist() == [0, 1, 2, 0, 1, 2, 0, 1]
    assert bar_positions(names, "FIRST", 4).tolist() == [0, 1, 2, 3, 0, 1, 2, 3]
    # FIRST ignores names: the first marker is the downbeat
    assert bar_positions(["VC 0.4", "VC 1.1", "VC 1.2"], "FIRST", 4).tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    ("markers", "message"),
    [
        ([], "0 timeline marker(s) on frames 1-240"),
        ([("F_01", 50), ("out", 400)], "1 timeline marker(s) on frames 1-240"),
        ([("F_01", 50), ("F_02", 50), ("F_03", 80)], "'F_01' and 'F_02' are both on frame 50"),
        (
            [("F_01", 50), ("F_02", 52), ("F_03", 80)],
            "'F_01' (frame 50) and 'F_02' (frame 52) are 83 ms apart",
        ),
        (
            [("VC 1.1", 10)] + taps(range(20, 200, 10)) + [("VC 2.1", 205)],
            "19 markers from downbeat 'VC 1.1'",
        ),
    ],
)
def test_unusable_markers_say_why_in_one_line(markers, message):
    with pytest.raises(MarkerBeatsError, match=None) as caught:
        marker_beats(markers, 1.0, 241.0, 24.0)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_three_frames_at_24_fps_are_not_too_close():
    beats = marker_beats(taps([10, 13, 16]), 1.0, 100.0, 24.0)
    assert np.allclose(np.diff(beats.times_s), 0.125)


def test_bad_settings_are_refused():
    with pytest.raises(MarkerBeatsError, match="Beats per bar"):
        marker_beats(taps([10, 30]), 1.0, 100.0, 24.0, "FIRST", 0)
    with pytest.raises(MarkerBeatsError, match="Unknown downbeat rule"):
        marker_beats(taps([10, 30]), 1.0, 100.0, 24.0, "LAST")


def test_the_backend_reads_the_beat_file_as_written():
    from vconductor.beat_files import parse_beats

    names = ["VC 0.4", "VC 1.1", "VC 1.2", "VC 1.3", "VC 2.1", "VC 2.2"]
    frames = [13, 27, 41, 55, 69, 83]
    beats = marker_beats(list(zip(names, frames, strict=True)), 11.5, 500.0, NTSC)
    given = parse_beats(beats.file_bytes(), "timeline_markers.txt")
    assert np.allclose(given.times_s, beats.times_s, atol=1e-6)
    assert given.beat_in_bar.tolist() == [
        3,
        0,
        1,
        2,
        0,
        1,
    ]  # a pickup: the last beat of a bar of 4  # a pickup before bar 1 (bars of 3 from the names)
    times_only = parse_beats(marker_beats(taps(frames), 11.5, 500.0, NTSC, "NONE").file_bytes())
    assert times_only.beat_in_bar is None and np.allclose(times_only.times_s, beats.times_s, atol=1e-6)


def test_wav_part_is_the_samples_exactly():
    rng = np.random.default_rng(0)
    for samples in (rng.standard_normal(22050).astype(np.float32), rng.standard_normal((1000, 2))):
        header, data = wav_part(samples, 22050)
        read, rate = sf.read(io.BytesIO(bytes(header.data) + bytes(data.data)), dtype="float32")
        assert rate == 22050 and np.array_equal(read, samples.astype(np.float32))


def test_multipart_body_is_what_a_form_parser_reads(tmp_path):
    from python_multipart.multipart import MultipartParser

    score = tmp_path / "Ode to joy.mxl"
    score.write_bytes(bytes(range(256)) * 5000)  # 1.28 MB: read from disk in blocks
    extras = JobExtras(beats=b"0.5\n1.0\n", beats_name="m.txt", score_path=str(score), score_mismatch="audio")
    samples = np.linspace(-1, 1, 5000, dtype=np.float32)
    body = MultipartBody(extras.fields(), wav_part(samples, 22050) + extras.parts())
    raw = b"".join(bytes(chunk) for chunk in body)
    assert len(raw) == body.length
    parts, current = {}, {}

    def header_value(data, start, end):
        current["header"] = current.get("header", b"") + data[start:end]

    def part_end():
        name = current["header"].split(b'name="')[1].split(b'"')[0].decode()
        parts[name] = (current["header"], current.get("data", b""))
        current.clear()

    callbacks = {
        "on_header_value": header_value,
        "on_part_data": lambda data, s, e: current.update(data=current.get("data", b"") + data[s:e]),
        "on_part_end": part_end,
    }
    MultipartParser(body.boundary, callbacks).write(raw)
    assert set(parts) == {"score_mismatch", "file", "beats", "score"}
    assert parts["score_mismatch"][1] == b"audio" and parts["beats"][1] == b"0.5\n1.0\n"
    assert b'filename="Ode to joy.mxl"' in parts["score"][0] and parts["score"][1] == score.read_bytes()
    audio, _rate = sf.read(io.BytesIO(parts["file"][1]), dtype="float32")
    assert np.array_equal(audio, samples)


def test_no_extras_means_no_parts():
    assert (
        not JobExtras().any and JobExtras().parts() == [] and JobExtras(score_mismatch="audio").fields() == {}
    )
    assert FilePart("beats", "b.txt", data=b"12").size == 2
