"""Refusals: unusable audio, wrong options, malformed requests, limits, a missing token, bad server flags.

Every refusal is one JSON error with the right status code, and the server keeps serving after it.
"""

# ruff: noqa: F811 (the fixtures audio_dir, home and server come from test_service, as pytest passes them)

import http.client
import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import numpy as np
import soundfile as sf

from conftest import write_music
from test_service import (  # noqa: F401 (fixtures)
    SERVE,
    ServerProcess,
    audio_dir,
    error_of,
    generate,
    home,
    server,
    submit_file,
    wait_final,
)


def _declared_length_only(port: int, path: str, length: int, content_type: str) -> tuple[int, dict]:
    """Send headers promising `length` bytes and no body: the server must answer without reading it."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest("POST", path)
    conn.putheader("Content-Type", content_type)
    conn.putheader("Content-Length", str(length))
    conn.endheaders()
    response = conn.getresponse()
    result = response.status, json.loads(response.read())
    conn.close()
    return result


def _unusable_files(wav: Path, tmp_path: Path) -> dict[str, Path]:
    """Uploads that are not usable audio, by what is wrong with them."""
    data = wav.read_bytes()
    truncated = tmp_path / "truncated.wav"
    truncated.write_bytes(data[: len(data) // 2])
    corrupt = tmp_path / "corrupt.wav"
    corrupt.write_bytes(data[:44] + np.random.default_rng(0).bytes(20000))
    noise = tmp_path / "noise.bin"
    noise.write_bytes(np.random.default_rng(1).bytes(50000))
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(44100 * 2, np.float32), 44100)
    short = write_music(tmp_path / "short.wav", 0.2)
    text = tmp_path / "notes.txt"
    text.write_text("not audio at all\n" * 100)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    too_long = write_music(tmp_path / "long.wav", 1260, sample_rate=1000)  # 21 minutes, over the 20 allowed
    return {
        "truncated": truncated,
        "corrupt": corrupt,
        "noise": noise,
        "silent": silent,
        "short": short,
        "text": text,
        "empty": empty,
        "too_long": too_long,
    }


def _upload_cases(c: httpx.Client, wav: Path, tmp_path: Path) -> dict[str, tuple[httpx.Response, int, str]]:
    """(response, expected status, expected error code) of submissions whose audio or options are wrong."""
    files = _unusable_files(wav, tmp_path)
    tone = np.sin(np.arange(44100) / 10).astype(np.float32)

    def pcm(body: bytes, **params) -> httpx.Response:
        headers = {"Content-Type": "application/octet-stream"}
        return c.post("/v1/jobs", params=params, content=body, headers=headers)

    return {
        "empty body": (pcm(b"", sample_rate=44100), 422, "empty_body"),
        "empty file": (submit_file(c, files["empty"]), 422, "invalid_audio"),
        "truncated wav": (submit_file(c, files["truncated"]), 422, "invalid_audio"),
        "corrupt wav": (submit_file(c, files["corrupt"]), 422, "invalid_audio"),
        "random bytes": (submit_file(c, files["noise"]), 422, "invalid_audio"),
        "silent": (submit_file(c, files["silent"]), 422, "invalid_audio"),
        "0.2 s clip": (submit_file(c, files["short"]), 422, "invalid_audio"),
        "text file": (submit_file(c, files["text"]), 422, "invalid_audio"),
        "too long": (submit_file(c, files["too_long"]), 422, "too_long"),
        "sample_rate 0": (pcm(tone.tobytes(), sample_rate=0), 422, "invalid_option"),
        "sample_rate < 0": (pcm(tone.tobytes(), sample_rate=-44100), 422, "invalid_option"),
        "sample_rate huge": (pcm(tone.tobytes(), sample_rate=10**12), 422, "invalid_option"),
        "sample_rate text": (pcm(tone.tobytes(), sample_rate="fast"), 422, "invalid_option"),
        "sample_rate 1.5": (pcm(tone.tobytes(), sample_rate=1.5), 422, "invalid_option"),
        "no sample_rate": (pcm(tone.tobytes()), 422, "invalid_option"),
        "odd byte count": (pcm(tone.tobytes()[:-1], sample_rate=44100), 422, "invalid_pcm"),
        "stereo, 1.5 frames": (pcm(tone.tobytes()[:-4], sample_rate=44100, channels=2), 422, "invalid_pcm"),
        "PCM with NaN": (
            pcm(np.full(44100, np.nan, np.float32).tobytes(), sample_rate=44100),
            422,
            "invalid_audio",
        ),
        "PCM silent": (pcm(np.zeros(44100, np.float32).tobytes(), sample_rate=44100), 422, "invalid_audio"),
        "PCM options on a file": (submit_file(c, wav, sample_rate=44100), 422, "invalid_option"),
        "unknown model": (submit_file(c, wav, model="nope"), 422, "unknown_model"),
        "model path": (submit_file(c, wav, model="/etc/passwd"), 422, "unknown_model"),
        "negative seed": (submit_file(c, wav, seed=-1), 422, "invalid_option"),
        "seed text": (submit_file(c, wav, seed="x"), 422, "invalid_option"),
        "seed huge": (submit_file(c, wav, seed=2**40), 422, "invalid_option"),
        "bad meter": (submit_file(c, wav, meter="5/4"), 422, "invalid_option"),
        "end before start": (submit_file(c, wav, start_s=1.5, end_s=1.0), 422, "invalid_option"),
        "start past the end": (submit_file(c, wav, start_s=5), 422, "invalid_option"),
        "crop too short": (submit_file(c, wav, start_s=1.8), 422, "invalid_audio"),
        "unknown option": (submit_file(c, wav, sead=1), 422, "invalid_option"),
    }


def _request_cases(c: httpx.Client) -> dict[str, tuple[httpx.Response, int, str]]:
    """(response, expected status, expected error code) of malformed requests and unknown paths."""
    return {
        "text/plain": (
            c.post("/v1/jobs", content=b"hi", headers={"Content-Type": "text/plain"}),
            415,
            "unsupported_media_type",
        ),
        "no file part": (
            c.post("/v1/jobs", data={"seed": "1"}, files={"x": (None, "1")}),
            422,
            "missing_file",
        ),
        "bad multipart": (
            c.post(
                "/v1/jobs",
                content=b"--x\r\nnonsense",
                headers={"Content-Type": "multipart/form-data; boundary=y"},
            ),
            400,
            "bad_request",
        ),
        "unknown job": (c.get("/v1/jobs/0123456789abcdef"), 404, "not_found"),
        "unknown job result": (c.get("/v1/jobs/nope/result.npz"), 404, "not_found"),
        "unknown job delete": (c.delete("/v1/jobs/nope"), 404, "not_found"),
        "unknown path": (c.get("/v2/health"), 404, "not_found"),
    }


def test_bad_inputs_get_4xx_json_errors_and_the_server_keeps_serving(server, audio_dir, tmp_path):
    c = server.client
    wav = write_music(audio_dir / "ok.wav", 2.0)
    cases = {**_upload_cases(c, wav, tmp_path), **_request_cases(c)}
    for name, (response, status, code) in cases.items():
        assert response.status_code == status, (name, response.text)
        assert error_of(response)["code"] == code, (name, response.text)
    assert "truncated" in error_of(cases["truncated wav"][0])["message"]
    assert "silent" in error_of(cases["silent"][0])["message"]
    assert "too short" in error_of(cases["0.2 s clip"][0])["message"]
    assert error_of(cases["text file"][0])["message"].startswith("notes.txt: ")  # the client's name, not ours
    assert "/tmp" not in str({n: r.text for n, (r, _, _) in cases.items()})

    # a huge declared Content-Length is refused before any of the body is read
    for content_type in ("application/octet-stream", "multipart/form-data; boundary=x"):
        status, body = _declared_length_only(server.port, "/v1/jobs?sample_rate=44100", 10**12, content_type)
        assert status == 413 and body["error"]["code"] == "too_large"
    status, body = _declared_length_only(
        server.port, "/v1/jobs?sample_rate=44100", 44100 * 4 * 60 * 25, "application/octet-stream"
    )
    assert status == 422 and body["error"]["code"] == "too_long"  # 25 minutes of PCM, known from the length

    health = c.get("/v1/health").json()
    assert health["status"] == "ok" and health["queue_length"] == 0
    assert generate(c, submit_file(c, wav)).shape == (60, 13, 2)


def test_upload_limit_while_streaming_and_full_queue(home, tmp_path):
    srv = ServerProcess(home, tmp_path, "--max-upload-mb", "2", "--max-queue", "1", "--job-ttl-s", "1.5")
    try:
        c = srv.client

        def chunks():  # no Content-Length: the limit is enforced as the body arrives
            for _ in range(48):
                yield b"\0" * 65536

        response = c.post(
            "/v1/jobs?sample_rate=44100",
            content=chunks(),
            headers={"Content-Type": "application/octet-stream"},
        )
        assert response.status_code == 413 and error_of(response)["code"] == "too_large"

        long = write_music(tmp_path / "long.wav", 600, sample_rate=1000)  # 1.2 MB
        first = submit_file(c, long)
        assert first.status_code == 202
        response = submit_file(c, long)
        assert response.status_code == 429 and error_of(response)["code"] == "queue_full"
        assert response.headers["retry-after"]
        c.delete(f"/v1/jobs/{first.json()['id']}")
        status = wait_final(c, first.json()["id"])
        assert status["state"] == "cancelled" and status["expires_at"] == status["finished_at"] + 1.5
        time.sleep(max(0.0, status["expires_at"] - time.time()) + 0.1)
        assert c.get(f"/v1/jobs/{status['id']}").status_code == 404  # expired after --job-ttl-s
        assert c.get("/v1/health").json()["status"] == "ok"
    finally:
        assert srv.stop() == 0, srv.output()


def test_token_protects_everything_but_health(home, tmp_path):
    srv = ServerProcess(home, tmp_path, env={"VCONDUCTOR_TOKEN": "s3cret-token"})  # not on the command line
    try:
        c = srv.client
        health = c.get("/v1/health")
        assert health.status_code == 200 and health.json()["auth_required"] is True
        for method, path in [
            ("GET", "/v1/models"),
            ("POST", "/v1/jobs"),
            ("GET", "/v1/jobs/x"),
            ("DELETE", "/v1/jobs/x"),
            ("GET", "/openapi.json"),
            ("GET", "/nowhere"),
        ]:
            missing = c.request(method, path)
            assert missing.status_code == 401 and error_of(missing)["code"] == "unauthorized", path
            assert missing.headers["www-authenticate"] == "Bearer"
            wrong = c.request(method, path, headers={"Authorization": "Bearer s3cret-tokeN"})
            assert wrong.status_code == 403 and error_of(wrong)["code"] == "forbidden", path
        basic = c.get("/v1/models", headers={"Authorization": "Basic s3cret-token"})
        assert basic.status_code == 401
        good = {"Authorization": "Bearer s3cret-token"}
        assert c.get("/v1/models", headers=good).status_code == 200
        assert c.get("/v1/jobs/x", headers=good).status_code == 404
        schema = c.get("/openapi.json", headers=good).json()
        assert "HTTPBearer" in schema["components"]["securitySchemes"]
    finally:
        assert srv.stop() == 0


def run_serve(home: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SERVE, *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "VCONDUCTOR_HOME": str(home)},
    )


def test_refuses_to_start_with_a_clear_error(home, server):
    cases = [
        (["--host", "0.0.0.0"], "needs a token"),
        (["--port", str(server.port)], "cannot listen"),
        (["--port", "70000"], "--port must be"),
        (["--max-upload-mb", "0"], "--max-upload-mb must be a positive number"),
        (["--token", " "], "--token must not be empty"),
    ]
    for args, message in cases:
        proc = run_serve(home, *args)
        assert proc.returncode == 1, (args, proc.stderr)
        assert message in proc.stderr and proc.stderr.startswith("error: "), proc.stderr
        assert "Traceback" not in proc.stderr
