"""The server's lifetime and its requests' (issue 13, items 5 and 10), against real server processes.

ffmpeg dies with a server killed by SIGKILL; SIGTERM answers the uploads in flight with a JSON 503 at once and
leaves nothing behind; a stalled upload is cut after --body-timeout-s with its connection and file released; a
client that disconnects midway costs one log line; /v1/health answers during a large multipart upload.
"""

# ruff: noqa: F811 (the fixture home comes from test_service, as pytest passes it)

import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from test_service import SERVE, ServerProcess, error_of, home  # noqa: F401 (fixtures)
from vconductor.audio import ffmpeg_executable

pytestmark = pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds ffmpeg and descriptors in /proc")
MiB = 2**20


@pytest.fixture(scope="module")
def long_mka(tmp_path_factory) -> Path:
    """10 minutes of 48 kHz stereo in Matroska: libsndfile cannot read it, so ffmpeg decodes it, for seconds."""
    path = tmp_path_factory.mktemp("mka") / "long.mka"
    lavfi = ["-f", "lavfi", "-i", "anullsrc=r=48000:cl=stereo:nb_samples=4608", "-t", "600", "-c:a", "flac"]
    cmd = [ffmpeg_executable(), "-nostdin", "-y", "-v", "error", *lavfi, str(path)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    return path


@pytest.fixture(scope="module")
def quick_timeout_server(home, tmp_path_factory):
    """A server that cuts a stalled body after 2 s, with its own temp folder (to see what it leaves there)."""
    tmp = tmp_path_factory.mktemp("quick")
    (tmp / "temp").mkdir()
    srv = ServerProcess(home, tmp, "--body-timeout-s", "2", env={"TMPDIR": str(tmp / "temp")})
    srv.temp = tmp / "temp"
    _wait_warm(srv)  # the model's warm-up opens files too: count descriptors after it
    yield srv
    assert srv.stop() == 0, srv.output()


# ------------------------------------------------------------------------------------------------ helpers


def _state(pid: int) -> str | None:
    """The process's state letter (R, S, T, Z...), None when it no longer exists."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return None


def _ended(pid: int) -> bool:
    return _state(pid) in (None, "Z", "X")  # a zombie has exited: only its parent has not reaped it yet


def _decoding_ffmpeg(server_pid: int, timeout: float = 30) -> int:
    """The ffmpeg child decoding into a pipe for the server (not the probe that reads the header)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            try:
                if not entry.name.isdigit() or not (entry / "comm").read_text().startswith("ffmpeg"):
                    continue
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                if ppid == server_pid and b"pipe:1" in (entry / "cmdline").read_bytes():
                    return int(entry.name)
            except (OSError, IndexError, ValueError):
                continue  # a process that ended meanwhile
        time.sleep(0.02)
    raise AssertionError("the server started no ffmpeg")


def _wait_ended(pid: int, timeout: float) -> float:
    """Seconds until `pid` ended (at most `timeout`, then it is killed and the test fails)."""
    started = time.monotonic()
    while not _ended(pid):
        if time.monotonic() - started > timeout:
            os.kill(pid, signal.SIGKILL)
            raise AssertionError(f"process {pid} still runs {timeout} s later ({_state(pid)})")
        time.sleep(0.02)
    return time.monotonic() - started


def _submit_in_thread(url: str, path: Path) -> dict:
    """POST `path` from a thread; the dict receives "response" or "error"."""
    outcome: dict = {}

    def post():
        try:
            with open(path, "rb") as f:
                outcome["response"] = httpx.post(f"{url}/v1/jobs", files={"file": (path.name, f)}, timeout=60)
        except httpx.HTTPError as exc:
            outcome["error"] = exc

    outcome["thread"] = threading.Thread(target=post, daemon=True)
    outcome["thread"].start()
    return outcome


def _partial_upload(port: int, kind: str, sent: int, declared: int) -> socket.socket:
    """Headers promising `declared` body bytes, and only `sent` of them."""
    if kind == "pcm":
        path, content_type, body = "/v1/jobs?sample_rate=22050", "application/octet-stream", b"\0" * sent
    else:
        head = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\n'
        path, content_type, body = "/v1/jobs", "multipart/form-data; boundary=b", head + b"\0" * sent
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    headers = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
    sock.sendall(f"{headers}Content-Length: {declared}\r\n\r\n".encode() + body)
    return sock


def _read_response(sock: socket.socket) -> tuple[int, dict, bool]:
    """(status, JSON body, whether the server closed the connection after it)."""
    data = b""
    while b"\r\n\r\n" not in data or len(data) < _response_length(data):
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    assert b"content-type: application/json" in head.lower(), data[:300]
    sock.settimeout(5)
    try:
        closed = sock.recv(1) == b""
    except ConnectionResetError:
        closed = True
    except TimeoutError:
        closed = False
    return int(head.split()[1]), json.loads(body), closed


def _response_length(data: bytes) -> int:
    head = data.partition(b"\r\n\r\n")[0]
    length = [
        line.split(b":")[1] for line in head.lower().split(b"\r\n") if line.startswith(b"content-length:")
    ]
    return len(head) + 4 + (int(length[0]) if length else 0)


def _wait_warm(srv: ServerProcess, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not srv.client.get("/v1/health").json()["models_loaded"] and time.monotonic() < deadline:
        time.sleep(0.1)


def _descriptors(pid: int) -> set[str]:
    """What the process's file descriptors point to (sockets by inode, files by path)."""
    found = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            found.add(f"{fd} -> {os.readlink(f'/proc/{pid}/fd/{fd}')}")
        except OSError:
            continue  # closed meanwhile
    return found


def _uploads(temp: Path) -> list[Path]:
    """The files in a running server's upload folder."""
    return list(temp.glob("vconductor-service-*/*/*"))


def _new_log(srv: ServerProcess, before: str) -> list[str]:
    return srv.output()[len(before) :].strip().splitlines()


# ---------------------------------------------------------------------------------------------------- tests


def test_ffmpeg_dies_with_a_server_killed_mid_decode(home, tmp_path, long_mka):
    """ffmpeg is stopped (SIGSTOP) before the server is killed, so that it cannot notice its broken output pipe
    (as when it reads input without writing): only the parent-death signal can end it then."""
    srv = ServerProcess(home, tmp_path)
    upload = _submit_in_thread(srv.url, long_mka)
    ffmpeg = _decoding_ffmpeg(srv.proc.pid)
    try:
        os.kill(ffmpeg, signal.SIGSTOP)
        srv.proc.kill()
        srv.proc.wait(10)
        assert _wait_ended(ffmpeg, timeout=2) < 2
    finally:
        if not _ended(ffmpeg):
            os.kill(ffmpeg, signal.SIGKILL)
    upload["thread"].join(30)
    assert "error" in upload  # the connection broke: no answer from a killed server


def test_sigterm_answers_uploads_in_flight_with_json_503(home, tmp_path, long_mka):
    """One upload is being decoded (ffmpeg running), another is half sent: SIGTERM answers both at once."""
    (tmp_path / "temp").mkdir()
    srv = ServerProcess(home, tmp_path, env={"TMPDIR": str(tmp_path / "temp")})
    _wait_warm(srv)  # a stop during the model's warm-up waits for it (seconds): not what is measured here
    decoding = _submit_in_thread(srv.url, long_mka)
    ffmpeg = _decoding_ffmpeg(srv.proc.pid)
    half_sent = _partial_upload(srv.port, "pcm", sent=MiB, declared=4 * MiB)
    time.sleep(0.3)  # the server has read what was sent
    started = time.monotonic()
    srv.proc.send_signal(signal.SIGTERM)
    status, body, closed = _read_response(half_sent)
    answered_in = time.monotonic() - started
    assert (status, body["error"]["code"]) == (503, "shutting_down") and closed, body
    decoding["thread"].join(30)
    response = decoding["response"]
    assert response.status_code == 503 and error_of(response)["code"] == "shutting_down", response.text
    assert srv.proc.wait(30) == 0, srv.output()
    print(f"answered in {answered_in:.2f} s, exited in {time.monotonic() - started:.2f} s")
    assert answered_in < 2  # before: a plain-text 500 once the 5 s grace period was over
    assert time.monotonic() - started < 5
    assert _wait_ended(ffmpeg, timeout=2) < 2
    assert not list((tmp_path / "temp").glob("vconductor-service-*/*")), "uploads left behind"
    assert "Traceback" not in srv.output(), srv.output()


@pytest.mark.parametrize("kind", ["pcm", "multipart"])
def test_a_stalled_upload_is_cut_and_its_connection_and_file_released(quick_timeout_server, kind):
    srv = quick_timeout_server
    assert srv.client.get("/v1/health").status_code == 200
    descriptors, log = _descriptors(srv.proc.pid), srv.output()
    sock = _partial_upload(srv.port, kind, sent=256 * 1024, declared=8 * MiB)
    started = time.monotonic()
    try:
        status, body, closed = _read_response(sock)
    finally:
        sock.close()
    assert (status, body["error"]["code"]) == (408, "body_timeout") and closed, body
    assert "--body-timeout-s" in body["error"]["message"]
    assert 1.9 < time.monotonic() - started < 6
    deadline = time.monotonic() + 2
    while len(_descriptors(srv.proc.pid)) > len(descriptors) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _descriptors(srv.proc.pid) <= descriptors  # the socket and the partial file are closed
    assert not _uploads(srv.temp), "the partial upload was left on disk"
    lines = _new_log(srv, log)
    assert len(lines) == 1 and "sent no data for 2 s" in lines[0], lines


def test_a_client_that_disconnects_mid_upload_costs_one_log_line(quick_timeout_server):
    srv = quick_timeout_server
    log = srv.output()
    for kind in ("pcm", "multipart"):
        sock = _partial_upload(srv.port, kind, sent=512 * 1024, declared=8 * MiB)
        time.sleep(0.2)
        sock.close()
        time.sleep(0.3)
    lines = _new_log(srv, log)
    assert len(lines) == 2 and all("disconnected after" in line for line in lines), (
        lines
    )  # before: tracebacks
    assert not _uploads(srv.temp)
    assert srv.client.get("/v1/health").json()["status"] == "ok"


def test_serve_help_shows_the_body_timeout():
    out = subprocess.run([*SERVE, "--help"], capture_output=True, text=True, timeout=60).stdout
    assert "--body-timeout-s" in out


def test_health_answers_during_a_large_multipart_upload(quick_timeout_server, tmp_path):
    """Parsing the body runs in worker threads: the event loop stays free (before: 1.1 s stalls at 256 MB)."""
    big = tmp_path / "big.wav"  # 1 kHz 16-bit noise: refused as far too long as soon as it has arrived
    with sf.SoundFile(big, "w", 1000, 1, "PCM_16") as f:
        block = np.random.default_rng(0).uniform(-0.1, 0.1, 4 * MiB).astype(np.float32)
        for _ in range(24):  # 8 MiB each
            f.write(block)
    srv, latencies, done = quick_timeout_server, [], threading.Event()

    def poll():
        with httpx.Client(base_url=srv.url, timeout=30) as c:
            while not done.is_set():
                started = time.monotonic()
                assert c.get("/v1/health").status_code == 200
                latencies.append(time.monotonic() - started)
                time.sleep(0.01)

    poller = threading.Thread(target=poll)
    poller.start()
    try:
        with open(big, "rb") as f:
            response = srv.client.post("/v1/jobs", files={"file": (big.name, f)})
    finally:
        done.set()
        poller.join()
    assert response.status_code == 422 and error_of(response)["code"] == "too_long", response.text
    print(f"{big.stat().st_size / MiB:.0f} MB upload: /v1/health at most {max(latencies) * 1000:.0f} ms")
    assert len(latencies) > 10 and max(latencies) < 0.4
