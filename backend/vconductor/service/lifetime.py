"""Shutting down with requests in flight: each one gets a JSON answer, and none waits on work being dropped.

On SIGTERM, SIGINT or the parent's exit, uvicorn stops accepting connections, waits up to 5 s for the requests
in flight, then cancels them, and answers a cancelled request with a plain-text 500. Instead, `Shutdown.begin`
(called as uvicorn starts its shutdown) cancels at once every request whose response has not started (uploads
being received or decoded: the job they would make could never run), and `AnswerOnShutdown` answers each
cancelled request with a JSON 503. Decoding runs in daemon threads, so a decode that is dropped holds neither
the answer nor the exit of the process (and its ffmpeg dies with the process: audio/child_process.py).
"""

import asyncio
import contextlib
import threading

import anyio

from .errors import error_response

SHUTTING_DOWN = "the server is shutting down: send the request again once it has restarted"


class Shutdown:
    """Whether the server is stopping, and the requests in flight that have not started their response."""

    def __init__(self):
        self.stopping = False
        self.unanswered: set[asyncio.Task] = set()

    def begin(self) -> None:
        self.stopping = True
        for task in list(self.unanswered):
            task.cancel(SHUTTING_DOWN)


def refusal():
    return error_response(503, "shutting_down", SHUTTING_DOWN, {"Connection": "close"})


class AnswerOnShutdown:
    """ASGI middleware: requests cancelled because the server stops get a JSON 503 (the outermost of ours)."""

    def __init__(self, app, shutdown: Shutdown):
        self.app, self.shutdown = app, shutdown

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        if self.shutdown.stopping:
            return await refusal()(scope, receive, send)
        task = asyncio.current_task()
        started = False

        async def send_noting_start(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                self.shutdown.unanswered.discard(task)
            await send(message)

        self.shutdown.unanswered.add(task)
        try:
            await self.app(scope, receive, send_noting_start)
        except asyncio.CancelledError:
            if not self.shutdown.stopping:
                raise
            # the server stops: the cancellation ends here, with an answer if none was started (a response
            # cut midway is closed by uvicorn)
            if not started:
                await refusal()(scope, receive, send)
        finally:
            self.shutdown.unanswered.discard(task)


async def run_in_daemon_thread(limiter: anyio.CapacityLimiter, fn, *args):
    """fn(*args) in a new daemon thread, at most `limiter`'s tokens at once. A caller that is cancelled stops
    waiting at once; the thread finishes on its own, or dies with the process, whose exit does not wait for it
    (the worker threads of anyio.to_thread would hold the exit until they end)."""
    async with limiter:
        loop = asyncio.get_running_loop()
        future = loop.create_future()

        def run():
            try:
                outcome = (fn(*args), None)
            except BaseException as exc:
                outcome = (None, exc)
            with contextlib.suppress(RuntimeError):  # the event loop is closed: the server has stopped
                loop.call_soon_threadsafe(_settle, future, *outcome)

        threading.Thread(target=run, name="vconductor decode", daemon=True).start()
        return await future


def _settle(future: asyncio.Future, result, exc: BaseException | None) -> None:
    if future.done():  # the caller was cancelled
        return
    if exc is not None:
        future.set_exception(exc)
    else:
        future.set_result(result)
