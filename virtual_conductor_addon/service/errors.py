"""The add-on's backend errors: ServiceError, whose text is one line a user can act on, and its codes."""

import json
import re

# ServiceError codes
UNREACHABLE = "unreachable"  # nothing listens (connection refused), or the host cannot be reached
TIMEOUT = "timeout"
DISCONNECTED = "disconnected"  # the connection broke during a call
BACKEND_GONE = "backend_gone"  # the backend stopped while a job was in progress: the job is lost
AUTH = "auth"  # 401/403: missing or wrong token
REFUSED = "refused"  # other 4xx: the request was refused, with the service's reason
SERVER_ERROR = "server_error"  # 5xx
BAD_REPLY = "bad_reply"  # not JSON, or not what the API promises
JOB_FAILED = "job_failed"
CANCELLED = "cancelled"
BAD_INPUT = "bad_input"  # refused before sending (the caller's arguments)


class ServiceError(Exception):
    """A failure talking to the backend. str() is one line for the user; `code` is one of the codes above;
    `status` the HTTP status when there was one."""

    def __init__(self, message: str, code: str = SERVER_ERROR, status: int | None = None):
        super().__init__(message)
        self.code = code
        self.status = status


def job_failed(status: dict) -> ServiceError:
    """The ServiceError for a job whose status says it failed, quoting the backend's reason."""
    error = status.get("error") or {}
    reason = error.get("message") if isinstance(error, dict) else None
    return ServiceError(f"The backend could not generate the motion: {reason or 'unknown error'}", JOB_FAILED)


def job_gone(exc: ServiceError, base_url: str) -> ServiceError:
    """A call about an existing job that found no backend: the backend stopped and took the job with it."""
    if exc.code not in (UNREACHABLE, DISCONNECTED):
        return exc
    return ServiceError(
        f"The backend at {base_url} stopped while working on the job (it crashed or was stopped), so the job "
        "is lost: start the backend again and generate again",
        BACKEND_GONE,
    )


def one_line_reason(exc: BaseException) -> str:
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return " ".join(str(text).split())


def error_body(body: bytes) -> tuple[str, str]:
    """(code, message) of the service's error shape {"error": {"code", "message"}}; else a text snippet."""
    try:
        error = json.loads(body)["error"]
        return str(error.get("code", "")), " ".join(str(error["message"]).split())
    except (ValueError, KeyError, TypeError, AttributeError):
        text = re.sub(r"<[^>]*>", " ", body[:400].decode("utf-8", "replace"))  # an HTML error page
        text = " ".join(text.split())[:200]
        return "", text or "no details"
