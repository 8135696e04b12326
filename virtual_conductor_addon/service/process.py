"""Starting and stopping the backend (`vconductor serve`) as a child process of Blender.

The backend picks a free port itself (--port 0) and writes it to a port file once it accepts connections;
we wait for that file, then for /v1/health. Its output goes to a log file, whose last meaningful lines are
quoted when it fails to start. Standard library only.
"""

import atexit
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

from .client import UNREACHABLE, ServiceClient, ServiceError

TOKEN_ENV = "VCONDUCTOR_TOKEN"  # the backend reads its token here: other users cannot see it in `ps`
TOKEN_BYTES = 32  # of randomness in a per-launch token
# the longest audio the backend takes (contract.MAX_DURATION_S, 3 h) as float32 mono PCM at contract.SAMPLE_RATE
# is 909 MiB
MAX_UPLOAD_MB = 1024
STOP_GRACE_S = 5.0  # on SIGTERM the backend cancels its job and stops its worker (a job in its feature
# stage finishes that first: seconds for long pieces); then it is killed, which it recovers from at its next start
POLL_S = 0.05

# ServiceError codes raised here (besides the client's)
NOT_FOUND = "not_found"  # the executable does not exist
START_FAILED = "start_failed"  # the backend exited during start-up
START_TIMEOUT = "start_timeout"


