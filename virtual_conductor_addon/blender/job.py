"""One generation: audio to the backend on a worker thread (HTTP only, never bpy), keys on the main thread.

In the GUI a `bpy.app.timers` callback, `poll_job()`, mirrors the worker's progress into
`window_manager.vconductor_job` and applies the result when the backend is done. `poll_job` is a plain
function so that tests (where timers never fire) can call it in a loop. In background mode the same work runs
synchronously inside the operator.
"""

import atexit
import contextlib
import ipaddress
import os
import shlex
import threading
import time
import urllib.parse
from dataclasses import dataclass

import bpy
import numpy as np

from ..motion.bone_map import BoneMap
from ..motion.keypoint_files import KeypointTake
from ..motion.lifting import LiftConfig
from ..motion.pipeline import MotionError, animate_rig, key_frames
from ..service import client as service_client
from ..service.client import ServiceClient, ServiceError
from ..service.process import BackendProcess
from . import armature, keys, take_data
from .audio import FrameRange

POLL_INTERVAL_S = 0.2
BACKEND_START_TIMEOUT_S = 120.0  # a first start compiles librosa's numba code
LOST_CONNECTION = (service_client.BACKEND_GONE, service_client.UNREACHABLE, service_client.DISCONNECTED)


class JobError(Exception):
    """A one-line message for the user; nothing in the scene has changed."""


@dataclass(frozen=True)
class BackendSettings:
    """The preferences, resolved on the main thread (the worker thread never reads bpy)."""

    mode: str  # "START" | "CONNECT"
    command: tuple[str, ...]
    url: str
    token: str
    device: str
    online_access: bool  # Blender's "Allow Online Access"

    @classmethod
    def from_preferences(cls, prefs) -> "BackendSettings":
        online = bool(getattr(bpy.app, "online_access", True))
        command = tuple(backend_command(prefs.backend_command))
        return cls(prefs.backend_mode, command, prefs.url, prefs.token, prefs.device, online)


@dataclass(frozen=True)
class Request:
    """Everything a generation needs, read from the scene up front (the worker never touches bpy)."""

    pcm: np.ndarray
    sample_rate: int
    model: str | None
    seed: int
    frames: FrameRange
    armature_name: str
    bone_map: BoneMap
    store_bone_map: bool  # the map was auto-detected: keep it on the armature once the take is applied
    lift: LiftConfig
    action_name: str
    source: str = ""  # the sound file's name, kept with the take's keypoints


class Backend:
    """The backend this Blender session talks to; started on first use in START mode, stopped on exit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._process: BackendProcess | None = None
        self._key: tuple | None = None
        self.known_models: list[str] = []  # model ids the backend last listed (for the panel's model search)
        self.environment: dict[str, str] = {}  # extra variables for a started backend (e.g. VCONDUCTOR_HOME)

    def client(self, settings: BackendSettings) -> ServiceClient:
        if settings.mode == "CONNECT":
            if not is_loopback(settings.url) and not settings.online_access:
                raise JobError(
                    f"Online access is off (Preferences > System > Network): cannot use the backend at {settings.url}"
                )
            return ServiceClient(settings.url, settings.token)
        with self._lock:
            key = (settings.command, settings.device)
            if self._process is None or not self._process.running or key != self._key:
                self._stop_locked()
                process = BackendProcess(list(settings.command), device=settings.device, env=self.environment)
                process.start(timeout_s=BACKEND_START_TIMEOUT_S)
                self._process, self._key = process, key
            return ServiceClient(self._process.base_url)

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
        process = self._process
        if process is not None and process.running:
            return f"Backend running at {process.base_url}"
        return "Backend not running"

    def stop(self) -> None:
        with self._lock:
            self._stop_locked()

    def _stop_locked(self) -> None:
        if self._process is not None:
            self._process.stop()
            self._process = None


def is_loopback(url: str) -> bool:
    host = urllib.parse.urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def backend_command(command: str) -> list[str]:
    """The program as an argv: a path (spaces allowed, '//' relative to the .blend) or a command line."""
    path = os.path.normpath(bpy.path.abspath(command)) if command.startswith("//") else command
    if os.path.isfile(path) or (os.sep not in path and " " not in path):
        return [path]
    return shlex.split(command) or [command]


BACKEND = Backend()
atexit.register(BACKEND.stop)


class Job:
    """The worker's side: talks HTTP and records what happened; the main thread reads its fields."""

    def __init__(self, request: Request, settings: BackendSettings) -> None:
        self.request = request
        self.settings = settings
        self.state = "running"  # running | done | failed | cancelled
        self.progress = 0.0
        self.message = "Starting"
        self.error = ""
        self.result: dict | None = None
        self.job_id: str | None = None
        self._cancel = threading.Event()
        self.thread: threading.Thread | None = None

    def cancel(self) -> None:
        self._cancel.set()

    @property
    def finished(self) -> bool:
        return self.state != "running" and (self.thread is None or not self.thread.is_alive())

    def run(self) -> None:
        try:
            self._run()
        except ServiceError as exc:
            self._fail(BACKEND.explain(exc) if self.settings.mode == "START" else str(exc))
        except JobError as exc:
            self._fail(str(exc))
        except Exception as exc:  # a one-line message, never a traceback in the user's face
            self._fail(f"Generation failed: {type(exc).__name__}: {exc}")

    def _run(self) -> None:
        self.message = "Connecting to the backend"
        client = BACKEND.client(self.settings)
        BACKEND.refresh_models(client)
        if self._cancel.is_set():
            self.state = "cancelled"
            return
        self.message = "Sending audio"
        request = self.request
        handle = client.submit_pcm(request.pcm, request.sample_rate, model=request.model, seed=request.seed)
        self.job_id = handle.id
        while True:
            if self._cancel.is_set():
                client.cancel(handle.id)
                self.message, self.state = "Cancelled", "cancelled"
                return
            status = client.status(handle.id)
            self.progress = float(status.get("progress", 0.0))
            self.message = status.get("message") or status.get("state", "")
            state = status.get("state")
            if state == "done":
                self.result = client.result(handle.id)
                self.progress, self.state = 1.0, "done"
                return
            if state in ("failed", "cancelled"):
                error = status.get("error") or {}
                reason = error.get("message") if isinstance(error, dict) else str(error)
                self._fail(f"The backend {state} the job: {reason or self.message}")
                return
            self._cancel.wait(POLL_INTERVAL_S)

    def _fail(self, message: str) -> None:
        self.error = message.splitlines()[0] if message else "Generation failed"
        self.state = "failed"


