"""The device worker: one thread owns the device and runs jobs one at a time, in submission order.

Conductors load once, in that thread, and stay cached by model name and checkpoint md5 (a name registered
again loads the new weights). Torch runs only in that thread, so there is one intra-op thread pool. While a
job generates, a small pool computes the features of the next PREPARE_AHEAD jobs: memory holds at most that
many prepared inputs beside the running one.
"""

import ctypes
import logging
import threading
from collections import OrderedDict, deque
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from itertools import islice

from ..audio import AudioError
from ..contract import JobState
from ..pipeline import PROCEDURAL, ResultError, load_conductor, needs_of, prepare_input, run
from ..progress import cancellable
from ..scores.source import ScoreFitError
from .store import Job, JobStore

log = logging.getLogger("vconductor.service")
PREPARE_AHEAD = 2
MAX_CONDUCTORS = 4
FEATURES_SHARE = 0.3  # the part of a job's progress that feature extraction stands for
IDLE_SWEEP_S = 30.0


class ShuttingDown(Exception):
    pass


class _JobFailed(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class Worker:
    def __init__(self, store: JobStore, device: str = "auto", warm_model: str | None = None):
        self.store = store
        self.device = device  # "auto" until the worker thread resolves it
        self._requested_device, self._warm_model = device, warm_model
        self._queue: deque[Job] = deque()
        self._cv = threading.Condition()
        self._stopping = False
        self._warming = False
        self.running: Job | None = None
        self._conductors: OrderedDict[tuple[str, str], object] = OrderedDict()  # (name, md5) -> conductor
        self._pool = ThreadPoolExecutor(PREPARE_AHEAD, thread_name_prefix="vconductor-prepare")
        self._thread = threading.Thread(target=self._loop, name="vconductor-device", daemon=True)

    # ---------------------------------------------------------------------------------- called by the app

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel queued jobs, ask the running one to stop, and wait for the thread (a daemon: it never blocks
        the exit of the process)."""
        with self._cv:
            self._stopping = True
            pending, running = list(self._queue), self.running
            self._queue.clear()
            self._cv.notify_all()
        for job in pending:
            self._cancel_queued(job, "the server shut down")
        if running is not None:
            running.cancel.set()
        if not self._warming:  # a model load cannot be interrupted: the daemon thread ends with the process
            self._thread.join(timeout)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def submit(self, job: Job) -> None:
        """Record and queue a job (StoreFull when there is no room, ShuttingDown when stopping)."""
        with self._cv:
            if self._stopping:
                raise ShuttingDown("the server is shutting down")
            self.store.add(job)
            self._queue.append(job)
            self._prepare_ahead()
            self._cv.notify()

    def cancel(self, job: Job) -> bool:
        """Cancel a queued job now (True), or ask a running one to stop at its next window (False)."""
        with self._cv:
            queued = job in self._queue
            if queued:
                self._queue.remove(job)
                self._prepare_ahead()
        if queued:
            self._cancel_queued(job, "cancelled")
        else:
            job.cancel.set()
        return queued

    def queue_position(self, job: Job) -> int | None:
        with self._cv:
            return next((i for i, j in enumerate(self._queue) if j is job), None)

    def loaded_models(self) -> list[str]:
        with self._cv:
            return sorted({name for name, _ in self._conductors})

    @property
    def stopping(self) -> bool:
        return self._stopping

    # ------------------------------------------------------------------------------------ worker thread

    def _loop(self) -> None:
        self._warming = True
        try:
            self._warm_up()
        finally:
            self._warming = False
        while True:
            with self._cv:
                while not self._queue and not self._stopping:
                    if not self._cv.wait(timeout=IDLE_SWEEP_S):
                        self.store.sweep()
                if self._stopping:
                    return
                job = self._queue.popleft()
                self.running = job
                self._prepare_ahead()
            try:
                self._process(job)
            finally:
                with self._cv:
                    self.running = None

    def _warm_up(self) -> None:
        """Resolve the device and load the default model before the first job asks for it."""
        try:
            if self._requested_device != "cpu":
                from ..models import resolve_device

                self.device = str(resolve_device(self._requested_device))
            if self._warm_model not in (None, PROCEDURAL):
                self._conductor(self._warm_model)
        except Exception as exc:  # the jobs that need it will fail with the reason
            log.warning("could not preload model %r: %s", self._warm_model, exc)

    def _process(self, job: Job) -> None:
        if not self.store.start(job):
            return  # cancelled while it waited
        try:
            if job.prep is None:
                job.prep = self._pool.submit(self._prepare, job)
            if not job.prep.done():
                job.message = "computing features"
            prepared = job.prep.result()
            job.prep = None
            self._check_cancel(job)
            job.message = "loading the model"
            try:
                conductor = self._conductor(job.model)
            except Exception as exc:  # a missing or corrupt checkpoint fails this job, not the server
                raise _JobFailed("model_unavailable", f"cannot load model {job.model!r}: {exc}") from exc

            def progress(fraction: float, message: str) -> None:
                job.progress = FEATURES_SHARE + (1 - FEATURES_SHARE) * fraction
                job.message = message

            with cancellable(lambda: self._check_cancel(job)):  # the procedural conductor's steps
                motion = run(
                    prepared,
                    conductor,
                    job.seed,
                    progress,
                    job.cancel.is_set,
                    beat_lock=job.beat_lock,
                    style=job.style,
                )
            job.beats = prepared.beats
            del prepared
            self._check_cancel(job)
            self.store.finish(job, JobState.DONE, motion=motion)
        except Exception as exc:  # anything: the job records it and the worker goes on
            if job.cancel.is_set():  # GenerationCancelled, or whatever the cancel interrupted
                self.store.finish(job, JobState.CANCELLED, message="cancelled")
            elif isinstance(exc, _JobFailed):
                self.store.finish(job, JobState.FAILED, error=(exc.code, str(exc)), message="failed")
            elif isinstance(exc, AudioError):
                self.store.finish(job, JobState.FAILED, error=("invalid_audio", str(exc)), message="failed")
            elif isinstance(exc, ScoreFitError):  # the score does not fit the audio (score_mismatch=error)
                self.store.finish(job, JobState.FAILED, error=("invalid_score", str(exc)), message="failed")
            elif isinstance(exc, ResultError):  # refused by the final check: nothing non-finite is returned
                log.warning("job %s: %s", job.id, exc)
                self.store.finish(job, JobState.FAILED, error=("invalid_result", str(exc)), message="failed")
            else:  # the log has the details; the client's message carries no server paths or internals
                log.exception("job %s failed", job.id)
                error = ("internal_error", f"internal error ({type(exc).__name__}): see the server log")
                self.store.finish(job, JobState.FAILED, error=error, message="failed")
        finally:
            job.audio.discard()
            _return_freed_memory()

    @staticmethod
    def _check_cancel(job: Job) -> None:
        if job.cancel.is_set():
            raise _JobFailed("cancelled", "cancelled")  # reported as cancelled: the flag is set

    def _conductor(self, model: str):
        """The cached conductor of `model`, loaded on the device on first use (worker thread only)."""
        if model == PROCEDURAL:
            key = (model, "")
        else:
            from ..registry import resolve_model

            key = (model, resolve_model(model, kind="generator").md5)
        with self._cv:
            conductor = self._conductors.get(key)
            if conductor is not None:
                self._conductors.move_to_end(key)
                return conductor
        conductor = load_conductor(model, self.device)
        with self._cv:
            self._conductors[key] = conductor
            while len(self._conductors) > MAX_CONDUCTORS:
                self._conductors.popitem(last=False)
        return conductor

    # ------------------------------------------------------------------------------------ preparation

    def _prepare_ahead(self) -> None:
        """Start computing the features of the next queued jobs (called with the lock held)."""
        if self._stopping:
            return
        for job in islice(self._queue, PREPARE_AHEAD):
            if job.prep is None:
                job.prep = self._pool.submit(self._prepare, job)

    def _prepare(self, job: Job):
        """The job's spectrogram -> the features its conductor needs (pool thread; no torch). Cancelling stops
        it between blocks; the spectrogram is freed when the job ends (_process) or is cancelled."""
        self._check_cancel(job)
        prepared = prepare_input(
            job.audio.spectrogram,
            needs_of(job.model),
            job.meter,
            check=lambda: self._check_cancel(job),
            beats=job.beat_source,
        )
        job.progress = max(job.progress, FEATURES_SHARE)
        if job.state == JobState.QUEUED:
            job.message = "waiting for the device"
        return prepared

    def _cancel_queued(self, job: Job, message: str) -> None:
        job.cancel.set()
        if job.prep is not None:
            job.prep.cancel()
        self.store.finish(job, JobState.CANCELLED, message=message)
        job.audio.discard()


def _return_freed_memory() -> None:
    """Give the memory a job freed back to the system (glibc keeps freed heap pages of each thread's arena:
    about 45 MB after an hour of music, more with fragmentation). Elsewhere a no-op."""
    with suppress(OSError, AttributeError, TypeError):  # not glibc (or no C library to load by name)
        ctypes.CDLL(None).malloc_trim(0)