class BackendProcess:
    """One backend process. start() is idempotent while it runs; stop() is safe to call any number of times.

    command: the backend executable (["/path/.venv/bin/vconductor"]) or [python, "-m", "vconductor"].
    token: required from clients (passed through the environment, never the command line). Without one, each
    start makes a new random token (`token` holds it; `client()` uses it): a loopback server without a token
    would take jobs from any program on this machine, and a token in Blender's own environment is not ours.
    env: extra environment variables for the backend (e.g. VCONDUCTOR_HOME).
    """

    def __init__(
        self,
        command: list[str] | str,
        device: str = "auto",
        log_path: str | None = None,
        *,
        token: str | None = None,
        env: dict[str, str] | None = None,
    ):
        self.command = [command] if isinstance(command, str) else list(command)
        self.device = device
        self._configured_token = token or None
        self.token: str = token or ""  # the running backend's: set by start()
        self.env = dict(env or {})
        self._requested_log = log_path
        self.log_path: str | None = log_path
        self.base_url: str | None = None
        self.returncode: int | None = None
        self._proc: subprocess.Popen | None = None
        self._log = None
        self._workdir: str | None = None
        self._lock = threading.Lock()  # guards the process handle (stop() may come from another thread)
        self._start_lock = threading.Lock()  # one start at a time; a second caller gets the first's backend

    # ------------------------------------------------------------------------------------------- state

    @property
    def running(self) -> bool:
        proc = self._proc
        return proc is not None and proc.poll() is None  # poll() also reaps an exited child: no zombie

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def client(self, timeout_s: float = 10.0) -> ServiceClient:
        """A client for the running backend, with its token."""
        if not self.base_url:
            raise ServiceError("The backend is not running", UNREACHABLE)
        return ServiceClient(self.base_url, self.token, timeout_s=timeout_s)

    def exit_reason(self, wait_s: float = 0.0) -> str | None:
        """One line saying why the backend is gone (exit code and its log's last lines), None while it runs
        or when it was never started. wait_s: how long to give a dying backend to exit (its connections close
        a moment before it does)."""
        proc = self._proc
        if proc is None:
            return None
        try:
            proc.wait(wait_s)
        except subprocess.TimeoutExpired:
            return None
        return f"The backend exited ({_describe_exit(proc.returncode)}): {self.log_tail()}"

    def log_tail(self, lines: int = 2) -> str:
        """The last meaningful lines of the log (a traceback's final error, not its frames), on one line."""
        try:
            with open(self.log_path or "", "rb") as f:
                f.seek(max(0, os.fstat(f.fileno()).st_size - 16384))
                text = f.read().decode("utf-8", "replace")
        except OSError:
            return "(no log)"
        meaningful = [line.strip() for line in text.splitlines() if _meaningful(line)]
        return " | ".join(meaningful[-lines:]) or "(the log is empty)"

    # ------------------------------------------------------------------------------------------- start

    def start(self, timeout_s: float = 60.0) -> str:
        """Start the backend and wait until it answers /v1/health; returns its base URL.

        Raises ServiceError (NOT_FOUND, START_FAILED or START_TIMEOUT) quoting the log's last lines; the
        process is stopped then."""
        with self._start_lock:
            with self._lock:
                if self.running and self.base_url:
                    return self.base_url
                self._cleanup()  # a backend that died: keep its log, forget it
                proc, port_file = self._spawn()
            deadline = time.monotonic() + timeout_s
            try:
                port = self._wait_for_port(proc, port_file, deadline, timeout_s)
                base_url = f"http://127.0.0.1:{port}"
                self._wait_for_health(proc, base_url, deadline, timeout_s)
            except BaseException:
                if self._proc is proc:
                    self.stop(keep_log=True)  # the error names the log
                raise
            self.base_url = base_url
            return base_url

    def _spawn(self) -> tuple[subprocess.Popen, Path]:
        executable = _find_executable(self.command)
        try:
            self._workdir = tempfile.mkdtemp(prefix="vconductor-backend-")
            port_file = Path(self._workdir) / "port"
            self.log_path = self._requested_log or os.path.join(self._workdir, "backend.log")
            self._log = open(self.log_path, "wb")  # noqa: SIM115 (closed in _cleanup, after the process ends)
        except OSError as exc:
            self._cleanup()
            raise ServiceError(
                f"Cannot start the backend: cannot write its log or port file ({exc.strerror or exc}: "
                f"{exc.filename or tempfile.gettempdir()})",
                START_FAILED,
            ) from None
        args = [executable, *self.command[1:], "serve", "--host", "127.0.0.1", "--port", "0"]
        args += [
            "--port-file",
            str(port_file),
            "--device",
            self.device,
            "--max-upload-mb",
            str(MAX_UPLOAD_MB),
        ]
        args += ["--parent-pid", str(os.getpid())]  # it stops by itself if Blender dies without stopping it
        env = {**os.environ, "PYTHONUNBUFFERED": "1", **self.env}
        self.token = self._configured_token or secrets.token_urlsafe(TOKEN_BYTES)  # per launch
        env[TOKEN_ENV] = self.token
        options = {}
        if os.name == "posix":
            options["start_new_session"] = True  # its own process group: a Ctrl-C in Blender's terminal
            # does not reach it, and stop() can signal everything it started
        else:
            options["creationflags"] = getattr(subprocess, "CREATE_NO_WINDOW", 0)
        try:
            proc = subprocess.Popen(
                args, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT, env=env, **options
            )
        except OSError as exc:
            self._cleanup()
            raise ServiceError(
                f"Cannot start the backend {executable}: {exc.strerror or exc}", START_FAILED
            ) from None
        self._proc, self.returncode = proc, None
        atexit.register(self.stop)  # best effort when Blender quits; a crash of Blender can orphan it
        return proc, port_file

    def _wait_for_port(
        self, proc: subprocess.Popen, port_file: Path, deadline: float, timeout_s: float
    ) -> int:
        while True:
            if proc.poll() is not None:
                raise self._start_error(proc)
            try:
                text = port_file.read_text().strip()  # written atomically by the backend
            except OSError:
                text = ""
            if text.isdigit():
                return int(text)
            if time.monotonic() > deadline:
                raise self._timeout_error(timeout_s)
            time.sleep(POLL_S)

    def _wait_for_health(
        self, proc: subprocess.Popen, base_url: str, deadline: float, timeout_s: float
    ) -> None:
        client = ServiceClient(base_url, self.token, timeout_s=5.0)
        while True:
            try:
                client.health()
                return
            except ServiceError as exc:
                if proc.poll() is not None:
                    raise self._start_error(proc) from None
                if time.monotonic() > deadline:
                    raise ServiceError(
                        f"The backend started at {base_url} but does not answer: {exc}", START_TIMEOUT
                    ) from None
            time.sleep(POLL_S)

    def _start_error(self, proc: subprocess.Popen) -> ServiceError:
        return ServiceError(
            f"The backend exited during start-up ({_describe_exit(proc.returncode)}): {self.log_tail()} "
            f"(log: {self.log_path})",
            START_FAILED,
        )

    def _timeout_error(self, timeout_s: float) -> ServiceError:
        return ServiceError(
            f"The backend did not start within {timeout_s:g} s; its log ends with: {self.log_tail()} "
            f"(log: {self.log_path})",
            START_TIMEOUT,
        )

    # -------------------------------------------------------------------------------------------- stop

    def stop(self, grace_s: float = STOP_GRACE_S, *, keep_log: bool = False) -> None:
        """SIGTERM (Windows: terminate), then kill after `grace_s`; waits for the process (no zombie).
        The default log is deleted after a clean exit and kept (see log_path) otherwise or with keep_log."""
        with self._lock:
            proc = self._proc
            clean = False  # it ran until we asked it to stop, and stopped when asked
            if proc is not None:
                if proc.poll() is None:
                    _signal(proc, signal.SIGTERM)
                    try:
                        proc.wait(grace_s)
                        # Windows has no SIGTERM: there, any exit after terminate() is clean
                        clean = os.name == "nt" or proc.returncode in (0, -signal.SIGTERM)
                    except subprocess.TimeoutExpired:
                        _signal(proc, getattr(signal, "SIGKILL", None))
                        proc.wait()
                self.returncode = proc.returncode
            self._cleanup(keep_log=keep_log or not clean)

    def _cleanup(self, keep_log: bool = True) -> None:
        """Forget the process (after it ended) and remove what start() made, but the default log if keep_log."""
        proc, self._proc, self.base_url = self._proc, None, None
        if proc is not None:
            self.returncode = proc.poll()
        atexit.unregister(self.stop)
        if self._log is not None:
            self._log.close()
            self._log = None
        if self._workdir is not None:
            log_inside = self.log_path is not None and Path(self.log_path).parent == Path(self._workdir)
            if not keep_log or not log_inside:
                shutil.rmtree(self._workdir, ignore_errors=True)
            else:
                (Path(self._workdir) / "port").unlink(missing_ok=True)
            self._workdir = None


