"""The add-on's client sending PCM with a beat file (and a score) as a multipart upload, to a real backend:
every sample arrives (the WAV is lossless: tests/addon/test_marker_beats.py), the given beats come back from
/beats, and the service's refusals are quoted in one line."""

import numpy as np
import pytest
from service_harness import backend_command, music
from virtual_conductor_addon.service.client import ServiceClient, ServiceError
from virtual_conductor_addon.service.multipart import JobExtras
from virtual_conductor_addon.service.process import BackendProcess

PCM = music(6.0)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    home = tmp_path_factory.mktemp("vconductor-home")
    proc = BackendProcess([backend_command()], device="cpu", env={"VCONDUCTOR_HOME": str(home)})
    proc.start(timeout_s=60)
    yield proc.client()
    proc.stop()


def _done(client: ServiceClient, handle):
    client.wait(handle.id, poll_s=0.05, timeout_s=60)
    return client.result(handle.id), client.beats(handle.id)


def test_beats_travel_as_multipart_and_come_back(client):
    times = np.arange(0.25, 5.9, 0.6)  # not the music's 0.5 s pulse
    text = "".join(f"{t:.6f},{i % 3}\n" for i, t in enumerate(times)).encode()
    handle = client.submit_pcm(
        PCM, 22050, model="procedural", seed=3, extras=JobExtras(beats=text, beats_name="m.txt")
    )
    assert handle.duration_s == pytest.approx(6.0, abs=1e-3)  # the WAV holds every sample
    _motion, beats = _done(client, handle)
    assert np.allclose(beats.beats_s, times, atol=1e-6) and list(beats.beat_in_bar[:4]) == [0, 1, 2, 0]
    assert np.all(beats.confidence == 1.0)


def test_refused_beats_quote_the_service(client):
    with pytest.raises(ServiceError) as caught:
        client.submit_pcm(PCM, 22050, extras=JobExtras(beats=b"1.0\n1.05\n2.0\n", beats_name="taps.txt"))
    message = str(caught.value)
    assert caught.value.status == 422 and "taps.txt" in message and "ms apart" in message
    assert "\n" not in message
    with pytest.raises(ServiceError, match="after the end of the audio"):
        client.submit_pcm(PCM, 22050, extras=JobExtras(beats=b"1.0\n9.0\n"))


def test_an_unreadable_score_file_is_a_one_line_error(client, tmp_path):
    with pytest.raises(ServiceError, match="Cannot send the job") as caught:
        client.submit_pcm(PCM, 22050, extras=JobExtras(score_path=str(tmp_path / "missing.mxl")))
    assert "missing.mxl" in str(caught.value)


def test_the_score_note_says_the_case_and_the_confidence():
    from virtual_conductor_addon.service.session import score_note

    report = {
        "score": "a.mid",
        "case": "performance",
        "confidence": 0.8731,
        "fit": 0.9,
        "beats": 52,
        "bars": 13,
    }
    assert score_note(report) == (
        "Score: the audio is a performance of it (alignment confidence 0.87; 52 beats, 13 bars)"
    )
    assert score_note({"case": "rendered", "confidence": 1}) == (
        "Score: the audio was rendered from it (alignment confidence 1.00)"
    )
    mismatch = {"case": "mismatch", "confidence": 0.0, "reason": "the score does not fit\nmore"}
    assert score_note(mismatch) == (
        "Score: it does not fit the audio (the score does not fit); conducting the audio's own beats"
    )
    assert score_note(None) == "" and score_note("rendered") == ""
