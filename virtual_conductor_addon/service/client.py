"""HTTP client for the Virtual Conductor backend (`vconductor serve`), for Blender's own Python.

Only the standard library, numpy and the contract: Blender ships neither requests nor httpx. http.client is
used directly (not urllib) so that proxy settings in the environment never reroute calls to the loopback backend.
Every failure is a ServiceError whose text is one line a user can act on; `code` tells callers which kind.
"""

import http.client
import json
import socket
import time
import urllib.parse
from dataclasses import dataclass

import numpy as np

from ..contract import JobState, Motion, MotionFileError, motion_from_bytes
from ..contract_beats import BeatsFileError, BeatTrack, beats_from_document
from ..contract_style import ConductingStyle
from .errors import (  # noqa: F401 (callers import the codes from here)
    AUTH,
    BACKEND_GONE,
    BAD_INPUT,
    BAD_REPLY,
    CANCELLED,
    DISCONNECTED,
    JOB_FAILED,
    REFUSED,
    SERVER_ERROR,
    TIMEOUT,
    UNREACHABLE,
    ServiceError,
    error_body,
    job_failed,
    job_gone,
    one_line_reason,
)
from .multipart import JobExtras, job_upload

SLOW_CALL_TIMEOUT_S = 120.0  # uploads (decoded before the reply: ~5 s for 3 h of audio) and results
UPLOAD_BYTES_PER_S = 2e6  # the slowest link an upload is given time for (the timeout covers the whole send)
WIRE_STATES = frozenset(state.value for state in JobState)


@dataclass(frozen=True)
class JobHandle:
    """A submitted job. `model` is the model the backend chose (the default when none was asked for)."""

    id: str
    model: str = ""
    duration_s: float = 0.0
    num_frames: int = 0


@dataclass
class _Reply:
    status: int
    content_type: str
    body: bytes


