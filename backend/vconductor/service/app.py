"""The HTTP API (FastAPI): routes under /v1, one JSON error shape, the checks of security.py.

``create_app(config)`` builds the app; its lifespan starts the device worker and the upload folder and stops
both on shutdown. Blocking work (receiving and decoding uploads, JSON of big results) runs in threads, never on
the event loop. When the server starts to stop, requests still without an answer get a JSON 503 (lifetime.py).
"""

import secrets
import shutil
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import anyio
from fastapi import APIRouter, Depends, FastAPI, Query, Request, Response
from fastapi.responses import JSONResponse, StreamingResponse
from fastapi.security import HTTPBearer

from .. import __version__
from ..contract import MAX_DURATION_S, SAMPLE_RATE, JobState, motion_json_chunks, motion_to_bytes
from ..pipeline import motion_frames
from . import catalog, intake, upload
from .errors import ApiError, install_handlers
from .lifetime import SHUTTING_DOWN, AnswerOnShutdown, Shutdown, run_in_daemon_thread
from .schemas import ErrorBody, ErrorInfo, Health, JobLinks, JobOptions, JobResult, JobStatus, ModelInfo
from .security import BearerAuth, LocalRequestsOnly
from .store import Job, JobStore, StoreFull
from .worker import ShuttingDown, Worker

MiB = 2**20
RETRY_AFTER_S = "5"


@dataclass
class ServiceConfig:
    device: str = "auto"
    token: str | None = None
    host: str = "127.0.0.1"  # the address served: the one non-loopback name Host headers may carry
    max_upload_bytes: int = 512 * MiB
    max_duration_s: float = MAX_DURATION_S
    job_ttl_s: float = 3600.0
    max_queue: int = 64  # jobs queued or running
    max_result_bytes: int = 1024 * MiB  # keypoints kept for finished jobs (a 3 h result is 34 MiB)
    max_pending_audio_bytes: int = 4096 * MiB  # spectrogram frames of queued jobs, on disk (2.6 MiB a minute)
    decode_threads: int = 2  # uploads decoded at once (each holds its decoded audio in memory)
    body_timeout_s: float = 30.0  # the longest wait for the next piece of a request body


def _busy(exc: Exception) -> ApiError:
    return ApiError(429, "queue_full", str(exc), {"Retry-After": RETRY_AFTER_S})


