"""Request options and response bodies, as pydantic models: they validate input and document the API."""

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..beat_sources import MAX_BPM, MIN_BPM
from ..contract import JobState
from ..contract_style import PRESETS, RANGES, ConductingStyle, conducting_style

MAX_SEED = 2**32 - 1  # what every conductor's random generator accepts
MAX_CROP_S = 1e6  # crop times are seconds of audio: beyond about 11 days they are not (docs/input-limits.md)


def _control(name: str, description: str):
    low, high = RANGES[name]
    return Field(
        None, ge=low, le=high, allow_inf_nan=False, description=f"{description}, {low:g} to {high:g}"
    )


class JobOptions(BaseModel):
    """Options of a job: query parameters, or form fields beside a multipart upload."""

    model_config = ConfigDict(extra="forbid")

    model: str | None = Field(
        None,
        min_length=1,
        max_length=64,
        description="'procedural' or a registered model name (GET /v1/models); default: the registered "
        "learned model, else procedural",
    )
    seed: int = Field(0, ge=0, le=MAX_SEED, description="the same seed gives the same motion")
    start_s: float | None = Field(
        None, ge=0, le=MAX_CROP_S, allow_inf_nan=False, description="crop: start (seconds)"
    )
    end_s: float | None = Field(
        None,
        gt=0,
        le=MAX_CROP_S,
        allow_inf_nan=False,
        description="crop: end (seconds; past the end of the audio means its end)",
    )
    meter: Literal["2/4", "3/4", "4/4", "6/8"] | None = Field(
        None, description="metre for the procedural conductor (default: detected); learned models ignore it"
    )
    beat_lock: Literal["auto", "on", "off"] = Field(
        "auto",
        description="learned models: move the gestures onto the tracked beats (auto: when confident, or "
        "when the beats are given)",
    )
    bpm: float | None = Field(
        None,
        ge=MIN_BPM,
        le=MAX_BPM,
        allow_inf_nan=False,
        description="conduct a steady grid of this tempo instead of the tracked beats (docs/beat-sources.md); "
        "not with a 'beats' part",
    )
    first_downbeat: float | None = Field(
        None,
        ge=0,
        le=MAX_CROP_S,
        allow_inf_nan=False,
        description="with bpm: the grid's first downbeat (seconds of the uploaded audio); default: the phase "
        "of the tracked downbeats",
    )
    score_mismatch: Literal["error", "audio"] = Field(
        "error",
        description="with a 'score' part that does not fit the audio: fail the job (error) or conduct the "
        "audio's own beats (audio); docs/scores.md",
    )
    style: str | None = Field(None, max_length=40, description=f"a style preset: {', '.join(PRESETS)}")
    size: float | None = _control("size", "gesture size (1: real conductors')")
    energy: float | None = _control("energy", "rebound height and liveliness (procedural)")
    articulation: float | None = _control(
        "articulation", "-1 legato .. 0 as played .. 1 marcato (procedural)"
    )
    left_hand: float | None = _control("left_hand", "left-hand activity (procedural)")
    left_handed: bool | None = Field(None, description="a left-handed conductor (default: the preset's)")
    baton: bool | None = Field(None, description="conduct with a baton (default: the preset's)")
    sample_rate: int | None = Field(
        None, ge=1000, le=768000, description="raw PCM only: samples per second per channel (required)"
    )
    channels: int = Field(1, ge=1, le=64, description="raw PCM only: interleaved channels")

    @model_validator(mode="after")
    def _crop_order(self):
        if self.start_s is not None and self.end_s is not None and self.end_s <= self.start_s:
            raise ValueError("end_s must be after start_s")
        if self.first_downbeat is not None and self.bpm is None:
            raise ValueError("first_downbeat needs bpm (the grid's tempo)")
        self.conducting_style()  # an unknown preset is refused with the others (StyleError is a ValueError)
        return self

    def conducting_style(self) -> ConductingStyle:
        controls = {name: getattr(self, name) for name in (*RANGES, "left_handed", "baton")}
        return conducting_style(self.style, **controls)


class ErrorInfo(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    error: ErrorInfo


class JobLinks(BaseModel):
    status: str
    result: str
    result_npz: str
    beats: str


class JobStatus(BaseModel):
    id: str
    state: JobState
    progress: float = Field(description="0..1")
    message: str
    error: ErrorInfo | None = None
    model: str
    seed: int
    duration_s: float = Field(description="seconds of audio (after cropping)")
    num_frames: int = Field(description="motion frames the result has: ceil(duration_s * 30)")
    queue_position: int | None = Field(None, description="jobs ahead of this one, while queued")
    created_at: float = Field(description="Unix time")
    started_at: float | None = None
    finished_at: float | None = None
    expires_at: float | None = Field(None, description="Unix time when a finished job is forgotten")
    links: JobLinks


class JobResult(BaseModel):
    keypoints: list[list[list[float]]] = Field(description="(num_frames, 13, 2)")
    keypoints3d: list[list[list[float]]] | None = Field(
        None,
        description="(num_frames, 13, 3) authored 3D in the body frame (docs/motion-files.md), when made",
    )
    baton_tip: list[list[float]] | None = Field(
        None, description="(num_frames, 3) the baton's tip, when made"
    )
    fps: int
    joint_names: list[str]
    model: str
    seed: int
    duration_s: float
    num_frames: int
    source: str


class ModelInfo(BaseModel):
    id: str = Field(description="the name to pass as `model`")
    kind: Literal["procedural", "learned"]
    default: bool
    loaded: bool
    model_id: str = Field(description="what results record as `model`")


class Health(BaseModel):
    status: Literal["ok", "stopping"]
    version: str
    device: str
    models_loaded: list[str]
    queue_length: int = Field(description="jobs queued or running")
    auth_required: bool
