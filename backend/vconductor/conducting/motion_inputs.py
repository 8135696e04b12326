"""What the procedural conductor works from besides the beats: the analysis contours at the motion's length,
and the seed's personal style and slow noise."""

from dataclasses import dataclass, replace

import numpy as np
from scipy.ndimage import gaussian_filter1d

from . import tuning as tun
from .music_analysis import MusicAnalysis
from .score_guide import ScoreGuide
from .score_marks import blended_dynamics, written_staccato
from .tuning import DYNAMICS_FLOOR, ConductorConfig


@dataclass
class Style:
    """The seed's personal touch: small, fixed deviations from the textbook."""

    size_scale: float
    width_scale: float
    centre_shift: np.ndarray
    rebound_scale: float
    nod_scale: float
    breath_hz: float
    breath_phase: float

    @classmethod
    def draw(cls, rng: np.random.Generator, config: ConductorConfig) -> "Style":
        amount = config.variation
        normal = np.clip(rng.standard_normal(7), -2, 2)
        return cls(
            size_scale=1 + 0.07 * amount * normal[0],
            width_scale=1 + 0.07 * amount * normal[1],
            centre_shift=0.006 * amount * normal[2:4],
            rebound_scale=1 + 0.06 * amount * normal[4],
            nod_scale=1 + 0.25 * amount * normal[5],
            breath_hz=0.22 + 0.03 * amount * normal[6],
            breath_phase=rng.uniform(0, 2 * np.pi),
        )


@dataclass
class MusicContours:
    """The analysis contours cut or padded to the motion length, with the smoothed versions the motion follows."""

    fps: float
    duration_s: float
    loudness: np.ndarray  # smoothed, [0, 1]
    dynamics: np.ndarray  # 0 (pp, DYNAMICS_FLOOR loudness or less) .. 1 (the piece's loud level), smoothed
    articulation: np.ndarray  # smoothed, [0, 1]
    raw_loudness: np.ndarray
    onset: np.ndarray
    silent: np.ndarray
    score: ScoreGuide | None = None  # the user's score, when given
    staccato: np.ndarray | None = None  # (T,) 0..1 written staccato, when the score marks it

    @classmethod
    def of(cls, analysis: MusicAnalysis, num_frames: int, config: ConductorConfig) -> "MusicContours":
        fps = float(analysis.frame_rate)
        loudness = np.clip(fit_to_length(analysis.loudness, num_frames, 0.0), 0, 1)
        sigma = config.loudness_smoothing_s / 2 * fps
        smoothed = gaussian_filter1d(loudness, sigma, mode="nearest")
        silent = fit_to_length(analysis.silent, num_frames, False).astype(bool)
        # gestures are sized for the music to come: a silence takes the loudness of the sound after it
        heard = gaussian_filter1d(_filled_silences(loudness, silent), sigma, mode="nearest")
        articulation = np.clip(fit_to_length(analysis.articulation, num_frames, 0.5), 0, 1)
        shift = config.articulation_shift  # towards legato (0) or marcato (1) by this fraction of the way
        articulation = articulation + shift * (1 - articulation) if shift > 0 else articulation * (1 + shift)
        contours = cls(
            fps=fps,
            duration_s=float(analysis.duration_s),
            loudness=smoothed,
            dynamics=np.clip((heard - DYNAMICS_FLOOR) / (1 - DYNAMICS_FLOOR), 0, 1),
            articulation=gaussian_filter1d(articulation, 0.15 * fps, mode="nearest"),
            raw_loudness=loudness,
            onset=np.clip(fit_to_length(analysis.onset_strength, num_frames, 0.0), 0, 1),
            silent=silent,
        )
        return contours if analysis.score is None else contours.with_score(analysis.score)

    def with_score(self, score: ScoreGuide) -> "MusicContours":
        """The contours the gestures follow, with the score's written dynamics and staccato blended in."""
        times = np.arange(len(self.loudness)) / self.fps
        staccato = written_staccato(score, times)
        articulation = self.articulation
        if staccato is not None:
            articulation = articulation + tun.STACCATO_WRITTEN * staccato * (1 - articulation)
        dynamics = np.clip(blended_dynamics(self.dynamics, score, times, self.fps), 0, 1)
        return replace(self, score=score, staccato=staccato, articulation=articulation, dynamics=dynamics)

    def at(self, contour: np.ndarray, times_s: np.ndarray) -> np.ndarray:
        frames = np.clip(np.round(np.asarray(times_s) * self.fps).astype(int), 0, len(contour) - 1)
        return contour[frames]


def _filled_silences(loudness: np.ndarray, silent: np.ndarray) -> np.ndarray:
    """Silent frames take the loudness of the next sounding frame (the last sounding one after the end)."""
    sounding = np.flatnonzero(~silent)
    if len(sounding) == 0:
        return loudness
    following = np.minimum(np.searchsorted(sounding, np.arange(len(loudness))), len(sounding) - 1)
    return loudness[sounding[following]]


def fit_to_length(contour, num_frames: int, fill) -> np.ndarray:
    """`contour` cut or edge-padded to `num_frames` (`fill` when it is empty)."""
    x = np.asarray(contour)
    if len(x) == 0:
        return np.full(num_frames, fill, dtype=np.asarray(fill).dtype if isinstance(fill, bool) else float)
    x = x[:num_frames].astype(float) if x.dtype != bool else x[:num_frames]
    return np.concatenate([x, np.repeat(x[-1:], num_frames - len(x))])


def smooth_noise(rng: np.random.Generator, n: int, sigma_frames: float, amplitude: float, dims: int = 2):
    """(n, dims) slowly wandering noise of standard deviation about `amplitude`, at most 2.5 times it.

    Scaled by the filter's gain, not by the clip's own spread: a short clip's nearly constant noise divided by
    its tiny spread turned a 2 degree head tilt into 32 degrees."""
    gain = 1.0 / np.sqrt(2 * np.sqrt(np.pi) * max(sigma_frames, 1e-3))  # s.d. of filtered unit white noise
    noise = gaussian_filter1d(rng.standard_normal((max(n, 1), dims)), sigma_frames, axis=0, mode="reflect")[
        :n
    ]
    return np.clip(noise / gain, -2.5, 2.5) * amplitude
