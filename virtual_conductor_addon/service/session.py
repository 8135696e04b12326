"""The add-on's backend and its generations, without bpy (tested without Blender).

BackendSession owns the backend one Blender session uses: a `vconductor serve` it starts (START mode, stopped
by BackendProcess's own atexit or by stop()) or one it connects to (CONNECT). Starting can take a minute, so
`start_in_background` lets the UI carry on. GenerationJob is one generation on a worker thread: decode the
audio when it comes as a PcmSource (a long sound strip takes a while), submit it, the client's own wait(),
fetch the Motion. The main thread only reads a job's fields and cancels it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import threading
import time
import urllib.parse
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from ..contract import JobState, Motion
from ..contract_beats import BeatTrack
from ..contract_style import ConductingStyle
from .client import BACKEND_GONE, CANCELLED, DISCONNECTED, UNREACHABLE, ServiceClient, ServiceError
from .multipart import JobExtras
from .process import BackendProcess

POLL_INTERVAL_S = 0.2
BACKEND_START_TIMEOUT_S = 120.0  # a first start compiles librosa's numba code
LOST_CONNECTION = (BACKEND_GONE, UNREACHABLE, DISCONNECTED)


class SessionError(Exception):
    """A one-line message for the user: settings the backend cannot be used with, a second generation."""


@dataclass(frozen=True)
class BackendSettings:
    """The add-on's preferences, read on the main thread (worker threads never read bpy)."""

    mode: str  # "START" | "CONNECT"
    command: tuple[str, ...]
    url: str
    token: str
    device: str
    online_access: bool  # Blender's "Allow Online Access"


class PcmSource(Protocol):
    """Audio that the job decodes on its worker thread before sending it."""

    description: str  # what the job says while decoding, e.g. "Reading the audio of 'music.ogg'"

    def decoded(
        self, on_progress: Callable[[float], None], cancelled: Callable[[], bool]
    ) -> AbstractContextManager[np.ndarray | None]:
        """The samples while the context lasts, or None when cancelled() turned true first; SessionError (one
        line for the user) when the audio is unusable. Checks cancelled() at least once a second."""


@dataclass(frozen=True)
class GenerationRequest:
    """What the backend needs for one generation (the Blender side adds where the keys go)."""

    pcm: np.ndarray | PcmSource  # (n,) mono or (n, channels) float samples, or audio still to decode
    sample_rate: int
    model: str | None
    seed: int
    beat_lock: str = field(default="auto", kw_only=True)  # auto | on | off (the backend's beat_lock option)
    style: ConductingStyle = field(default_factory=ConductingStyle, kw_only=True)
    extras: JobExtras | None = field(default=None, kw_only=True)  # the user's beats, a score


SCORE_CASES = {  # the service's alignment cases (docs/scores.md)
    "rendered": "the audio was rendered from it",
    "performance": "the audio is a performance of it",
    "mismatch": "it does not fit the audio",
}


def score_note(report) -> str:
    """One line on how the backend used the job's score: the case it detected and the alignment's confidence
    (the `score` object of the job's beats); "" without one."""
    if not isinstance(report, dict):
        return ""
    case = str(report.get("case") or "")
    note = f"Score: {SCORE_CASES.get(case, case.replace('_', ' ') or 'used')}"
    if case == "mismatch":
        reason = str(report.get("reason") or "").splitlines()[0:1]
        return f"{note} ({reason[0][:120]}); conducting the audio's own beats" if reason else note
    details = []
    confidence = report.get("confidence")
    if isinstance(confidence, int | float) and not isinstance(confidence, bool):
        details.append(f"alignment confidence {float(confidence):.2f}")
    if isinstance(report.get("beats"), int) and isinstance(report.get("bars"), int):
        details.append(f"{report['beats']} beats, {report['bars']} bars")
    return f"{note} ({'; '.join(details)})" if details else note


