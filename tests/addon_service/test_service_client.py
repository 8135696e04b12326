"""The add-on's HTTP client against a real `vconductor serve` (started by the add-on's BackendProcess), and
against small stand-in servers for the replies a real backend never sends (garbage, 5xx, silence)."""

import http.server
import json
import socket
import subprocess
import threading
import time

import numpy as np
import pytest
import soundfile as sf
from service_harness import backend_command, closed_port, music
from virtual_conductor_addon.contract import JOINT_NAMES
from virtual_conductor_addon.service import client as vc_client
from virtual_conductor_addon.service.client import ServiceClient, ServiceError
from virtual_conductor_addon.service.process import BackendProcess

TOKEN = "s3cret-token"
SEED = 7


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    return tmp_path_factory.mktemp("vconductor-home")  # no registered model: procedural is the default


@pytest.fixture(scope="module")
def backend(home, tmp_path_factory):
    """One token-protected backend for the module, started the way the add-on starts it."""
    log = tmp_path_factory.mktemp("backend") / "backend.log"
    proc = BackendProcess(
        [backend_command()], device="cpu", log_path=str(log), token=TOKEN, env={"VCONDUCTOR_HOME": str(home)}
    )
    proc.start(timeout_s=60)
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
def client(backend):
    return ServiceClient(backend.base_url, TOKEN)


@pytest.fixture(scope="module")
def procedural_job(client, tmp_path_factory):
    """A 4 s WAV, its PCM sent to the backend (procedural, seed 7), with the progress seen while waiting."""
    wav = tmp_path_factory.mktemp("audio") / "music.wav"
    sf.write(wav, music(4.0), 22050)  # 16-bit: the PCM we send is what the CLI decodes from this file
    pcm, rate = sf.read(wav, dtype="float32")
    handle = client.submit_pcm(pcm, rate, model="procedural", seed=SEED)
    progress = []
    final = client.wait(
        handle.id, poll_s=0.05, timeout_s=60, on_progress=lambda p, m: progress.append((p, m))
    )
    return {
        "wav": wav,
        "handle": handle,
        "progress": progress,
        "final": final,
        "result": client.result(handle.id),
    }


def test_health_and_models(client, backend):
    health = client.health()
    assert health["status"] == "ok" and health["auth_required"] is True and health["device"] == "cpu"
    models = client.models()
    assert {"id": "procedural", "kind": "procedural", "default": True} in [
        {k: m[k] for k in ("id", "kind", "default")} for m in models
    ]


def test_result_equals_the_cli_for_the_same_pcm(procedural_job, tmp_path):
    out = tmp_path / "cli.npz"
    subprocess.run(
        [
            backend_command(),
            "generate",
            "--model",
            "procedural",
            "--seed",
            str(SEED),
            "-q",
            str(procedural_job["wav"]),
            "-o",
            str(out),
        ],
        check=True,
        timeout=120,
    )
    with np.load(out) as cli:
        expected = cli["keypoints"]
    result = procedural_job["result"]
    assert result.keypoints.dtype == np.float32 and result.keypoints.shape == (120, 13, 2)
    np.testing.assert_array_equal(result.keypoints, expected)
    assert (result.fps, result.duration_s, result.model, result.seed) == (
        30,
        4.0,
        "procedural",
        SEED,
    )
    assert procedural_job["handle"].model == "procedural" and procedural_job["handle"].num_frames == 120


def test_json_result_matches_npz(client, procedural_job):
    as_json = client.result(procedural_job["handle"].id, npz=False)
    np.testing.assert_allclose(as_json.keypoints, procedural_job["result"].keypoints, atol=1e-6)
    assert as_json.keypoints.dtype == np.float32 and as_json.seed == SEED


def test_stereo_float64_is_sent_as_interleaved_float32(client, procedural_job):
    mono, _ = sf.read(procedural_job["wav"], dtype="float32")
    stereo = np.stack([mono, mono], axis=1).astype(np.float64)  # what a caller may hold; downmixes to `mono`
    handle = client.submit_pcm(stereo, 22050, model="procedural", seed=SEED)
    assert client.wait(handle.id, poll_s=0.05, timeout_s=60)["state"] == "done"
    np.testing.assert_array_equal(client.result(handle.id).keypoints, procedural_job["result"].keypoints)


def test_progress_values(procedural_job):
    values = [p for p, _ in procedural_job["progress"]]
    assert values and all(0.0 <= p <= 1.0 for p in values)
    assert values == sorted(values), "progress went backwards"
    assert values[-1] == 1.0 and procedural_job["final"]["state"] == "done"
    assert all(isinstance(m, str) for _, m in procedural_job["progress"])


