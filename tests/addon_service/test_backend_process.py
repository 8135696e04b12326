"""BackendProcess: starting `vconductor serve` the way the add-on does, and every way that can go wrong.

Failures must be one line that quotes the reason from the backend's log, and no process may be left behind
(running or as a zombie)."""

import os
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time

import pytest
from service_harness import REPO, backend_command, gone, music
from virtual_conductor_addon.service import client as vc_client
from virtual_conductor_addon.service import process as vc_process
from virtual_conductor_addon.service.client import ServiceClient, ServiceError
from virtual_conductor_addon.service.process import BackendProcess


@pytest.fixture(autouse=True)
def private_temp(tmp_path, monkeypatch):
    """Backends' temp folders (kept, with their log, when a start fails) go to the test's folder."""
    folder = tmp_path / "temp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


@pytest.fixture
def home(tmp_path):
    return {"VCONDUCTOR_HOME": str(tmp_path / "home")}


def test_start_health_stop_restart(home, tmp_path, monkeypatch):
    monkeypatch.setenv("VCONDUCTOR_TOKEN", "inherited")  # not the add-on's: the backend gets its own
    proc = BackendProcess([backend_command()], device="cpu", env=home)
    assert not proc.running and proc.base_url is None and proc.exit_reason() is None
    url = proc.start(timeout_s=60)
    try:
        pid = proc.pid
        assert proc.running and url.startswith("http://127.0.0.1:") and proc.base_url == url
        assert proc.start() == url  # already running: the same backend
        health = ServiceClient(url).health()
        assert health["status"] == "ok" and health["auth_required"] is True and health["device"] == "cpu"
        log_dir, first_token = os.path.dirname(proc.log_path), proc.token
    finally:
        proc.stop()
    assert not proc.running and proc.returncode == 0 and gone(pid)
    assert not os.path.exists(log_dir), "a clean stop leaves no temp files"
    proc.stop()  # twice: nothing to do
    with pytest.raises(ServiceError, match="not running at .* \\(connection refused\\)"):
        ServiceClient(url).health()
    url2 = proc.start(timeout_s=60)  # the same object starts a new backend
    try:
        assert ServiceClient(url2).health()["status"] == "ok"
        assert proc.token != first_token and proc.client().models(), "each launch has its own token"
    finally:
        proc.stop()


def test_backend_killed_mid_job(home, tmp_path):
    proc = BackendProcess([backend_command()], device="cpu", log_path=str(tmp_path / "b.log"), env=home)
    proc.start(timeout_s=60)
    client = proc.client()
    try:
        handle = client.submit_pcm(music(600.0), 22050, model="procedural")
        deadline = time.monotonic() + 30
        while client.status(handle.id)["state"] == "queued" and time.monotonic() < deadline:
            time.sleep(0.05)
        assert client.status(handle.id)["state"] == "running"
        os.kill(proc.pid, signal.SIGKILL)
        with pytest.raises(ServiceError, match="stopped while working on the job .* the job is lost") as err:
            client.wait(handle.id, poll_s=0.05, timeout_s=30)
        assert err.value.code == vc_client.BACKEND_GONE
        assert "killed by SIGKILL" in proc.exit_reason(wait_s=5) and not proc.running
        with pytest.raises(ServiceError) as result:
            client.result(handle.id)
        assert result.value.code == vc_client.BACKEND_GONE
    finally:
        pid = proc.pid
        proc.stop()
    assert gone(pid) and proc.returncode == -signal.SIGKILL
    assert os.path.exists(tmp_path / "b.log"), "a log the caller chose is kept"


def test_bad_command_path():
    with pytest.raises(ServiceError) as err:
        BackendProcess(["/nonexistent/venv/bin/vconductor"]).start(timeout_s=5)
    assert "executable not found: /nonexistent/venv/bin/vconductor" in str(err.value)
    assert err.value.code == vc_process.NOT_FOUND
    with pytest.raises(ServiceError, match="executable not found: no-such-program-vc"):
        BackendProcess("no-such-program-vc").start(timeout_s=5)
    with pytest.raises(ServiceError, match="No backend command is set"):
        BackendProcess([""]).start(timeout_s=5)


def test_missing_module_is_quoted(tmp_path):
    proc = BackendProcess([sys.executable, "-m", "vconductor_no_such_module"])
    with pytest.raises(ServiceError) as err:
        proc.start(timeout_s=30)
    message = str(err.value)
    assert message.startswith("The backend exited during start-up (exit code 1): ")
    assert "No module named vconductor_no_such_module" in message and "\n" not in message
    assert err.value.code == vc_process.START_FAILED
    assert not proc.running and os.path.exists(proc.log_path), "the log the message names is kept"


def _script(tmp_path, body: str) -> list[str]:
    path = tmp_path / "fake_backend.py"
    path.write_text(textwrap.dedent(body))
    return [sys.executable, str(path)]


