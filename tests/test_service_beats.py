"""The user's beats through the HTTP service (issue 15): a 'beats' part beside the audio, or bpm and
first_downbeat; GET /beats returns them; a malformed, oversized or contradictory beats part is a 4xx with the
reason before any job exists, never a 500. A real server process, real HTTP, as tests/test_service.py."""

import httpx
import numpy as np
import pytest

from conftest import REPO
from test_service import ServerProcess, error_of, home, wait_final  # noqa: F401 (home is a fixture)
from vconductor.metrics import beat_align_score, motion_beats

EXAMPLE = REPO / "examples" / "ode_to_joy.ogg"
GRID = np.arange(0.87, 32.0, 0.579)  # the example's beats (0.579 s apart from 0.59 s) moved half a beat


@pytest.fixture(scope="module")
def server(home, tmp_path_factory):  # noqa: F811
    srv = ServerProcess(home, tmp_path_factory.mktemp("srv-beats"))
    yield srv
    assert srv.stop() == 0, srv.output()
    assert "Traceback" not in srv.output(), srv.output()


def submit(client: httpx.Client, beats: bytes | None = None, beats_name="grid.txt", **fields):
    files = [("file", (EXAMPLE.name, EXAMPLE.read_bytes()))]
    if beats is not None:
        files.append(("beats", (beats_name, beats)))
    data = {k: str(v) for k, v in fields.items()}
    return client.post("/v1/jobs", files=files, data=data)


def done(client: httpx.Client, response: httpx.Response) -> str:
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    status = wait_final(client, job_id)
    assert status["state"] == "done", status
    return job_id


def keypoints(client: httpx.Client, job_id: str) -> np.ndarray:
    return np.array(client.get(f"/v1/jobs/{job_id}/result").json()["keypoints"], np.float32)


def test_a_beats_part_is_conducted_and_served_back(server):
    client = server.client
    text = "\n".join(f"{t:.4f}" for t in GRID).encode()
    job_id = done(client, submit(client, text, model="procedural"))
    doc = client.get(f"/v1/jobs/{job_id}/beats").json()
    assert np.allclose(doc["beats_s"], GRID, atol=1e-4) and set(doc["confidence"]) == {1.0}
    assert doc["source"] == EXAMPLE.name and len(doc["downbeats_s"]) > 5
    score = beat_align_score(motion_beats(keypoints(client, job_id)), GRID)
    assert score >= 0.9, score
    learned = done(client, submit(client, text, model="rand"))  # a learned model is locked to them
    assert np.allclose(client.get(f"/v1/jobs/{learned}/beats").json()["beats_s"], GRID, atol=1e-4)


def test_a_grid_from_bpm_and_first_downbeat_and_a_crop_in_the_uploads_time(server):
    client = server.client
    job_id = done(client, submit(client, model="procedural", bpm=97, first_downbeat=0.52, meter="3/4"))
    doc = client.get(f"/v1/jobs/{job_id}/beats").json()
    assert doc["beats_s"][0] == pytest.approx(0.52) and np.allclose(
        np.diff(doc["beats_s"]), 60 / 97, atol=1e-3
    )
    assert doc["beat_in_bar"][:4] == [0, 1, 2, 0]
    text = "\n".join(f"{t:.4f}" for t in GRID).encode()
    cropped = done(client, submit(client, text, model="procedural", start_s=10, end_s=20))
    beats = np.array(client.get(f"/v1/jobs/{cropped}/beats").json()["beats_s"])
    inside = GRID[(GRID >= 10) & (GRID <= 20)] - 10  # the upload's times, moved by the crop, the rest dropped
    assert np.allclose(beats, inside, atol=1e-4)


@pytest.mark.parametrize(
    ("beats", "fields", "status", "code", "reason"),
    [
        (b"0.5\n1.0\nabc\n", {}, 422, "invalid_beats", "grid.txt line 3: 'abc' is not a number"),
        (b"0.5\n1.0\n0.7\n", {}, 422, "invalid_beats", "times must increase"),
        (b"0.5\n1.0\n40\n", {}, 422, "invalid_beats", "beat 3 at 40.000 s is after the end of the audio"),
        (b"0.5\nnan\n", {}, 422, "invalid_beats", "not a finite number"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", {}, 422, "invalid_beats", "not a text file"),
        (b'{"beats_s": [[[[', {}, 422, "invalid_beats", "not valid JSON"),
        (b"0.5\n1.0\n", {"bpm": 100}, 422, "invalid_beats", "contradict"),
        (b"1\n" * 600_000, {}, 413, "too_large", "'beats' part is over 1 MiB"),
        (None, {"first_downbeat": 1}, 422, "invalid_option", "first_downbeat needs bpm"),
        (None, {"bpm": 1000}, 422, "invalid_option", "bpm"),
        (None, {"bpm": 100, "first_downbeat": 99}, 422, "invalid_beats", "after the end of the audio"),
    ],
)
def test_bad_beats_are_a_4xx_with_the_reason_and_no_job(server, beats, fields, status, code, reason):
    before = server.client.get("/v1/health").json()["queue_length"]
    response = submit(server.client, beats, model="procedural", **fields)
    assert response.status_code == status, response.text
    error = error_of(response)
    assert error["code"] == code and reason in error["message"], error
    assert server.client.get("/v1/health").json()["queue_length"] == before


def test_two_beats_parts_are_refused(server):
    files = [
        ("file", (EXAMPLE.name, EXAMPLE.read_bytes())),
        ("beats", ("a.txt", b"0.5\n1.0\n")),
        ("beats", ("b.txt", b"0.5\n1.0\n")),
    ]
    response = server.client.post("/v1/jobs", files=files)
    assert response.status_code == 400 and "more than one 'beats' part" in error_of(response)["message"]