def test_cancel_running_and_queued_jobs(client):
    long_piece = music(600.0)  # its analysis takes seconds: time to cancel it while it runs
    running = client.submit_pcm(long_piece, 22050, model="procedural", seed=1)
    queued = client.submit_pcm(music(3.0), 22050, model="procedural")
    deadline = time.monotonic() + 30
    while client.status(running.id)["state"] == "queued" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert client.status(running.id)["state"] == "running"
    client.cancel(queued.id)
    assert client.status(queued.id)["state"] == "cancelled"  # a queued job stops at once
    client.cancel(running.id)
    assert client.wait(running.id, poll_s=0.1, timeout_s=60)["state"] == "cancelled"
    with pytest.raises(ServiceError, match="cancelled") as err:
        client.result(running.id)
    assert err.value.code == vc_client.CANCELLED
    client.cancel("no-such-job")  # unknown or forgotten: nothing to cancel, not an error


def test_wait_cancels_the_job_when_asked(client):
    handle = client.submit_pcm(music(600.0), 22050, model="procedural", seed=3)
    polls = []
    with pytest.raises(ServiceError, match="was cancelled") as err:
        client.wait(
            handle.id,
            poll_s=0.05,
            timeout_s=60,
            on_progress=lambda progress, _message: polls.append(progress),
            should_cancel=lambda: len(polls) >= 2,
        )
    assert err.value.code == vc_client.CANCELLED and len(polls) == 2
    assert client.wait(handle.id, poll_s=0.1, timeout_s=60)["state"] == "cancelled"


def test_wrong_or_missing_token(backend):
    assert ServiceClient(backend.base_url).health()["status"] == "ok"  # health needs no token
    with pytest.raises(ServiceError, match="refused the token") as wrong:
        ServiceClient(backend.base_url, "not-the-token").models()
    with pytest.raises(ServiceError, match="needs a token") as missing:
        ServiceClient(backend.base_url).submit_pcm(music(1.0), 22050)
    assert (wrong.value.code, wrong.value.status, missing.value.status) == (vc_client.AUTH, 403, 401)


def test_refusals_quote_the_service(client):
    with pytest.raises(ServiceError) as silent:
        client.submit_pcm(np.zeros(22050 * 2, np.float32), 22050, model="procedural")
    assert silent.value.code == vc_client.REFUSED and silent.value.status == 422
    assert "silent" in str(silent.value) and "\n" not in str(silent.value)
    with pytest.raises(ServiceError, match="unknown model 'nope'"):
        client.submit_pcm(music(1.0), 22050, model="nope")
    with pytest.raises(ServiceError, match="no job") as unknown:
        client.status("0123456789abcdef")
    assert unknown.value.status == 404
    with pytest.raises(ServiceError, match="shape"):
        client.submit_pcm(np.zeros((2, 3, 4), np.float32), 22050)
    with pytest.raises(ServiceError, match="beat_lock") as lock:
        client.submit_pcm(music(1.0), 22050, model="procedural", beat_lock="sometimes")
    assert lock.value.status == 422


def test_a_style_reaches_the_backend_and_the_3d_comes_back(client, procedural_job):
    """The add-on's ConductingStyle travels as the service's options: a left-handed, smaller conductor
    without a baton; the plain job's result carries the authored 3D and the baton tip."""
    from virtual_conductor_addon.contract_style import ConductingStyle

    plain = procedural_job["result"]
    assert plain.keypoints3d is not None and plain.baton_tip is not None
    pcm, rate = sf.read(procedural_job["wav"], dtype="float32")
    style = ConductingStyle(size=0.6, left_handed=True, baton=False)
    handle = client.submit_pcm(pcm, rate, model="procedural", seed=SEED, style=style)
    client.wait(handle.id, poll_s=0.05, timeout_s=60)
    styled = client.result(handle.id)
    assert styled.baton_tip is None
    wrist, left = JOINT_NAMES.index("right_wrist"), JOINT_NAMES.index("left_wrist")
    beating = np.ptp(styled.keypoints[:, left], axis=0).sum()
    assert beating < 0.8 * np.ptp(plain.keypoints[:, wrist], axis=0).sum()  # the left hand beats, smaller
    assert beating > np.ptp(styled.keypoints[:, wrist], axis=0).sum()


def test_the_job_beats_come_with_the_result(client, procedural_job):
    beats = client.beats(procedural_job["handle"].id)
    assert beats is not None and beats.duration_s == pytest.approx(4.0, abs=0.01)
    assert np.all(np.diff(beats.beats_s) > 0) and len(beats.confidence) == len(beats.beats_s)
    assert client.beats("0123456789abcdef") is None  # unknown or expired: no beats, no error


def test_failed_job_quotes_its_error(client, home, monkeypatch, random_generator_file):
    """A registered model whose checkpoint broke after registration: the job fails in the worker."""
    monkeypatch.setenv("VCONDUCTOR_HOME", str(home))
    from vconductor.registry import add_model, remove_model

    entry = add_model("broken", random_generator_file)
    try:
        entry.path.write_bytes(b"not a checkpoint")
        handle = client.submit_pcm(music(2.0), 22050, model="broken")
        with pytest.raises(
            ServiceError, match="could not generate the motion: cannot load model 'broken'"
        ) as err:
            client.wait(handle.id, poll_s=0.1, timeout_s=60)
        assert err.value.code == vc_client.JOB_FAILED and "\n" not in str(err.value)
        with pytest.raises(ServiceError, match="cannot load model 'broken'") as again:
            client.result(handle.id)
        assert again.value.code == vc_client.JOB_FAILED
    finally:
        remove_model("broken")


