"""The generation pipeline: audio in, a Motion out. Shared by the CLI and the HTTP service.

Two kinds of conductor stand behind one interface (``needs``, ``model_id``, ``conduct``): the learned M2S-GAN
generator, which needs the official mel features, and the procedural conductor, which needs a music analysis
and no weights. Reading the audio needs no torch, so callers can prepare the input while a model loads
(``prepare_input`` then ``run``); ``generate`` does both in turn.
"""

from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from time import perf_counter

from .audio import SILENCE_PEAK, AudioError, Spectrogram, audio_spectrogram, official_features
from .beat_tracking.tracker import beat_track, tracked_with_activations
from .conducted import Conducted, styled_learned
from .contract import FPS, MAX_DURATION_S, MIN_DURATION_S, Motion, MotionFileError
from .contract_style import ConductingStyle
from .progress import Progress, cancellable

PROCEDURAL = "procedural"


class ResultError(ValueError):
    """A conductor's output that must not be handed on (non-finite values), named after its input."""


@dataclass
class JobReport:
    """Wall-clock seconds per stage of a job, for --timings and benchmarks; what beat-locking did."""

    seconds: dict[str, float] = field(default_factory=dict)
    beat_lock: dict | None = None  # beat_lock.beat_lock's account, when the motion was locked


@dataclass
class PreparedInput:
    """What a conductor needs from the audio (small enough to pass between processes: long pieces' frames wait
    in a scratch file, which goes with it). ``close()`` frees them."""

    name: str
    duration_s: float
    num_frames: int  # ceil(duration * 30)
    mel: object | None = None  # MelFeatures (T, 128) at 90 Hz, for the learned model, computed as read
    analysis: object | None = None  # a vconductor.conducting.MusicAnalysis, for the procedural conductor
    beats: object | None = None  # the contract's BeatTrack: the tracker's (or the user's) beats, bars, tempo
    given_beats: bool = False  # the beats are the user's (beat_sources.py): conducted, and locked to
    score: dict | None = None  # a score's alignment report (scores/source.py): case, confidence, fit
    # seconds each preparation stage took: they travel with the input (it may be prepared in another process)
    seconds: dict[str, float] = field(default_factory=dict)

    def close(self) -> None:
        if self.mel is not None:
            self.mel.spectrogram.close()


# Which beats the procedural conductor follows: our tracker's ("tracker") or the tempogram analysis's
# ("classic"). benchmarks/bench_beat_tracking.py measures both (docs/beat-tracker.md).
CONDUCTED_BEATS = "tracker"