def is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BackendSession:
    """The backend of one Blender session (started on first use in START mode) and its one generation."""

    def __init__(self) -> None:
        self._lock = threading.Lock()  # held while a backend starts: a second caller gets the same backend
        self._process: BackendProcess | None = None
        self._key: tuple | None = None
        self._starting: BackendProcess | None = None  # the process being started, so stop() can end it
        self._starter: threading.Thread | None = None
        self.known_models: list[str] = []  # model ids the backend last listed (for the panel's model search)
        self.environment: dict[str, str] = {}  # extra variables for a started backend (e.g. VCONDUCTOR_HOME)
        self.start_error = ""  # why the last start_in_background failed ("" when it did not)
        self.job: GenerationJob | None = None  # the generation in flight, until collect_finished() takes it

    # ------------------------------------------------------------------------------------------- the backend

    def client(self, settings: BackendSettings) -> ServiceClient:
        """A client for the backend the settings name; in START mode the backend is started first if needed
        (blocking: up to BACKEND_START_TIMEOUT_S)."""
        if settings.mode == "CONNECT":
            if not is_loopback(settings.url) and not settings.online_access:
                raise SessionError(
                    f"Online access is off (Preferences > System > Network): cannot use the backend at {settings.url}"
                )
            return ServiceClient(settings.url, settings.token)
        with self._lock:
            key = (settings.command, settings.device)
            if self._process is None or not self._process.running or key != self._key:
                self._stop_locked()
                process = BackendProcess(list(settings.command), device=settings.device, env=self.environment)
                self._starting = process
                try:
                    process.start(timeout_s=BACKEND_START_TIMEOUT_S)
                finally:
                    self._starting = None
                self._process, self._key = process, key
            return self._process.client()  # with the backend's per-launch token

    def connect(self, settings: BackendSettings) -> dict:
        """Start or reach the backend now and list its models; its health reply (version, device, ...)."""
        client = self.client(settings)
        health = client.health()
        self.refresh_models(client)
        return health

    def start_in_background(self, settings: BackendSettings) -> None:
        """connect() on a worker thread: `starting` is true until it ends, then `start_error` tells how it went."""
        if self.starting:
            return
        self.start_error = ""
        self._starter = threading.Thread(
            target=self._connect_reporting_errors, args=(settings,), name="vconductor-backend", daemon=True
        )
        self._starter.start()

    def _connect_reporting_errors(self, settings: BackendSettings) -> None:
        try:
            self.connect(settings)
        except (ServiceError, SessionError) as exc:
            self.start_error = str(exc)
        except Exception as exc:  # a one-line message, never a traceback in the user's face
            self.start_error = f"Starting the backend failed: {type(exc).__name__}: {exc}"

    @property
    def starting(self) -> bool:
        """A backend start (or, in CONNECT mode, a background first contact) is under way."""
        return self._starting is not None or (self._starter is not None and self._starter.is_alive())

    @property
    def process(self) -> BackendProcess | None:
        return self._process

    def refresh_models(self, client: ServiceClient) -> None:
        with contextlib.suppress(ServiceError):
            self.known_models = [str(m["id"]) for m in client.models() if isinstance(m, dict) and "id" in m]

    def explain(self, error: Exception) -> str:
        """The error, with why our backend process exited when it did (its log's last lines)."""
        process = self._process
        if process is None:
            return str(error)
        deadline = time.monotonic() + 1.0  # its connections close a moment before the process is gone
        while (
            getattr(error, "code", "") in LOST_CONNECTION and process.running and time.monotonic() < deadline
        ):
            time.sleep(0.02)
        reason = process.exit_reason()
        return f"{error} ({reason})" if reason else str(error)

    def status_line(self) -> str:
        if self.starting:
            return "Backend starting..."
        process = self._process
        if process is not None and process.running:
            return f"Backend running at {process.base_url}"
        return "Backend not running"

    def stop(self) -> None:
        starting = self._starting
        if starting is not None:  # end a start in progress (it fails at once) rather than wait for it
            starting.stop()
        with self._lock:
            self._stop_locked()

    def _stop_locked(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None

    # ------------------------------------------------------------------------------------------- generations

    def generate(self, request: GenerationRequest, settings: BackendSettings) -> GenerationJob:
        """Start a generation on a worker thread; one at a time, it stays `job` until collect_finished()."""
        if self.job is not None:
            raise SessionError("A generation is already running")
        self.job = GenerationJob(self, request, settings)
        self.job.start()
        return self.job

    def collect_finished(self) -> GenerationJob | None:
        """The job once it has finished (no longer `job`: its result is the caller's now), else None."""
        job = self.job
        if job is None or not job.finished:
            return None
        self.job = None
        return job

    def cancel_job(self) -> None:
        if self.job is not None:
            self.job.cancel()

    def forget_job(self) -> None:
        """Cancel the job, if any, and drop it: its result is no longer wanted (e.g. another file is loading)."""
        self.cancel_job()
        self.job = None

    def close(self) -> None:
        self.forget_job()
        self.stop()


class GenerationJob:
    """One generation: connect (starting the backend if need be), submit the PCM, wait, fetch the Motion.

    run() does it all in the calling thread; start() runs it on a worker thread. Only that thread writes the
    fields (state, progress, message, error, result, job_id); others read them and may call cancel().
    """

    def __init__(
        self, session: BackendSession, request: GenerationRequest, settings: BackendSettings
    ) -> None:
        self.session = session
        self.request = request
        self.settings = settings
        self.state = JobState.QUEUED
        self.progress = 0.0
        self.message = getattr(request.pcm, "description", "Starting")  # a PcmSource is decoded first
        self.error = ""
        self.result: Motion | None = None
        self.beats: BeatTrack | None = None  # the backend's beats of the audio, for timeline markers
        self.score_note = ""  # how the backend used the score, when one was sent (score_note)
        self.job_id: str | None = None  # the backend's id, once submitted
        self._cancel = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        self.state = JobState.RUNNING
        self.thread = threading.Thread(target=self.run, name="vconductor-job", daemon=True)
        self.thread.start()

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def finished(self) -> bool:
        return self.state.is_final and (self.thread is None or not self.thread.is_alive())

    def run(self) -> None:
        self.state = JobState.RUNNING
        try:
            self._generate()
        except ServiceError as exc:
            if exc.code == CANCELLED and self._cancel.is_set():
                self._cancelled()
            else:
                self._fail(self.session.explain(exc) if self.settings.mode == "START" else str(exc))
        except SessionError as exc:
            self._fail(str(exc))
        except Exception as exc:  # a one-line message, never a traceback in the user's face
            self._fail(f"Generation failed: {type(exc).__name__}: {exc}")

    def _generate(self) -> None:
        with self._samples() as pcm:
            if pcm is None or self._cancel.is_set():
                self._cancelled()
                return
            self.progress, self.message = 0.0, "Connecting to the backend"
            client = self.session.client(self.settings)
            self.session.refresh_models(client)
            if self._cancel.is_set():
                self._cancelled()
                return
            self.message = "Sending audio"
            request = self.request
            handle = client.submit_pcm(
                pcm,
                request.sample_rate,
                model=request.model,
                seed=request.seed,
                beat_lock=request.beat_lock,
                style=request.style,
                extras=request.extras,
            )
            del pcm  # a decoded file goes once nothing maps it
        self.job_id = handle.id
        final = client.wait(
            handle.id,
            poll_s=POLL_INTERVAL_S,
            on_progress=self._on_progress,
            should_cancel=self._cancel.is_set,
        )
        if final["state"] == JobState.CANCELLED:  # by someone else: the backend stopping, or another client
            error = final.get("error")
            reason = error.get("message") if isinstance(error, dict) else error
            self._fail(f"The backend cancelled the job: {reason or self.message}")
            return
        self.result = client.result(handle.id)
        self.beats = client.beats(handle.id)
        self.score_note = score_note(getattr(self.beats, "score", None) or final.get("score"))
        self.progress, self.state = 1.0, JobState.DONE

    @contextlib.contextmanager
    def _samples(self):
        """The request's samples; a PcmSource is decoded first, its progress shown as the job's."""
        pcm = self.request.pcm
        if isinstance(pcm, np.ndarray):
            yield pcm
            return
        self.message = pcm.description
        with pcm.decoded(self._on_decoding, self._cancel.is_set) as samples:
            yield samples
            del samples  # nothing here may keep a decoded file mapped once the caller is done with it

    def _on_decoding(self, fraction: float) -> None:
        self.progress = fraction

    def _on_progress(self, progress: float, message: str) -> None:
        self.progress, self.message = progress, message

    def _cancelled(self) -> None:
        self.message, self.state = "Cancelled", JobState.CANCELLED

    def _fail(self, message: str) -> None:
        self.error = message.splitlines()[0] if message else "Generation failed"
        self.state = JobState.FAILED