class Service:
    """What the routes work on: the job store, the device worker and the folder for uploads."""

    def __init__(self, config: ServiceConfig):
        self.config = config
        self.store = JobStore(
            config.job_ttl_s, config.max_queue, config.max_result_bytes, config.max_pending_audio_bytes
        )
        self.worker = Worker(self.store, config.device, warm_model=catalog.default_model_name())
        self.tmp = Path()
        self.shutdown = Shutdown()
        self._decoders: anyio.CapacityLimiter | None = None

    def start(self) -> None:
        self.tmp = intake.upload_folder()
        self._decoders = anyio.CapacityLimiter(self.config.decode_threads)
        try:
            self.worker.start()
        except BaseException:
            shutil.rmtree(self.tmp, ignore_errors=True)
            raise

    def begin_shutdown(self) -> None:
        """The server starts to stop: uploads in flight are answered with a 503 now (see lifetime.py)."""
        self.shutdown.begin()

    def stop(self) -> None:
        self.worker.stop()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def job(self, job_id: str) -> Job:
        job = self.store.get(job_id)
        if job is None:
            raise ApiError(404, "not_found", f"no job {job_id!r} (never submitted, deleted or expired)")
        return job

    async def submit(self, request: Request, options: JobOptions) -> Job:
        """Check what can be checked before reading the body, receive and decode it, queue the job."""
        if self.shutdown.stopping or self.worker.stopping:
            raise ApiError(503, "shutting_down", SHUTTING_DOWN)
        try:
            self.store.check_room()
        except StoreFull as exc:
            raise _busy(exc) from None
        kind = upload.media_type(request)
        if kind not in (upload.PCM_TYPE, upload.MULTIPART_TYPE):
            message = (
                f"send {upload.MULTIPART_TYPE} (an audio file as 'file') or {upload.PCM_TYPE} (float32 PCM), "
                f"not {kind or 'no Content-Type'}"
            )
            raise ApiError(415, "unsupported_media_type", message)
        stem, pcm = secrets.token_hex(8), kind == upload.PCM_TYPE
        received = self.tmp / stem
        try:
            received, name, options, model, given, score = await self._receive(request, options, stem, pcm)
            out = self.tmp / f"{stem}-samples"  # never an upload's name: those are the stem and a suffix
            max_s = self.config.max_duration_s
            decode_args = (received, name, out, options, pcm, max_s)
            audio = await run_in_daemon_thread(self._decoders, intake.decode, *decode_args)
        finally:
            received.unlink(missing_ok=True)
        try:
            beat_args = (given, options, audio.duration_s, score)
            beat_source = await anyio.to_thread.run_sync(intake.beat_source_for, *beat_args)
        except BaseException:
            audio.discard()
            raise
        job = Job(model, options.seed, options.meter, audio, motion_frames(audio.num_samples, SAMPLE_RATE))
        job.beat_lock, job.style, job.beat_source = options.beat_lock, options.conducting_style(), beat_source
        try:
            self.worker.submit(job)
        except StoreFull as exc:
            audio.discard()
            raise _busy(exc) from None
        except ShuttingDown as exc:
            audio.discard()
            raise ApiError(503, "shutting_down", str(exc)) from None
        return job

    async def _receive(self, request: Request, options: JobOptions, stem: str, pcm: bool):
        """The body on disk, checked as far as it can be without decoding: (path, name, options, model, the
        'beats' part's beats or None)."""
        limits = upload.BodyLimits(self.config.max_upload_bytes, self.config.body_timeout_s)
        declared = upload.declared_length(request, limits.max_bytes)
        if not pcm:
            form = await upload.receive_multipart(request, self.tmp, stem, limits)
            path = form.path
            try:
                options = intake.merge_options(options, form.fields)
                intake.check_pcm_options(options, pcm=False)
                model = catalog.check_model(options.model)
                parse = (form.beats, form.beats_name, options)
                given = await anyio.to_thread.run_sync(intake.parse_beats_part, *parse)
                parse = (form.score, form.score_name, options, given)
                score = await anyio.to_thread.run_sync(intake.parse_score_part, *parse)
                return path, form.name, options, model, given, score
            except BaseException:
                path.unlink(missing_ok=True)
                raise
        intake.check_pcm_options(options, pcm=True)
        model = catalog.check_model(options.model)
        if declared is not None:
            intake.check_pcm_length(declared, options, self.config.max_duration_s)
        await upload.receive_body(request, self.tmp / stem, limits)
        return self.tmp / stem, intake.PCM_NAME, options, model, None, None

    def status(self, job: Job, message: str | None = None) -> JobStatus:
        base = f"/v1/jobs/{job.id}"
        return JobStatus(
            id=job.id,
            state=job.state,
            progress=round(job.progress, 4),
            message=job.message if message is None else message,
            error=ErrorInfo(code=job.error[0], message=job.error[1]) if job.error else None,
            model=job.model,
            seed=job.seed,
            duration_s=job.audio.duration_s,
            num_frames=job.num_frames,
            queue_position=self.worker.queue_position(job) if job.state == JobState.QUEUED else None,
            created_at=job.created_at,
            started_at=job.started_at,
            finished_at=job.finished_at,
            expires_at=self.store.expires_at(job),
            links=JobLinks(
                status=base, result=f"{base}/result", result_npz=f"{base}/result.npz", beats=f"{base}/beats"
            ),
        )

    def result(self, job_id: str, part: str = "motion"):
        """The Motion (or BeatTrack: `part` "beats") of a done job; 409 while it is unfinished or when it
        failed, 410 when cancelled."""
        job = self.job(job_id)
        found = job.motion if part == "motion" else job.beats
        if job.state == JobState.DONE and found is not None:
            return found
        if job.state == JobState.FAILED:
            raise ApiError(
                409, "job_failed", f"the job failed: {job.error[1] if job.error else 'unknown error'}"
            )
        if job.state == JobState.CANCELLED:
            raise ApiError(410, "cancelled", "the job was cancelled: it has no result")
        if job.state == JobState.DONE:  # forgotten between the two reads
            raise ApiError(404, "not_found", f"no job {job_id!r} (expired)")
        raise ApiError(
            409, "not_ready", f"the job is {job.state.value} ({job.progress:.0%}): poll /v1/jobs/{job_id}"
        )


# --------------------------------------------------------------------------------------------------- routes


def _service(request: Request) -> Service:
    return request.app.state.service


Svc = Annotated[Service, Depends(_service)]


def _errors(*statuses: int) -> dict:
    return {s: {"model": ErrorBody} for s in statuses}


# answers any route can give (security.py, lifetime.py), documented on each
EVERY_ROUTE = {
    403: {"model": ErrorBody, "description": "refused: a request from a web page (Origin), or a wrong token"},
    421: {"model": ErrorBody, "description": "refused: the Host header names another server (DNS rebinding)"},
    503: {
        "model": ErrorBody,
        "description": "the server is shutting down, or cannot serve this now (the error says why)",
    },
}