# ------------------------------------------------------------------------------- no backend, or a bad one


def test_connection_refused_names_the_url():
    port = closed_port()
    with pytest.raises(ServiceError) as err:
        ServiceClient(f"http://127.0.0.1:{port}").health()
    assert str(err.value).startswith(
        f"The Virtual Conductor backend is not running at http://127.0.0.1:{port} (connection refused). Start it"
    )
    assert err.value.code == vc_client.UNREACHABLE
    with pytest.raises(ServiceError) as during_job:
        ServiceClient(f"http://127.0.0.1:{port}").status("abc")
    assert during_job.value.code == vc_client.BACKEND_GONE and "the job is lost" in str(during_job.value)


def test_timeout():
    with socket.socket() as silent:  # accepts connections (the backlog) and never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(4)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        start = time.monotonic()
        with pytest.raises(
            ServiceError, match=r"did not answer GET /v1/health within 0.3 s \(timeout\)"
        ) as err:
            ServiceClient(url, timeout_s=0.3).health()
    assert err.value.code == vc_client.TIMEOUT and time.monotonic() - start < 5


def test_invalid_url():
    with pytest.raises(ServiceError, match="Invalid backend URL"):
        ServiceClient("127.0.0.1:8765")


def _result_json(keypoints, **fields) -> bytes:
    document = {
        "keypoints": keypoints,
        "fps": 30,
        "duration_s": 0.1,
        "model": "procedural",
        "seed": 1,
        **fields,
    }
    return json.dumps({name: value for name, value in document.items() if value is not None}).encode()


NOT_FOUND = (404, "application/json", b'{"error": {"code": "not_found", "message": "x"}}')
THREE_FRAMES = np.full((3, 13, 2), 0.5).tolist()


class _StandIn(http.server.BaseHTTPRequestHandler):
    """Replies a real backend never sends."""

    routes = {
        "/v1/health": (200, "application/json", b"<html>not json</html>"),
        "/v1/models": (500, "application/json", b'{"error": {"code": "internal_error", "message": "boom"}}'),
        "/v1/jobs/j1": (502, "text/html", b"<html><body>Bad Gateway</body></html>"),
        "/v1/jobs/j2/result.npz": (200, "application/octet-stream", b"PK garbage"),
        "/v1/jobs/j2/result": (
            200,
            "application/json",
            _result_json(THREE_FRAMES, joint_names=[], source=""),
        ),
        "/v1/jobs/j3/result.npz": NOT_FOUND,
        "/v1/jobs/j3/result": (
            200,
            "application/json",
            _result_json([[1, 2]], duration_s=1, model="m", seed=0),
        ),
        "/v1/jobs/j4/result.npz": NOT_FOUND,
        "/v1/jobs/j4/result": (200, "application/json", _result_json([], duration_s=None)),
        "/v1/jobs/j5/result.npz": NOT_FOUND,
        "/v1/jobs/j5/result": (200, "application/json", _result_json(np.full((3, 13, 2), np.nan).tolist())),
    }

    def do_GET(self):
        status, kind, body = self.routes.get(self.path, (404, "text/plain", b"nothing here"))
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def stand_in():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _StandIn)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield ServiceClient(f"http://127.0.0.1:{server.server_address[1]}")
    server.shutdown()
    server.server_close()


def test_malformed_replies_and_server_errors(stand_in):
    with pytest.raises(ServiceError, match=r"malformed reply to GET /v1/health \(not JSON") as not_json:
        stand_in.health()
    with pytest.raises(
        ServiceError, match=r"failed while listing the models \(HTTP 500 internal_error\): boom"
    ):
        stand_in.models()
    with pytest.raises(
        ServiceError, match=r"while reading the job.s status \(HTTP 502\): Bad Gateway\. Its log"
    ) as html:
        stand_in.status("j1")
    assert (not_json.value.code, html.value.code, html.value.status) == (
        vc_client.BAD_REPLY,
        "server_error",
        502,
    )
    with pytest.raises(
        ServiceError, match=r"keypoints must have shape \(frames, 13, 2\); got \(1, 2\)"
    ) as bad:
        stand_in.result("j3")  # no .npz route: falls back to JSON, whose keypoints are wrong
    assert bad.value.code == vc_client.BAD_REPLY
    with pytest.raises(ServiceError, match=r"unreadable result.*'duration_s'") as incomplete:
        stand_in.result("j4")
    with pytest.raises(ServiceError, match=r"unreadable result.*non-finite values") as not_finite:
        stand_in.result("j5")
    assert incomplete.value.code == not_finite.value.code == vc_client.BAD_REPLY


def test_unreadable_npz_falls_back_to_json(stand_in):
    result = stand_in.result("j2")
    assert result.keypoints.shape == (3, 13, 2) and result.keypoints.dtype == np.float32
    assert result.model == "procedural" and result.num_frames == 3