class ServiceClient:
    """Calls the /v1 API of one backend. Safe to share between threads (one connection per call)."""

    def __init__(self, base_url: str, token: str = "", timeout_s: float = 10.0):
        self.base_url = base_url.strip().rstrip("/")
        self.token = (token or "").strip()
        self.timeout_s = float(timeout_s)
        parts = urllib.parse.urlsplit(self.base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ServiceError(
                f"Invalid backend URL {base_url!r}: use http://HOST:PORT (e.g. http://127.0.0.1:8765)",
                BAD_INPUT,
            )
        try:
            self._port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError:
            raise ServiceError(
                f"Invalid backend URL {base_url!r}: the port is not a number", BAD_INPUT
            ) from None
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._prefix = parts.path.rstrip("/")  # a backend behind a reverse proxy under a sub-path

    # ------------------------------------------------------------------------------------------- the API

    def health(self) -> dict:
        """GET /v1/health (no token needed): status, version, device, models_loaded, queue_length, ..."""
        health = self._json("GET", "/v1/health", "checking its health")
        if not isinstance(health, dict) or "status" not in health:
            raise ServiceError(
                f"The server at {self.base_url} answered the health check, but not like the Virtual Conductor "
                "backend: check the URL",
                BAD_REPLY,
            )
        return health

    def models(self) -> list[dict]:
        """GET /v1/models: [{"id", "kind", "default", "loaded", "model_id"}, ...]."""
        models = self._json("GET", "/v1/models", "listing the models")
        if not isinstance(models, list):
            raise ServiceError(
                f"The backend at {self.base_url} sent a list of models that is not a list", BAD_REPLY
            )
        return models

    def submit_pcm(
        self,
        pcm: np.ndarray,
        sample_rate: int,
        *,
        model: str | None = None,
        seed: int = 0,
        meter: str | None = None,
        beat_lock: str | None = None,
        style: ConductingStyle | None = None,
        extras: JobExtras | None = None,
    ) -> JobHandle:
        """POST /v1/jobs with float32 PCM: (n,) mono or (n, channels) interleaved. As the raw body; with
        `extras` (a beat file, a score) as a multipart upload whose audio is a float WAV of the same samples.

        The reply comes once the backend has decoded and checked the audio; unusable audio (silent, too short)
        is refused here with the backend's reason."""
        samples = np.asarray(pcm)
        if samples.ndim not in (1, 2) or samples.size == 0:
            raise ServiceError(
                f"No audio to send: expected PCM samples of shape (n,) or (n, channels), got {samples.shape}",
                BAD_INPUT,
            )
        query = {"seed": int(seed)}
        for name, value in (("model", model), ("meter", meter), ("beat_lock", beat_lock)):
            if value:
                query[name] = value
        for name, value in (style.changes() if style else {}).items():  # the reference style is the default
            query[name] = str(value).lower() if isinstance(value, bool) else value
        body, content_type, size = job_upload(samples, int(sample_rate), extras, query)
        reply = self._call(
            "POST",
            "/v1/jobs",
            "submitting the job",
            query=query,
            body=body,
            content_type=content_type,
            timeout_s=max(self.timeout_s, SLOW_CALL_TIMEOUT_S + size / UPLOAD_BYTES_PER_S),
            length=size,
        )
        job = self._decode_json(reply, "POST", "/v1/jobs")
        if not isinstance(job, dict) or not isinstance(job.get("id"), str):
            raise ServiceError(
                f"The backend at {self.base_url} accepted the job but sent no job id", BAD_REPLY
            )
        return JobHandle(
            job["id"],
            str(job.get("model", "")),
            float(job.get("duration_s", 0.0)),
            int(job.get("num_frames", 0)),
        )

    def status(self, job_id: str) -> dict:
        """GET /v1/jobs/{id}: the JobStatus (state queued|running|done|failed|cancelled, progress 0..1,
        message, error {code, message} or None, ...). A backend that stopped is BACKEND_GONE."""
        try:
            status = self._json("GET", f"/v1/jobs/{_quote(job_id)}", "reading the job's status")
        except ServiceError as exc:
            raise job_gone(exc, self.base_url) from None
        if not isinstance(status, dict) or status.get("state") not in WIRE_STATES:
            raise ServiceError(
                f"The backend at {self.base_url} sent a job status without a valid state", BAD_REPLY
            )
        return status

    def wait(
        self,
        job_id: str,
        *,
        poll_s: float = 0.25,
        timeout_s: float | None = None,
        on_progress=None,
        should_cancel=None,
    ) -> dict:
        """Poll until the job is done or cancelled and return its final status; a failed job raises JOB_FAILED
        quoting the backend's reason. on_progress(progress 0..1, message) is called after every poll.
        should_cancel() is asked before every poll: when true, the job is cancelled and CANCELLED raised."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            if should_cancel is not None and should_cancel():
                self.cancel(job_id)
                raise ServiceError(f"Job {job_id} was cancelled", CANCELLED)
            status = self.status(job_id)
            if on_progress is not None:
                on_progress(float(status.get("progress", 0.0)), str(status.get("message", "")))
            state = JobState(status["state"])
            if state is JobState.FAILED:
                raise job_failed(status)
            if state.is_final:
                return status
            if deadline is not None and time.monotonic() > deadline:
                raise ServiceError(
                    f"The backend did not finish job {job_id} within {timeout_s:g} s "
                    f"({state.value}, {float(status.get('progress', 0.0)):.0%})",
                    TIMEOUT,
                )
            time.sleep(poll_s)

    def result(self, job_id: str, *, npz: bool = True) -> Motion:
        """The motion of a done job, its keypoints a finite float32 (frames, 13, 2) array. Fetched as .npz
        (compact, fast to parse) unless npz=False or the backend has no .npz route; a failed job raises
        JOB_FAILED, a cancelled one CANCELLED, a reply that is no valid motion BAD_REPLY."""
        path = f"/v1/jobs/{_quote(job_id)}/result"
        timeout = max(self.timeout_s, SLOW_CALL_TIMEOUT_S)
        if npz:
            try:
                reply = self._call("GET", path + ".npz", "fetching the result", timeout_s=timeout)
                return self._motion(reply.body, ".npz")
            except ServiceError as exc:
                if exc.code in (UNREACHABLE, TIMEOUT, DISCONNECTED, AUTH, JOB_FAILED, CANCELLED):
                    raise job_gone(exc, self.base_url) from None
                if exc.status in (409, 410):  # not ready: the JSON route says the same
                    raise
            except MotionFileError:  # not a readable .npz: fall back to JSON
                pass
        try:
            reply = self._call("GET", path, "fetching the result", timeout_s=timeout)
        except ServiceError as exc:
            raise job_gone(exc, self.base_url) from None
        try:
            return self._motion(reply.body, ".json")
        except MotionFileError as exc:
            raise ServiceError(
                f"The backend at {self.base_url} sent an unreadable {exc}", BAD_REPLY
            ) from None

    def beats(self, job_id: str) -> BeatTrack | None:
        """The beats the backend tracked in a done job's audio; None on a 404 (a backend without the route,
        or the job expired). A reply that is no beat track is BAD_REPLY."""
        try:
            doc = self._json("GET", f"/v1/jobs/{_quote(job_id)}/beats", "fetching the beats")
            return beats_from_document(doc)
        except ServiceError as exc:
            if exc.status == 404:
                return None
            raise job_gone(exc, self.base_url) from None
        except BeatsFileError as exc:
            raise ServiceError(
                f"The backend at {self.base_url} sent unreadable beats: {exc}", BAD_REPLY
            ) from None

    def cancel(self, job_id: str) -> None:
        """DELETE /v1/jobs/{id}: cancels a queued or running job (a running one stops at its next window;
        poll until its state is final) and forgets a finished one. An unknown job is not an error."""
        try:
            self._call("DELETE", f"/v1/jobs/{_quote(job_id)}", "cancelling the job")
        except ServiceError as exc:
            if exc.status == 404:
                return
            raise job_gone(exc, self.base_url) from None

    # ------------------------------------------------------------------------------------------- plumbing

    def _json(self, method: str, path: str, what: str):
        return self._decode_json(self._call(method, path, what), method, path)

    def _decode_json(self, reply: _Reply, method: str, path: str):
        try:
            return json.loads(reply.body)
        except (UnicodeDecodeError, json.JSONDecodeError):
            snippet = reply.body[:60].decode("utf-8", "replace").strip()
            raise ServiceError(
                f"The server at {self.base_url} sent a malformed reply to {method} {path} (not JSON: "
                f"{snippet!r}): is it the Virtual Conductor backend?",
                BAD_REPLY,
                reply.status,
            ) from None

    def _motion(self, body: bytes, suffix: str) -> Motion:
        """The result's motion; MotionFileError unless it has frames and a positive fps (the contract refuses
        non-finite values)."""
        motion = motion_from_bytes(body, suffix, name="result")
        if motion.num_frames == 0 or motion.fps <= 0:
            raise MotionFileError("result with invalid numbers (no frames or fps <= 0)")
        return motion

    def _call(
        self,
        method: str,
        path: str,
        what: str,
        *,
        query: dict | None = None,
        body=None,
        content_type: str | None = None,
        timeout_s: float | None = None,
        length: int | None = None,
    ) -> _Reply:
        """One request on a fresh connection; any failure becomes a one-line ServiceError."""
        timeout = self.timeout_s if timeout_s is None else timeout_s
        url = self._prefix + path + ("?" + urllib.parse.urlencode(query) if query else "")
        headers = {"Accept": "application/json, application/octet-stream"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if content_type:
            headers["Content-Type"] = content_type
        if length is not None:  # an iterable body: sent as it comes, not chunked
            headers["Content-Length"] = str(length)
        kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
        conn = kind(self._host, self._port, timeout=timeout)
        try:
            conn.request(method, url, body=body, headers=headers)
            response = conn.getresponse()
            reply = _Reply(response.status, response.getheader("Content-Type", ""), response.read())
        except (OSError, http.client.HTTPException) as exc:
            raise self._connection_error(exc, f"{method} {path}", what, timeout) from None
        finally:
            conn.close()
        if reply.status >= 400:
            raise self._http_error(reply, what)
        return reply

    def _connection_error(self, exc: Exception, request: str, what: str, timeout: float) -> ServiceError:
        """The ServiceError for a request that got no complete HTTP reply (`request` is "METHOD /path")."""
        if isinstance(exc, ConnectionRefusedError):
            return ServiceError(
                f"The Virtual Conductor backend is not running at {self.base_url} (connection refused). Start "
                f"it from the add-on preferences, or run `vconductor serve --port {self._port}` yourself",
                UNREACHABLE,
            )
        if isinstance(exc, TimeoutError):  # socket.timeout is TimeoutError since Python 3.10
            return ServiceError(
                f"The backend at {self.base_url} did not answer {request} within {timeout:g} s (timeout)",
                TIMEOUT,
            )
        if isinstance(exc, (ConnectionError, http.client.RemoteDisconnected, http.client.IncompleteRead)):
            return ServiceError(
                f"The backend at {self.base_url} closed the connection while {what} ({one_line_reason(exc)}): "
                "it may have stopped",
                DISCONNECTED,
            )
        if isinstance(exc, socket.gaierror):
            return ServiceError(
                f"Cannot reach the backend at {self.base_url}: unknown host {self._host!r} ({exc.strerror})",
                UNREACHABLE,
            )
        if isinstance(exc, OSError):
            return ServiceError(
                f"Cannot reach the backend at {self.base_url}: {one_line_reason(exc)}", UNREACHABLE
            )
        return ServiceError(
            f"The server at {self.base_url} sent a malformed HTTP reply while {what} ({one_line_reason(exc)})",
            BAD_REPLY,
        )

    def _http_error(self, reply: _Reply, what: str) -> ServiceError:
        code, message = error_body(reply.body)
        status = reply.status
        if status == 401:
            return ServiceError(
                f"The backend at {self.base_url} needs a token: set it in the add-on preferences ({message})",
                AUTH,
                status,
            )
        if status == 403:
            return ServiceError(
                f"The backend at {self.base_url} refused the token ({message}): set the token it was started "
                "with in the add-on preferences",
                AUTH,
                status,
            )
        if status >= 500:
            return ServiceError(
                f"The backend failed while {what} (HTTP {status}{' ' + code if code else ''}): {message}. "
                "Its log may say more",
                SERVER_ERROR,
                status,
            )
        if status == 409 and code == "job_failed":
            return ServiceError(f"The backend could not generate the motion: {message}", JOB_FAILED, status)
        if status == 410:
            return ServiceError(f"The job was cancelled: {message}", CANCELLED, status)
        return ServiceError(
            f"The backend refused the request ({what}): {message} (HTTP {status}{' ' + code if code else ''})",
            REFUSED,
            status,
        )


def _quote(job_id: str) -> str:
    return urllib.parse.quote(str(job_id), safe="")