_form_fields = {
    k: v for k, v in JobOptions.model_json_schema()["properties"].items() if k not in intake.PCM_ONLY
}
SUBMIT_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            upload.MULTIPART_TYPE: {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {"type": "string", "format": "binary"},
                        upload.BEATS_FIELD: {
                            "type": "string",
                            "format": "binary",
                            "description": "optional: a beat file to conduct (vconductor analyze's JSON or "
                            "CSV, or one time a line; at most 1 MiB; docs/beat-sources.md)",
                        },
                        **_form_fields,
                    },
                },
            },
            upload.PCM_TYPE: {"schema": {"type": "string", "format": "binary"}},
        },
    }
}
SUBMIT_DOC = """Submit audio: a multipart upload (`file`: any format the backend decodes; options as query
parameters or form fields), or raw little-endian float32 PCM, channels interleaved, as
`application/octet-stream` with `sample_rate` and `channels` in the query. The audio is decoded and checked
before the reply: 202 means a job was queued; unusable audio is a 422 with the reason."""

public = APIRouter(prefix="/v1")
api = APIRouter(prefix="/v1")


@public.get("/health", response_model=Health)
def health(svc: Svc):
    return {
        "status": "stopping" if svc.shutdown.stopping or svc.worker.stopping else "ok",
        "version": __version__,
        "device": svc.worker.device,
        "models_loaded": svc.worker.loaded_models(),
        "queue_length": svc.store.active_count(),
        "auth_required": svc.config.token is not None,
    }


@api.get("/models", response_model=list[ModelInfo])
def models(svc: Svc):
    return catalog.model_infos(svc.worker.loaded_models())


@api.post(
    "/jobs",
    status_code=202,
    response_model=JobStatus,
    description=SUBMIT_DOC,
    responses=_errors(400, 408, 413, 415, 422, 429),
    openapi_extra=SUBMIT_BODY,
)
async def submit_job(request: Request, options: Annotated[JobOptions, Query()], svc: Svc):
    job = await svc.submit(request, options)
    return _status_response(svc.status(job), 202, headers={"Location": f"/v1/jobs/{job.id}"})


def _status_response(
    status: JobStatus, code: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(status.model_dump(mode="json"), status_code=code, headers=headers)


@api.get("/jobs/{job_id}", response_model=JobStatus, responses=_errors(404))
def job_status(job_id: str, svc: Svc):
    return svc.status(svc.job(job_id))


@api.get("/jobs/{job_id}/result", response_model=JobResult, responses=_errors(404, 409, 410))
def job_result(job_id: str, svc: Svc):
    # streamed: a 3 h result as one list of floats would take ~1 GB
    return StreamingResponse(motion_json_chunks(svc.result(job_id)), media_type="application/json")


_NPZ = {
    "content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}},
    "description": "the .npz that vconductor.motion_io.save_motion writes",
}


@api.get(
    "/jobs/{job_id}/result.npz", response_class=Response, responses={200: _NPZ, **_errors(404, 409, 410)}
)
def job_result_npz(job_id: str, svc: Svc):
    data = motion_to_bytes(svc.result(job_id), ".npz")
    disposition = f'attachment; filename="{job_id}.npz"'
    return Response(data, media_type="application/octet-stream", headers={"Content-Disposition": disposition})


_BEATS = {"description": "the audio's beats, bars, tempo and confidence (vconductor analyze's JSON document)"}


@api.get("/jobs/{job_id}/beats", responses={200: _BEATS, **_errors(404, 409, 410)})
def job_beats(job_id: str, svc: Svc):
    return JSONResponse(svc.result(job_id, "beats").to_document())


@api.delete(
    "/jobs/{job_id}",
    response_model=JobStatus,
    responses={
        200: {"description": "a queued job, now cancelled"},
        202: {"model": JobStatus, "description": "a running job: it stops at its next window"},
        204: {"description": "a finished job, now forgotten"},
        **_errors(404),
    },
)
def delete_job(job_id: str, svc: Svc):
    job = svc.job(job_id)
    if job.state.is_final:
        svc.store.forget(job)
        return Response(status_code=204)
    if svc.worker.cancel(job):
        return _status_response(svc.status(job))
    return _status_response(svc.status(job, message="cancelling"), 202)


def create_app(config: ServiceConfig | None = None) -> FastAPI:
    config = config or ServiceConfig()
    service = Service(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        service.start()
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(service.stop)

    app = FastAPI(
        title="vconductor",
        version=__version__,
        lifespan=lifespan,
        description="Music to orchestral-conductor motion (13 keypoints at 30 fps).",
    )
    app.state.service = service
    install_handlers(app)
    protected = []
    if config.token is not None:
        app.add_middleware(BearerAuth, token=config.token)
        protected = [Depends(HTTPBearer(auto_error=False))]  # documents the scheme; BearerAuth enforces it
    app.add_middleware(LocalRequestsOnly, listen_host=config.host)  # the last added runs first
    app.add_middleware(AnswerOnShutdown, shutdown=service.shutdown)
    app.include_router(public, responses=EVERY_ROUTE)
    app.include_router(
        api, dependencies=protected, responses={**EVERY_ROUTE, **(_errors(401) if protected else {})}
    )
    return app