CURRENT: Job | None = None


def current_job() -> Job | None:
    return CURRENT


def is_running() -> bool:
    return CURRENT is not None


def start_async(request: Request, settings: BackendSettings) -> Job:
    """Start the worker thread and the timer that will apply its result."""
    global CURRENT
    job = Job(request, settings)
    job.thread = threading.Thread(target=job.run, name="vconductor-job", daemon=True)
    CURRENT = job
    _show(job)
    job.thread.start()
    bpy.app.timers.register(poll_job, first_interval=POLL_INTERVAL_S)
    return job


def run_sync(request: Request, settings: BackendSettings):
    """Background mode: do the whole job now and return the new action; JobError (scene unchanged) on failure."""
    job = Job(request, settings)
    job.run()
    if job.state != "done":
        raise JobError(job.error or "Generation was cancelled")
    return apply_result(request, job.result)


def cancel_current() -> None:
    if CURRENT is not None:
        CURRENT.cancel()


def poll_job() -> float | None:
    """The timer callback: mirror progress, and apply the result when done. Returns the next interval or None."""
    global CURRENT
    job = CURRENT
    if job is None:
        return None
    _show(job)
    if not job.finished:
        return POLL_INTERVAL_S
    CURRENT = None
    state = bpy.context.window_manager.vconductor_job
    state.running = False
    if job.state == "done":
        try:
            action = apply_result(job.request, job.result)
        except JobError as exc:
            _report_error(str(exc))
        except Exception as exc:  # a timer must not raise: the user would only see a console traceback
            _report_error(f"Applying the motion failed: {type(exc).__name__}: {exc}")
        else:
            with contextlib.suppress(RuntimeError):  # one undo step: Ctrl+Z restores the previous take
                bpy.ops.ed.undo_push(message="Generate Conducting Motion")
            state.message = f"Created action '{action.name}'"
            state.last_error = ""
    elif job.state == "failed":
        _report_error(job.error)
    else:
        state.message = "Cancelled"
    _redraw()
    return None


@bpy.app.handlers.persistent
def forget_job_on_load(*_args) -> None:
    """Another file is loading: its objects are not the ones the job was for."""
    global CURRENT
    if CURRENT is not None:
        CURRENT.cancel()
        CURRENT = None


def apply_result(request: Request, result: dict):
    """Turn the backend's keypoints into a new action on the armature. All checks happen before any change."""
    rig = bpy.data.objects.get(request.armature_name)
    if rig is None or rig.type != "ARMATURE":
        raise JobError(f"Armature '{request.armature_name}' no longer exists")
    keypoints = np.asarray(result["keypoints"], dtype=np.float32)
    frames = request.frames
    duration_s = float(result.get("duration_s", frames.duration_s))
    frame_numbers, times = key_frames(frames.start, frames.end, frames.fps, duration_s)
    try:
        motion = animate_rig(keypoints, times, armature.rig_rest(rig), request.bone_map, request.lift)
    except MotionError as exc:
        raise JobError(str(exc)) from exc
    missing = [name for name in motion.rotations if name not in rig.pose.bones]
    if missing:
        raise JobError(f"Armature '{rig.name}' changed during generation (missing {', '.join(missing)})")
    action_name = request.action_name
    if not request.model and result.get("model"):  # name the take after the model the backend chose
        action_name = action_name.replace(" default ", f" {result['model']} ", 1)
    action = keys.write_take(rig, action_name, frame_numbers, motion.rotations, motion.locations)
    take = KeypointTake(
        keypoints=keypoints,
        duration_s=duration_s,
        model=str(result.get("model") or request.model or ""),
        seed=int(result.get("seed", request.seed)),
        fps=int(result.get("fps", 30)),
        source=str(request.source or result.get("source") or ""),
    )
    take_data.store_take(action, take, frames.start, frames.fps)
    if request.store_bone_map:  # only once the take is written: a failed generation changes nothing
        armature.store_bone_map(rig, request.bone_map)
    return action


def backend_status_line() -> str:
    return BACKEND.status_line()


def _show(job: Job) -> None:
    state = bpy.context.window_manager.vconductor_job
    state.running = job.state == "running"
    state.progress = job.progress
    state.message = job.message
    _redraw()


def _report_error(message: str) -> None:
    state = bpy.context.window_manager.vconductor_job
    state.last_error = message
    state.message = ""
    if bpy.app.background:
        print(f"Virtual Conductor: {message}")
    else:  # a timer has no operator to report through: a tiny one puts the message in the status bar
        with contextlib.suppress(RuntimeError):
            bpy.ops.vconductor.report("INVOKE_DEFAULT", message=message)


def _redraw() -> None:
    for window in bpy.context.window_manager.windows:
        for area in window.screen.areas:
            if area.type in ("SEQUENCE_EDITOR", "VIEW_3D", "PREFERENCES"):
                area.tag_redraw()