def test_traceback_is_reduced_to_its_error(tmp_path):
    command = _script(
        tmp_path,
        """
        import sys
        print("loading models")
        def start():
            raise RuntimeError("CUDA error: no kernel image is available")
        start()
    """,
    )
    with pytest.raises(ServiceError) as err:
        BackendProcess(command).start(timeout_s=30)
    assert str(err.value).startswith(
        "The backend exited during start-up (exit code 1): loading models | RuntimeError: CUDA error: no kernel"
    )


def test_start_timeout_stops_the_process(tmp_path):
    command = _script(
        tmp_path,
        """
        import time
        print("still importing torch", flush=True)
        time.sleep(60)
    """,
    )
    proc = BackendProcess(command)
    start = time.monotonic()
    with pytest.raises(ServiceError) as err:
        proc.start(timeout_s=1.0)
    assert time.monotonic() - start < 15
    assert "did not start within 1 s; its log ends with: still importing torch" in str(err.value)
    assert err.value.code == vc_process.START_TIMEOUT
    assert not proc.running and proc.returncode == -signal.SIGTERM and gone(proc.pid or 0)


def test_stop_kills_a_backend_that_ignores_sigterm(tmp_path):
    """A stand-in backend: answers /v1/health, writes the port file like `vconductor serve`, ignores SIGTERM."""
    command = _script(
        tmp_path,
        """
        import http.server, json, signal, sys, threading
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        port_file = sys.argv[sys.argv.index("--port-file") + 1]
        assert sys.argv[1:5] == ["serve", "--host", "127.0.0.1", "--port"], sys.argv

        class Health(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = json.dumps({"status": "ok", "argv": sys.argv[1:]}).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = http.server.HTTPServer(("127.0.0.1", 0), Health)
        open(port_file, "w").write(str(server.server_address[1]))
        server.serve_forever()
    """,
    )
    proc = BackendProcess(command, device="cuda")
    url = proc.start(timeout_s=30)
    argv = ServiceClient(url).health()["argv"]
    assert argv[argv.index("--device") + 1] == "cuda" and "--max-upload-mb" in argv
    pid = proc.pid
    start = time.monotonic()
    proc.stop(grace_s=0.5)
    assert 0.4 < time.monotonic() - start < 10
    assert proc.returncode == -signal.SIGKILL and gone(pid)
    proc.stop()


HEALTHY_STAND_IN = """
    import http.server, json, sys
    port_file = sys.argv[sys.argv.index("--port-file") + 1]

    class Health(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = json.dumps({"status": "ok"}).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    server = http.server.HTTPServer(("127.0.0.1", 0), Health)
    open(port_file, "w").write(str(server.server_address[1]))
    server.serve_forever()
"""


def test_concurrent_starts_share_one_backend(tmp_path):
    proc = BackendProcess(_script(tmp_path, HEALTHY_STAND_IN))
    urls = []
    threads = [threading.Thread(target=lambda: urls.append(proc.start(timeout_s=30))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    try:
        assert len(urls) == 3 and len(set(urls)) == 1 and proc.running
    finally:
        pid = proc.pid
        proc.stop()
    assert gone(pid)


def test_stop_during_start_ends_the_start(tmp_path):
    proc = BackendProcess(_script(tmp_path, "import time\ntime.sleep(60)\n"))
    errors = []

    def start():
        try:
            proc.start(timeout_s=30)
        except ServiceError as exc:
            errors.append(exc)

    thread = threading.Thread(target=start)
    thread.start()
    deadline = time.monotonic() + 10
    while proc.pid is None and time.monotonic() < deadline:
        time.sleep(0.01)
    pid = proc.pid
    proc.stop()
    thread.join(10)
    assert not thread.is_alive() and len(errors) == 1 and "killed by SIGTERM" in str(errors[0])
    assert not proc.running and gone(pid)


def test_backend_stops_when_the_process_that_started_it_dies(tmp_path):
    """Blender crashing (no atexit, no stop()) must not leave a backend behind: it watches --parent-pid."""
    script = tmp_path / "parent.py"
    script.write_text(
        "import sys, time\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "from virtual_conductor_addon.service.process import BackendProcess\n"
        f"proc = BackendProcess([{backend_command()!r}], device='cpu')\n"
        "proc.start(timeout_s=90)\n"
        "print(proc.pid, flush=True)\n"
        "time.sleep(600)\n"
    )
    parent = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True)
    try:
        backend_pid = int(parent.stdout.readline())
        assert not gone(backend_pid)
        parent.kill()  # like a crash: no atexit handlers run
        parent.wait()
        deadline = time.monotonic() + 10
        while not gone(backend_pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert gone(backend_pid)
    finally:
        parent.kill()