def motion_frames(num_samples: int, sample_rate: int) -> int:
    """ceil(duration * 30) in exact integer arithmetic."""
    return -(-num_samples * FPS // sample_rate)


def check_usable(audio) -> None:
    """Reject audio (an Audio or a Spectrogram) that cannot give a meaningful performance, with a reason."""
    if audio.duration_s < MIN_DURATION_S:
        raise AudioError(
            f"{audio.name}: too short ({audio.duration_s:.2f} s); at least {MIN_DURATION_S} s of music is needed"
        )
    if audio.peak < SILENCE_PEAK:
        raise AudioError(f"{audio.name}: the audio is silent (peak {audio.peak:.1e}, below -80 dBFS)")


def prepare_input(
    source,
    needs: str = "mel",
    meter: str | None = None,
    max_duration_s: float = MAX_DURATION_S,
    check=None,
    beats=None,
) -> PreparedInput:
    """Decode, check, and compute what the conductor needs: "mel" features or an "analysis" (no torch).

    `source` is a path, ``(samples, rate)``, an Audio, or a Spectrogram (decoded and checked by the caller,
    and owned by the result from now on). A source longer than `max_duration_s` is refused (AudioTooLong)
    before or while decoding. `check()`, when given, runs between blocks of work and may raise to stop it.
    `beats`, a beat_sources.BeatSource, replaces the tracker's beats (BeatSourceError when they do not fit).
    """
    if needs not in ("mel", "analysis"):
        raise ValueError(f"unknown input kind {needs!r}")
    t0 = perf_counter()
    spectrogram = source
    if not isinstance(source, Spectrogram):
        spectrogram = audio_spectrogram(source, max_duration_s, check=check)
    try:
        if spectrogram is not source:
            check_usable(spectrogram)
        prepared = _prepared(spectrogram, needs, meter, check, perf_counter() - t0, beats)
    except BaseException:
        spectrogram.close()
        raise
    if needs == "analysis":
        spectrogram.close()
    return prepared


def _prepared(spectrogram: Spectrogram, needs: str, meter, check, decode_s: float, beats) -> PreparedInput:
    name = spectrogram.name
    name = Path(name).name if name != "<samples>" else ""
    frames = motion_frames(spectrogram.num_samples, spectrogram.sample_rate)
    prepared = PreparedInput(name, spectrogram.duration_s, frames)
    prepared.seconds["decode"] = decode_s
    t0 = perf_counter()
    tracked, activations = _track_beats(spectrogram, meter, check)
    guide = None
    if beats is not None and beats.score is not None:  # the score aligned to this audio: its beats are given
        beats, guide, prepared.score = score_beat_source(beats, spectrogram, activations[:, 0])
    if beats is not None:  # the user's beats: bar positions they lack come from the tracker
        from .beat_sources import given_beats

        tracked = given_beats(beats, spectrogram.duration_s, tracked, meter)
        prepared.given_beats = True
    prepared.beats = beat_track(tracked, spectrogram.duration_s, name, meter)
    if prepared.score is not None:
        prepared.beats.score = {k: v for k, v in prepared.score.items() if k != "line"}
    prepared.seconds["beats"] = perf_counter() - t0
    t0 = perf_counter()
    if needs == "mel":
        prepared.mel = official_features(spectrogram)
        prepared.seconds["features"] = perf_counter() - t0
    else:
        from .conducting import analyze

        conducted = tracked if CONDUCTED_BEATS == "tracker" or beats is not None else None
        prepared.analysis = analyze(spectrogram, meter=meter, check=check, tracked=conducted)
        prepared.analysis.score = guide
        prepared.seconds["analysis"] = perf_counter() - t0
    return prepared


def score_beat_source(beats, spectrogram: Spectrogram, activation=None):
    """(the BeatSource of the score's aligned beats, or None when it did not fit and the user chose the
    audio's; its ScoreGuide; the alignment's report)."""
    from dataclasses import replace

    from .scores.source import score_beats

    result = score_beats(beats.score, spectrogram, activation)
    source = (
        None
        if result.given is None
        else replace(beats, given=result.given, score=None, offset_s=0.0, cropped=True)
    )
    report = dict(result.report, line=result.line())
    return source, result.guide, report


def _track_beats(spectrogram: Spectrogram, meter: str | None, check):
    """Our tracker's beats, bars and tempo (what either conductor may follow, and markers show), and the
    network's activations they were decoded from (a score's beats are placed on them)."""
    from .conducting.beats import tracker_bar_lengths

    with cancellable(check) if check is not None else nullcontext():
        return tracked_with_activations(spectrogram, tracker_bar_lengths(meter))


class LearnedConductor:
    """A checkpoint's M2S-GAN generator (seamless windowed generation, CUDA or CPU)."""

    needs = "mel"

    def __init__(self, generator, model_id: str):
        self.generator, self.model_id = generator, model_id  # a vconductor.generation.MotionGenerator

    @property
    def device(self) -> str:
        return str(self.generator.device)

    def conduct(
        self, prepared: PreparedInput, seed: int, progress=None, should_cancel=None, timings=None, style=None
    ):
        # the style is applied by `run`, after beat-locking (which follows the beating hand)
        return Conducted(
            self.generator(prepared.mel, prepared.num_frames, seed, progress, should_cancel, timings)
        )


class ProceduralConductor:
    """Textbook beat patterns driven by a music analysis: no weights, no torch."""

    needs = "analysis"
    model_id = PROCEDURAL
    device = "cpu"

    def __init__(self, config=None):
        self.config = config  # a vconductor.conducting.ConductorConfig, or None for the defaults

    def conduct(
        self, prepared: PreparedInput, seed: int, progress=None, should_cancel=None, timings=None, style=None
    ):
        from .conducting import conduct, styled_config

        t0 = perf_counter()
        config = styled_config(style, self.config) if style is not None else self.config
        conducted = conduct(prepared.analysis, prepared.num_frames, seed, config)
        if timings is not None:
            timings["conduct"] = perf_counter() - t0
        if progress is not None:
            progress(1.0, "conducting")
        return conducted


def needs_of(model: str) -> str:
    """What input a model name or path needs, known before loading it."""
    return ProceduralConductor.needs if model == PROCEDURAL else LearnedConductor.needs


def load_conductor(name_or_path: str, device: str = "auto", config=None):
    """The conductor for "procedural", a registered model name or a checkpoint path (fast paths built now)."""
    if name_or_path == PROCEDURAL:
        return ProceduralConductor()
    from .generation import MotionGenerator
    from .models import load_generator
    from .registry import resolve_model

    entry = resolve_model(name_or_path, kind="generator")
    generator = MotionGenerator(load_generator(entry.path), device, config)
    generator.music_encoder()  # build the fused encoder now, not inside the first job
    return LearnedConductor(generator, entry.id)


def run(
    prepared: PreparedInput,
    conductor,
    seed: int = 0,
    progress: Progress | None = None,
    should_cancel=None,
    report: JobReport | None = None,
    beat_lock: str = "auto",
    style: ConductingStyle | None = None,
) -> Motion:
    """The motion for prepared input; `report` receives the preparation's and the conductor's timings.

    A learned model's motion is beat-locked to the tracked beats (beat_lock.py) when `beat_lock` is "on", or
    "auto" and the tracker is confident or the beats are the user's. `style` (default: the reference) shapes the procedural conductor's
    whole performance; of a learned model's, its size and the conducting hand. A result with non-finite values raises ResultError: no caller may
    write or return it.
    """
    from . import beat_lock as lock

    report = report if report is not None else JobReport()
    report.seconds.update(prepared.seconds)
    conducted = conductor.conduct(prepared, seed, progress, should_cancel, report.seconds, style)
    beats = prepared.beats
    if prepared.given_beats and beat_lock == "auto":
        beat_lock = "on"  # the user's beats are certain
    if conductor.needs == "mel" and beats is not None and lock.should_lock(beat_lock, beats.confidence):
        conducted.keypoints, report.beat_lock = lock.beat_lock(conducted.keypoints, beats.beats_s)
    if conductor.needs == "mel":
        conducted = styled_learned(conducted, style or ConductingStyle())
    try:
        return Motion(
            conducted.keypoints,
            prepared.duration_s,
            conductor.model_id,
            seed,
            source=prepared.name,
            keypoints3d=conducted.keypoints3d,
            baton_tip=conducted.baton_tip,
        )
    except MotionFileError as exc:
        raise ResultError(f"{prepared.name or 'the audio'}: no usable motion was produced ({exc})") from None


def generate(
    source, conductor, seed: int = 0, meter=None, progress=None, should_cancel=None, report=None, beats=None
) -> Motion:
    """Audio (path, (samples, rate) or Audio) -> Motion of ceil(duration * 30) frames (`beats`: the user's,
    a beat_sources.BeatSource)."""
    prepared = prepare_input(source, conductor.needs, meter, beats=beats)
    try:
        return run(prepared, conductor, seed, progress, should_cancel, report)
    finally:
        prepared.close()
