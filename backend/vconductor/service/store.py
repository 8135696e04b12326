"""Job records: state, progress, result, and the caps that keep the service's memory bounded.

A finished job is forgotten `ttl_s` after it finished. Results count toward `max_result_bytes`: when a new result
would pass it, the oldest finished jobs are forgotten first (expired ones are already gone: every access sweeps).
Unfinished jobs are capped by count and by the bytes of spectrogram frames they keep on disk.
"""

import secrets
import threading
import time
from dataclasses import dataclass, field

from ..audio import Spectrogram
from ..contract import JobState


class StoreFull(Exception):
    """No room for another job right now; the client should retry later."""


@dataclass
class AudioInput:
    """A job's decoded audio as its spectrogram, whose frames wait on disk until the job's turn."""

    spectrogram: Spectrogram

    @property
    def name(self) -> str:  # how messages and results name it (the uploaded file's name, or "PCM body")
        return self.spectrogram.name

    @property
    def duration_s(self) -> float:
        return self.spectrogram.duration_s

    @property
    def num_samples(self) -> int:
        return self.spectrogram.num_samples

    @property
    def nbytes(self) -> int:
        """Bytes it keeps on disk."""
        return self.spectrogram.frames.nbytes

    def discard(self) -> None:
        self.spectrogram.close()


@dataclass(eq=False)
class Job:
    model: str
    seed: int
    meter: str | None
    audio: AudioInput
    num_frames: int
    id: str = field(default_factory=lambda: secrets.token_hex(8))
    state: JobState = JobState.QUEUED
    progress: float = 0.0
    message: str = "queued"
    error: tuple[str, str] | None = None  # (code, message)
    motion: object = None  # a vconductor.motion_io.Motion once done
    beats: object = None  # the contract's BeatTrack of the audio, once done
    created_at: float = field(default_factory=time.time)
    started_at: float | None = None
    finished_at: float | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    prep: object = None  # the worker's Future of the prepared input
    beat_lock: str = "auto"  # JobOptions.beat_lock
    style: object = None  # JobOptions.conducting_style(): a contract_style.ConductingStyle
    beat_source: object = None  # the user's beats (beat_sources.BeatSource), or None: the tracker's

    def result_bytes(self) -> int:
        if self.motion is None:
            return 0
        return sum(a.nbytes for a in (self.motion.keypoints, *self.motion.optional_arrays().values()))


class JobStore:
    def __init__(
        self,
        ttl_s: float,
        max_active: int,
        max_result_bytes: int,
        max_pending_audio_bytes: int,
        max_finished: int = 1000,
    ):
        self.ttl_s, self.max_active, self.max_finished = ttl_s, max_active, max_finished
        self.max_result_bytes, self.max_pending_audio_bytes = max_result_bytes, max_pending_audio_bytes
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()
        self._result_bytes = 0

    # ------------------------------------------------------------------------------------------ queries

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            self._sweep()
            return self._jobs.get(job_id)

    def active_count(self) -> int:
        with self._lock:
            return sum(not j.state.is_final for j in self._jobs.values())

    def expires_at(self, job: Job) -> float | None:
        return None if job.finished_at is None else job.finished_at + self.ttl_s

    # ---------------------------------------------------------------------------------------- changes

    def sweep(self) -> None:
        """Forget expired jobs (also done on every access; the worker calls this when idle)."""
        with self._lock:
            self._sweep()

    def check_room(self) -> None:
        """Raise StoreFull when the queue is full (checked before an upload is read, and again on add)."""
        with self._lock:
            self._sweep()
            self._check_room(0)

    def add(self, job: Job) -> None:
        with self._lock:
            self._sweep()
            self._check_room(job.audio.nbytes)
            self._jobs[job.id] = job

    def start(self, job: Job) -> bool:
        """queued -> running; False when the job was cancelled meanwhile."""
        with self._lock:
            if job.state != JobState.QUEUED:
                return False
            job.state, job.started_at = JobState.RUNNING, time.time()
            return True

    def finish(
        self,
        job: Job,
        state: JobState,
        *,
        motion=None,
        error: tuple[str, str] | None = None,
        message: str | None = None,
    ) -> bool:
        """Record the end of a job once (a later call, e.g. a cancel racing completion, changes nothing)."""
        with self._lock:
            if job.state.is_final:
                return False
            job.state, job.motion, job.error = state, motion, error
            job.message = message or state.value
            job.progress = 1.0 if state == JobState.DONE else job.progress
            job.finished_at = time.time()
            job.prep = None
            if job.id in self._jobs:
                self._result_bytes += job.result_bytes()
                self._evict(keep=job)
            return True

    def forget(self, job: Job) -> None:
        with self._lock:
            self._drop(job)

    # ---------------------------------------------------------------------------------------- internals

    def _check_room(self, extra_bytes: int) -> None:
        active = [j for j in self._jobs.values() if not j.state.is_final]
        if len(active) >= self.max_active:
            raise StoreFull(f"the queue is full ({len(active)} jobs waiting or running); retry later")
        waiting = sum(j.audio.nbytes for j in active if j.state == JobState.QUEUED)
        if active and waiting + extra_bytes > self.max_pending_audio_bytes:
            raise StoreFull(f"too much audio is waiting ({waiting / 2**20:.0f} MiB decoded); retry later")

    def _drop(self, job: Job) -> None:
        if self._jobs.pop(job.id, None) is not None:
            self._result_bytes -= job.result_bytes()
            job.motion = job.beats = None

    def _sweep(self) -> None:
        now = time.time()
        for job in [j for j in self._jobs.values() if j.finished_at and j.finished_at + self.ttl_s <= now]:
            self._drop(job)

    def _evict(self, keep: Job) -> None:
        """Forget the oldest finished jobs while results or finished records pass their caps."""
        others = (j for j in self._jobs.values() if j.state.is_final and j is not keep)
        finished = sorted(others, key=lambda j: j.finished_at)
        excess = len(finished) + 1 - self.max_finished
        for job in finished:
            over_bytes = self._result_bytes > self.max_result_bytes
            if excess <= 0 and not over_bytes:
                break
            if excess > 0 or job.motion is not None:
                excess -= 1
                self._drop(job)
