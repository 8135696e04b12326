"""Stalled request headers (`--header-timeout-s`), against a real server process on loopback.

A client that connects and sends nothing, half a request, or its headers a line at a time for ever, is answered
with a JSON 408 and its connection closed after the timeout; a kept-alive connection idle between requests for
longer than the header timeout (but not the keep-alive one) still works, and so does a slow but complete upload.
"""

# ruff: noqa: F811 (the fixture home comes from test_service, as pytest passes it)

import json
import socket
import subprocess
import time

import numpy as np
import pytest
import soundfile as sf

from conftest import write_music
from test_service import SERVE, ServerProcess, home  # noqa: F401 (fixtures)

TIMEOUT_S = 1.0
HEAD = b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"


@pytest.fixture(scope="module")
def server(home, tmp_path_factory):
    srv = ServerProcess(home, tmp_path_factory.mktemp("headers"), "--header-timeout-s", str(TIMEOUT_S))
    yield srv
    assert srv.stop() == 0, srv.output()
    assert "Traceback" not in srv.output(), srv.output()


def _connect(srv: ServerProcess) -> socket.socket:
    return socket.create_connection(("127.0.0.1", srv.port), timeout=10)


def _response(sock: socket.socket) -> tuple[int, bytes, bytes]:
    """(status, head, body) of one response with a Content-Length."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, f"the server closed the connection without an answer: {data!r}"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1]) for line in head.lower().split(b"\r\n") if b"content-length:" in line
    )
    while len(body) < length:
        body += sock.recv(65536)
    return int(head.split()[1]), head.lower(), body


def _closed_by_server(sock: socket.socket, within_s: float) -> bool:
    sock.settimeout(within_s)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def _send_lines_slowly(sock: socket.socket, started: float) -> None:
    """One header line every 0.3 s for 3 timeouts (never a blank line): each byte is fresh, the request is not."""
    sock.sendall(HEAD)
    try:
        while time.monotonic() - started < 3 * TIMEOUT_S:
            time.sleep(0.3)
            sock.sendall(b"X-Slow: 1\r\n")
    except (BrokenPipeError, ConnectionResetError):
        pass  # cut, as it should be


@pytest.mark.parametrize("sends", ["nothing", "half the headers", "a header line every 0.3 s"])
def test_a_client_that_does_not_finish_its_headers_is_answered_408_and_closed(server, sends):
    log = server.output()
    sock = _connect(server)
    started = time.monotonic()
    try:
        if sends == "half the headers":
            sock.sendall(HEAD)
        elif sends == "a header line every 0.3 s":
            _send_lines_slowly(sock, started)
        status, head, body = _response(sock)
        answered_after = time.monotonic() - started
        closed = _closed_by_server(sock, within_s=2)
    finally:
        sock.close()
    assert status == 408 and b"content-type: application/json" in head and closed
    error = json.loads(body)["error"]
    assert error["code"] == "header_timeout" and "--header-timeout-s" in error["message"], error
    assert TIMEOUT_S - 0.1 < answered_after < TIMEOUT_S + 1.5
    time.sleep(0.1)
    lines = server.output()[len(log) :].strip().splitlines()
    assert len(lines) == 1 and "sent no complete request headers in 1 s" in lines[0], lines


def test_a_kept_alive_connection_idle_longer_than_the_header_timeout_still_works(server):
    """Between requests the keep-alive timeout (5 s) applies, not the header one."""
    sock = _connect(server)
    try:
        for _ in range(2):
            sock.sendall(HEAD + b"\r\n")
            assert _response(sock)[0] == 200
            time.sleep(2 * TIMEOUT_S)
    finally:
        sock.close()
    assert server.client.get("/v1/health").status_code == 200  # an ordinary client


def test_a_slow_but_complete_upload_is_accepted(server, tmp_path):
    """Headers at once, then the body in pieces over twice the header timeout (the body has its own)."""
    write_music(tmp_path / "a.wav", 2.0)
    samples, rate = sf.read(tmp_path / "a.wav", dtype="float32")
    body = np.ascontiguousarray(samples, dtype="<f4").tobytes()
    sock = _connect(server)
    try:
        head = f"POST /v1/jobs?sample_rate={rate}&channels=1 HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        sock.sendall(
            f"{head}Content-Type: application/octet-stream\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        )
        pieces = np.array_split(np.frombuffer(body, np.uint8), 4)
        for piece in pieces:
            time.sleep(0.6 * TIMEOUT_S)
            sock.sendall(piece.tobytes())
        status, _, answer = _response(sock)
    finally:
        sock.close()
    assert status == 202, answer


def test_serve_help_shows_the_header_timeout():
    out = subprocess.run([*SERVE, "--help"], capture_output=True, text=True, timeout=60).stdout
    assert "--header-timeout-s" in out
