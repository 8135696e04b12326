"""The add-on's BackendSession and GenerationJob without Blender, against a real `vconductor serve` (started by
the session as the add-on starts it) and stand-ins for backends that never start."""

import os
import signal
import sys
import textwrap
import time

import numpy as np
import pytest
from service_harness import backend_command, closed_port, gone, music
from virtual_conductor_addon.contract import JobState
from virtual_conductor_addon.service.session import (
    BackendSession,
    BackendSettings,
    GenerationJob,
    GenerationRequest,
    SessionError,
)


def _settings(mode: str = "START", command: tuple[str, ...] | None = None, url: str = "", online=True):
    return BackendSettings(mode, command or (backend_command(),), url, "", "cpu", online)


def _request(seconds: float, model: str | None = "procedural", seed: int = 0) -> GenerationRequest:
    return GenerationRequest(music(seconds), 22050, model, seed)


def _wait_finished(session: BackendSession, timeout_s: float = 120.0):
    deadline = time.monotonic() + timeout_s
    while (job := session.collect_finished()) is None:
        assert session.job is not None and time.monotonic() < deadline
        time.sleep(0.05)
    return job


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    session = BackendSession()
    session.environment = {"VCONDUCTOR_HOME": str(tmp_path_factory.mktemp("vconductor-home"))}  # no models
    yield session
    session.close()


def test_started_in_the_background_then_generates_with_the_default_model(session):
    session.start_in_background(_settings())
    assert session.starting and session.status_line() == "Backend starting..."
    deadline = time.monotonic() + 120
    while session.starting:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert session.start_error == "" and session.status_line().startswith(
        "Backend running at http://127.0.0.1:"
    )
    assert "procedural" in session.known_models

    job = session.generate(_request(3.0, model=None, seed=4), _settings())
    assert job is session.job and job.state is JobState.RUNNING
    with pytest.raises(SessionError, match="already running"):
        session.generate(_request(3.0), _settings())
    assert _wait_finished(session) is job and session.job is None
    assert job.state is JobState.DONE and job.progress == 1.0 and job.error == ""
    motion = job.result
    assert motion.model == "procedural" and motion.seed == 4 and motion.keypoints.shape == (90, 13, 2)
    client = session.process.client()
    np.testing.assert_array_equal(motion.keypoints, client.result(job.job_id).keypoints)


def test_cancel_stops_the_backend_job(session):
    job = session.generate(_request(600.0, seed=1), _settings())  # its analysis takes seconds
    deadline = time.monotonic() + 60
    while job.job_id is None:
        assert job.state is JobState.RUNNING, job.error
        assert time.monotonic() < deadline
        time.sleep(0.01)
    session.cancel_job()
    assert _wait_finished(session, 60) is job
    assert job.state is JobState.CANCELLED and job.message == "Cancelled" and job.result is None
    client = session.process.client()
    deadline = time.monotonic() + 60
    while client.status(job.job_id)["state"] != "cancelled":  # a running job stops at its next window
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_a_killed_backend_is_explained_and_the_next_job_restarts_it(session):
    job = session.generate(_request(600.0, seed=2), _settings())
    deadline = time.monotonic() + 60
    while job.job_id is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    pid = session.process.pid
    os.kill(pid, signal.SIGKILL)  # a crash: the session did not ask for it
    job = _wait_finished(session, 60)
    assert job.state is JobState.FAILED and "stopped while working on the job" in job.error, job.error
    assert "The backend exited (killed by SIGKILL)" in job.error and "\n" not in job.error and gone(pid)
    # the next generation (here run in the calling thread, as Blender's background mode does) starts a new one
    again = GenerationJob(session, _request(2.0), _settings())
    again.run()
    assert again.state is JobState.DONE and session.process.pid != pid


def test_unreachable_or_refused_backends_fail_with_one_line():
    session = BackendSession()
    job = session.generate(_request(1.0), _settings("CONNECT", url=f"http://127.0.0.1:{closed_port()}"))
    job = _wait_finished(session, 30)
    assert job.state is JobState.FAILED and "connection refused" in job.error
    with pytest.raises(SessionError, match="Online access is off"):
        session.client(_settings("CONNECT", url="http://192.0.2.1:8765", online=False))
    session.start_in_background(_settings(command=("/nonexistent/bin/vconductor",)))
    while session.starting:
        time.sleep(0.01)
    assert "executable not found: /nonexistent/bin/vconductor" in session.start_error
    assert session.status_line() == "Backend not running"


def test_stop_ends_a_start_in_progress(tmp_path):
    """Closing the session (Blender quitting, the add-on disabled) does not wait for a slow start."""
    script = tmp_path / "slow_backend.py"
    script.write_text(
        textwrap.dedent("""
        import time
        print("still importing torch", flush=True)
        time.sleep(60)
    """)
    )
    session = BackendSession()
    session.start_in_background(_settings(command=(sys.executable, str(script))))
    deadline = time.monotonic() + 10
    while session._starting is None or not session._starting.running:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    start = time.monotonic()
    session.close()
    while session.starting:
        time.sleep(0.01)
    assert time.monotonic() - start < 10
    assert "exited during start-up (killed by SIGTERM)" in session.start_error
    assert session.process is None
