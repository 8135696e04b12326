"""The music analysis: decoded audio in, a MusicAnalysis out (docs/conducting.md describes the stages)."""

from contextlib import nullcontext

import numpy as np

from ..audio import Spectrogram, audio_spectrogram
from ..progress import cancellable, cancellation_point
from . import tuning as tun
from .beat_levels import beat_candidates, plausibility
from .beats import DetectedBeats, conducted_beats, tracked_beats
from .features import FEATURE_RATE, SpectralFeatures, motion_contours, spectral_features
from .metre import choose_beats_per_bar
from .music_analysis import METERS, MusicAnalysis
from .phrases import phrase_starts
from .tempo import TempoSalience, pick_tatum, tempogram


def analyze(
    audio,
    meter: str | None = None,
    frame_rate: float = 30.0,
    progress=None,
    check=None,
    tracked=None,
) -> MusicAnalysis:
    """Analyse `audio` for conducting: the conducted beats, metre, tempo, and contours at `frame_rate`.

    `audio` is a :class:`vconductor.audio.Spectrogram` (left open), an :class:`vconductor.audio.Audio`,
    ``(samples, sample_rate)`` or a path. `meter` overrides the metre ("2/4", "3/4", "4/4", "6/8"): the beats
    per bar are then fixed and only the downbeat phase is found ("6/8" also fixes compound beats, conducted in
    six). `progress(fraction, message)`, when given, is called as the analysis goes; `check()`, when given, is
    called between blocks of work and may raise to stop it. Silence, noise or a held tone give no beats and
    ``meter="4/4"``. With `tracked`, the trained tracker's result for this audio (a beat_tracking.TrackedBeats,
    which the caller computes: that package builds on this one), its beats are conducted; without, the beats
    come from the tempogram analysis below (the "classic" analysis, kept for comparison).
    """

    if meter is not None and meter not in METERS:
        raise ValueError(f"meter must be one of {sorted(METERS)} or None, got {meter!r}")
    frame_rate = float(frame_rate)
    if not np.isfinite(frame_rate) or frame_rate <= 0:
        raise ValueError(f"frame_rate must be positive, got {frame_rate!r}")

    def report(fraction: float, message: str) -> None:
        cancellation_point()
        if progress is not None:
            progress(fraction, message)

    with cancellable(check) if check is not None else nullcontext():
        return _analyze(audio, meter, frame_rate, report, tracked)


def _analyze(audio, meter: str | None, frame_rate: float, report, tracked) -> MusicAnalysis:
    spectrogram = audio if isinstance(audio, Spectrogram) else audio_spectrogram(audio)
    try:
        duration = spectrogram.duration_s
        num_frames = max(1, int(np.ceil(duration * frame_rate - 1e-6)))
        report(0.0, "music analysis: spectral features")
        features = spectral_features(spectrogram, cancellation_point)
    finally:
        if spectrogram is not audio:
            spectrogram.close()
    try:
        report(0.3, "music analysis: loudness and articulation")
        contours = motion_contours(features, num_frames, frame_rate)
        report(0.45, "music analysis: tempo and beats")
        if tracked is not None:
            beats = tracked_beats(features, tracked, meter)
        else:
            beats = find_beats(features, meter, report)
        report(0.9, "music analysis: phrases")
        phrases = phrase_starts(features, beats)
    finally:
        features.close()
    report(1.0, "music analysis: done")
    return MusicAnalysis(
        duration_s=float(duration),
        beats_s=beats.times,
        beat_in_bar=beats.in_bar,
        meter=beats.meter,
        tempo_bpm=beats.tempo,
        loudness=contours["loudness"],
        onset_strength=contours["onset"],
        articulation=contours["articulation"],
        silent=contours["silent"],
        phrase_starts_s=phrases,
        frame_rate=frame_rate,
    )


def find_beats(features: SpectralFeatures, meter: str | None, report) -> DetectedBeats:
    """The conducted beats: the most plausible beat level over the tatum, counted in bars of the metre."""
    if is_rhythmless(features):
        return DetectedBeats.empty(meter)
    pulses, tatum = tempo_pulses(features)
    if pulses is None:
        return DetectedBeats.empty(meter)
    candidates = beat_candidates(features, pulses, tatum, report)
    if meter == "6/8" and any(c.compound for c in candidates):
        candidates = [c for c in candidates if c.compound]
    if not candidates:
        return DetectedBeats.empty(meter)
    best = max(candidates, key=plausibility)
    if meter is None:
        per_bar = choose_beats_per_bar(best.bars, len(best.frames), best.compound)
    else:
        per_bar = 2 if meter == "6/8" else METERS[meter]
    return conducted_beats(features, best, per_bar, meter)


def tempo_pulses(features: SpectralFeatures) -> tuple[TempoSalience | None, float]:
    """The tempo salience per window and the tatum; (None, 0) with too few sounding windows. A function of its
    own so that the tempograms (100 MB an hour) are freed before beat tracking."""
    tempi = tempogram(features.onset)
    salience = tempi.autocorrelation * tempi.fourier
    energy = tempi.energy
    valid = features.active[tempi.centres] & (energy > 1e-9 * max(energy.max(), 1e-30))
    if valid.sum() < 3:
        return None, 0.0
    per_window = salience[valid] / np.maximum(salience[valid].max(axis=1, keepdims=True), 1e-12)
    tatum = pick_tatum(per_window.mean(axis=0))
    return TempoSalience(salience, valid, tempi.centres, features.num_frames), tatum


def is_rhythmless(features: SpectralFeatures) -> bool:
    """Too little sound, no clear onsets (a held tone, a drone), or white-noise-like (a flat spectrum)."""
    active = features.active
    if active.sum() < tun.MIN_SOUNDING_S * FEATURE_RATE:
        return True
    if np.percentile(features.onset[active], tun.ONSET_SCALE_PERCENTILE) < tun.MIN_ONSET_FLUX:
        return True
    return float(np.median(features.flatness_db[active])) > tun.NOISE_FLATNESS_DB
