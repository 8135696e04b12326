"""Which metrical level is the conducted beat: beats tracked at each candidate level, and their scores."""

from dataclasses import dataclass

import numpy as np

from ..progress import cancellation_point
from . import tuning as tun
from .features import SpectralFeatures
from .metre import bar_levels, beat_accents, fit_bar_template, local_max, ternary_evidence
from .tempo import TempoSalience, tempo_curve, track_beats


@dataclass
class BeatCandidate:
    per_tatum: int  # tatums per beat (3 and 6: dotted quarters over eighths/sixteenths); 0: free tempo path
    frames: np.ndarray  # beat frames
    bpm: np.ndarray  # per-frame tempo curve
    on: float = 0.0  # mean onset strength at the beats, halfway between them and at the thirds
    half: float = 0.0
    thirds: float = 0.0
    bars: dict | None = None  # beats per bar -> (template fit, phase)
    contrast: float = 0.0  # mean log ratio of the onset strength at the beats to that between them
    ternary: float = 0.0  # compound beats: how much better 6/8 fits the eighth-note accents than 3/4

    @property
    def compound(self) -> bool:
        """Dotted-quarter beats: three tatums per beat, or (free tempo path) thirds stronger than halves."""
        return self.per_tatum in (3, 6) or (self.per_tatum == 0 and self.thirds > self.half)


def beat_candidates(
    features: SpectralFeatures, pulses: TempoSalience, tatum: float, report
) -> list[BeatCandidate]:
    """Beat tracks at the metrical levels over the tatum (one tatum tempo curve, divided by each level), and at
    a free beat-level path, its half and its double."""
    lowest, highest = tun.BEAT_RANGE_BPM
    tatum_bpm = tempo_curve(pulses, tatum, tun.TATUM_LEVELS)
    levels = [b for b in tun.BEAT_MULTIPLES if lowest <= tatum / b <= highest]
    curves = [(b, tatum_bpm / b) for b in levels]
    free = tempo_curve(
        pulses,
        tun.FREE_PATH_CENTRE_BPM,
        tun.FREE_LEVELS,
        span_oct=tun.FREE_PATH_SPAN_OCT,
        prior_oct=tun.FREE_PATH_PRIOR_OCT,
    )
    curves += [(0, free * m) for m in (0.5, 1.0, 2.0) if lowest <= np.median(free * m) <= highest]
    found = []
    for i, (per_tatum, bpm) in enumerate(curves):
        report(0.5 + 0.35 * i / len(curves), "music analysis: beat tracking")
        if any(np.percentile(np.abs(np.log(bpm / c.bpm)), 95) < tun.SAME_CURVE_LOG_TOLERANCE for c in found):
            continue  # (nearly) the same tempo curve as an earlier level
        candidate = _candidate(features, per_tatum, bpm)
        if candidate is not None:
            found.append(candidate)
    return found


def _candidate(features: SpectralFeatures, per_tatum: int, bpm: np.ndarray) -> BeatCandidate | None:
    """Beats tracked along the tempo curve `bpm`, with the evidence for them as the conducted beat."""
    frames = track_beats(features.onset, bpm)
    if len(frames) < 4:
        return None
    if per_tatum not in (3, 6):
        cancellation_point()
        frames = fix_phase(features, frames, bpm)
    candidate = BeatCandidate(per_tatum, frames, bpm)
    cancellation_point()
    strengths = subdivision_strength(features, frames)
    candidate.on, candidate.half, candidate.thirds, candidate.contrast = strengths
    cancellation_point()
    accents = beat_accents(features, frames)
    candidate.bars = {g: fit_bar_template(accents, bar_levels(g)) for g in (2, 3, 4)}
    if candidate.compound:
        candidate.ternary = ternary_evidence(features, frames)
    return candidate


def subdivision_strength(features: SpectralFeatures, frames: np.ndarray) -> tuple[float, float, float, float]:
    """Mean onset strength at the beats, halfway between them and at their thirds; and the on-beat contrast,
    the mean over beats of log(beat / its subdivisions), each clipped to +-ON_BEAT_CAP (a level that is too
    slow has beats no stronger than what lies between them, in any section)."""
    active = features.active
    mean = float(features.onset[active].mean()) if active.any() else 0.0
    onset = features.onset / max(mean, 1e-9)
    start = frames[:-1].astype(float)
    length = np.diff(frames).astype(float)

    def at(x):
        return local_max(onset, np.round(x).astype(int), 1)

    on, half = at(start), at(start + length / 2)
    thirds = (at(start + length / 3) + at(start + 2 * length / 3)) / 2
    ratio = np.maximum(on, 0.05) / np.maximum((half + thirds) / 2, 0.05)
    contrast = np.clip(np.log(ratio), -tun.ON_BEAT_CAP, tun.ON_BEAT_CAP)
    return float(on.mean()), float(half.mean()), float(thirds.mean()), float(contrast.mean())


def fix_phase(features: SpectralFeatures, frames: np.ndarray, bpm: np.ndarray) -> np.ndarray:
    """Move the beats to the off-beats (halfway) when those carry more accent (bass, harmony changes), for each
    passage between abrupt tempo changes, after which the tracker may lock onto the other phase."""
    shortest = tun.MIN_PHASE_PASSAGE_BEATS
    if len(frames) < shortest:
        return frames
    mids = (frames[1:] + frames[:-1]) // 2
    accents = beat_accents(features, np.sort(np.r_[frames, mids]))
    on, off = accents[0::2][:-1], accents[1::2]
    tempo = bpm[frames[:-1]]
    jumps = np.flatnonzero(np.abs(np.diff(np.log(tempo))) > np.log(tun.PHASE_TEMPO_JUMP)) + 1
    out = frames.copy()
    for start, end in zip(np.r_[0, jumps], np.r_[jumps, len(mids)], strict=True):
        if end - start >= shortest and off[start:end].mean() > on[start:end].mean():
            out[start:end] = mids[start:end]
    return out


def plausibility(candidate: BeatCandidate) -> float:
    """How plausible `candidate` is as the conducted beat: beats stronger than what lies between them,
    subdivided the way the level says (halves, or thirds for compound beats), at a usual conducting tempo;
    compound beats only where the eighth-note accents say 6/8 rather than 3/4."""
    sub = (candidate.thirds - candidate.half) if candidate.compound else (candidate.half - candidate.thirds)
    sub /= max(candidate.half + candidate.thirds, 1e-9)
    bpm = float(np.median(candidate.bpm[candidate.frames]))
    centre = tun.PRIOR_BPM_COMPOUND if candidate.compound else tun.PRIOR_BPM
    prior = -0.5 * (np.log2(bpm / centre) / tun.PRIOR_WIDTH_OCT) ** 2
    unproven = candidate.compound and candidate.ternary < tun.TERNARY_MARGIN
    score = tun.W_ON_BEAT * candidate.contrast + tun.W_SUBDIVISION * sub + tun.W_TEMPO_PRIOR * prior
    return score - (tun.COMPOUND_COST if unproven else 0.0)
