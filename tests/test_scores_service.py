"""A score through the HTTP service (issue 15): a 'score' part beside the audio; /beats carries the score's
beats and the alignment's case; a hostile, broken or oversized score is a 4xx before any job exists. A real
server process, real HTTP (tests/test_service.py's pattern)."""

import httpx
import numpy as np
import pytest

from test_scores import renders  # noqa: F401 (a session fixture)
from test_service import ServerProcess, error_of, home, wait_final  # noqa: F401 (home is a fixture)
from vconductor.metrics.beats import beat_f_measure


@pytest.fixture(scope="module")
def server(home, tmp_path_factory):  # noqa: F811
    srv = ServerProcess(home, tmp_path_factory.mktemp("srv-scores"))
    yield srv
    assert srv.stop() == 0, srv.output()
    assert "Traceback" not in srv.output(), srv.output()


def submit(client: httpx.Client, audio, score_name: str, score: bytes, **fields) -> httpx.Response:
    files = [("file", (audio.name, audio.read_bytes())), ("score", (score_name, score))]
    return client.post("/v1/jobs", files=files, data={"model": "procedural", **fields})


def test_a_score_part_gives_the_jobs_beats(server, renders):  # noqa: F811
    score, audio, beats, _ = renders[("chorale", "rubato")]
    response = submit(server.client, audio, score.name, score.read_bytes())
    assert response.status_code == 202, response.text
    job_id = response.json()["id"]
    assert wait_final(server.client, job_id)["state"] == "done"
    doc = server.client.get(f"/v1/jobs/{job_id}/beats").json()
    assert doc["score"]["case"] == "performance" and doc["score"]["confidence"] > 0.3
    assert beat_f_measure(np.array(doc["beats_s"]), beats, 0.07)[0] >= 0.9


def test_bad_score_parts_are_4xx_before_a_job(server, renders):  # noqa: F811
    _, audio, _, _ = renders[("chorale", "rendered")]
    bomb = b'<!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]><score-partwise>&b;</score-partwise>'
    for name, data, status, words in (
        ("lol.musicxml", bomb, 422, "entities"),
        ("cut.mid", b"MThd\x00\x00", 422, "not a readable score"),
        ("empty.mxl", b"", 422, "empty"),
        ("huge.musicxml", b" " * ((16 << 20) + 10), 413, "over 16 MiB"),
    ):
        response = submit(server.client, audio, name, data)
        assert response.status_code == status, response.text
        assert words in error_of(response)["message"], response.text


def test_a_score_of_another_piece_fails_the_job_with_the_reason(server, renders):  # noqa: F811
    score = renders[("quartet", "rendered")][0]
    _, audio, _, _ = renders[("chorale", "rendered")]
    response = submit(server.client, audio, score.name, score.read_bytes())
    status = wait_final(server.client, response.json()["id"])
    assert status["state"] == "failed" and "does not fit" in str(status), status
    response = submit(server.client, audio, score.name, score.read_bytes(), score_mismatch="audio")
    assert wait_final(server.client, response.json()["id"])["state"] == "done"