def _find_executable(command: list[str]) -> str:
    if not command or not str(command[0]).strip():
        raise ServiceError(
            "No backend command is set: set it in the add-on preferences to the path of the `vconductor` program",
            NOT_FOUND,
        )
    exe = os.path.expanduser(str(command[0]).strip())
    if os.sep in exe or (os.altsep and os.altsep in exe):
        candidates = [exe, exe + ".exe"] if os.name == "nt" else [exe]  # <venv>\Scripts\vconductor.exe
        found = next((c for c in candidates if os.path.isfile(c) and os.access(c, os.X_OK)), None)
    else:
        found = shutil.which(exe)
    if found is None:
        raise ServiceError(
            f"Cannot start the backend: executable not found: {exe} (set the backend command in the add-on "
            "preferences to the path of the `vconductor` program, e.g. <venv>/bin/vconductor)",
            NOT_FOUND,
        )
    return found


def _signal(proc: subprocess.Popen, sig) -> None:
    """Signal the backend's process group on POSIX (it may have started decoders); terminate/kill elsewhere."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, sig)
        elif sig == signal.SIGTERM:
            proc.terminate()
        else:
            proc.kill()
    except ProcessLookupError:  # it has exited already
        pass


def _describe_exit(code: int | None) -> str:
    if code is None:
        return "still running"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _meaningful(line: str) -> bool:
    """Log lines worth quoting: not blank, not traceback frames or their source lines, not chained-exception
    banners."""
    text = line.strip()
    if not text or line[:1].isspace() or set(text) <= set("^~ "):
        return False
    return not text.startswith(
        ("Traceback (most recent call last)", "During handling of the above", "The above exception was")
    )
