"""The performance map's DTW (docs/scores.md): score frames against audio frames, compared by chroma, broadband
onsets and onset chroma (onset_chroma.py), in two passes.

- coarse: librosa.sequence.dtw on the full cost matrix at a rate that keeps it under MAX_CELLS (43 frames a
  second up to 66 s of audio, 10 for 281 s);
- fine: where the coarse rate is below FINE_RATE, a pass at FINE_RATE only within BAND_S of the coarse path
  (fine_dtw.py: librosa's needs the full matrix), so its memory grows with the length, not its square.
  Two rubato takes of 281 s and 208 s: coarse alone at 30 M cells (19 frames a second) F 0.994 / 0.979 in
  4.1 s / 2.0 s; at 8 M cells (10 frames a second) 0.987 / 0.964; with the fine pass 0.992 / 0.969 in
  2.3 s / 0.7 s.

The step pattern is librosa's default ((1, 1), (0, 1), (1, 0), all weight 1): the score's frames are already
stretched to the audio's overall tempo, so the path's steps only follow rubato.
"""

from dataclasses import dataclass

import numpy as np

from .features import MEL_RATE, normalized_chroma, pooled, score_chroma, score_onsets, unit_scaled
from .fine_dtw import band_bounds, banded_path
from .onset_chroma import dlnco, onset_distance, score_onset_chroma

MAX_CELLS = 8e6  # coarse DTW cells: 43 frames a second up to 66 s of audio, then fewer (10 for 281 s)
TOP_RATE = 43.0
FINE_RATE = 43.0  # (86: 22 short takes 0.961 -> 0.947, a benchmark Lied 0.99 -> 0.67: finer is not better)
BAND_S = 0.5  # the fine pass's reach each side of the coarse path (1.0: the same F on two 4-5 min takes)
ONSET_WEIGHT = 1.0  # the broadband onset difference's weight in the cost
CHROMA_ONSET_WEIGHT = 2.0  # the onset chroma distance's (dev renders: 0 -> 0.929 mean beat F, 1 -> 0.940)


@dataclass
class Frames:
    """One side's features at one frame rate: chroma (n, 13), broadband onsets (n,), onset chroma (n, 12)."""

    chroma: np.ndarray
    onsets: np.ndarray
    onset_chroma: np.ndarray

    def __len__(self) -> int:
        return len(self.chroma)


@dataclass
class AudioSide:
    """The sounding audio's features at MEL_RATE, frames first..last."""

    chroma: np.ndarray
    flux: np.ndarray
    onset_chroma: np.ndarray
    first: int
    last: int

    def frames(self, rate: float) -> Frames:
        n = max(2, int((self.last - self.first) / MEL_RATE * rate))
        factor = MEL_RATE / rate
        cut = slice(self.first, self.last)
        return Frames(
            normalized_chroma(pooled(self.chroma[cut], factor, n)),
            unit_scaled(pooled(self.flux[cut], factor, n)),
            dlnco(pooled(self.onset_chroma[cut], factor, n), rate),
        )


@dataclass
class ScoreSide:
    """The score's notes in the expected time of a performance (seconds from the first onset)."""

    pitches: np.ndarray
    onsets_s: np.ndarray
    ends_s: np.ndarray
    velocities: np.ndarray
    attack_s: float

    def frames(self, rate: float, audio_rate: float) -> Frames:
        """At `rate` frames a (score) second; `audio_rate`: the audio frames' rate it is compared with."""
        n = max(2, int(float(self.ends_s.max()) * rate))
        chroma = score_chroma(
            self.pitches, self.onsets_s, self.ends_s, self.velocities, n, rate, self.attack_s
        )
        onset_chroma = score_onset_chroma(self.pitches, self.onsets_s, self.velocities, n, rate)
        return Frames(
            normalized_chroma(chroma),
            unit_scaled(score_onsets(self.onsets_s, n, rate)),
            dlnco(onset_chroma, audio_rate),
        )


def score_to_audio(score: "ScoreSide", audio: AudioSide, score_span: float) -> tuple[np.ndarray, ...]:
    """(score seconds, audio seconds from the first sounding frame) per score frame of the finest pass, and
    the fit (the coarse pass's: what MIN_FIT was measured on). The score's frames are stretched to the
    audio's overall tempo: equal lengths, so the path's steps only follow rubato."""
    audio_span = (audio.last - audio.first) / MEL_RATE
    stretch = audio_span / max(score_span, 1e-6)
    rate = min(TOP_RATE, np.sqrt(MAX_CELLS) / max(audio_span, 1e-6))
    score_f = score.frames(rate * stretch, rate)
    path, fit = coarse_path(score_f, audio.frames(rate))
    score_of, audio_of = audio_of_score_frames(path, len(score_f))
    if rate * 1.01 < FINE_RATE:
        fine_score = score.frames(FINE_RATE * stretch, FINE_RATE)
        fine_audio = audio.frames(FINE_RATE)
        centre_s = np.interp(np.arange(len(fine_score)) + 0.5, (score_of + 0.5) * FINE_RATE / rate, audio_of)
        lo, hi = band_bounds(
            (centre_s + 0.5) * FINE_RATE / rate - 0.5, int(BAND_S * FINE_RATE), len(fine_audio)
        )
        path = banded_path(
            lambda first, last, col_lo, col_hi: cost_matrix(
                fine_score, fine_audio, slice(first, last), slice(col_lo, col_hi)
            )[0],
            lo,
            hi,
        )
        rate = FINE_RATE
        score_of, audio_of = audio_of_score_frames(path, len(fine_score))
    return (score_of + 0.5) / (rate * stretch), (audio_of + 0.5) / rate, fit


def cost_matrix(score: Frames, audio: Frames, rows=slice(None), cols=slice(None)) -> np.ndarray:
    """Cost of score frames `rows` against audio frames `cols` (and the chroma similarity, for the fit)."""
    similarity = score.chroma[rows] @ audio.chroma[cols].T
    cost = (1 - similarity) + ONSET_WEIGHT * np.abs(score.onsets[rows][:, None] - audio.onsets[cols][None, :])
    if CHROMA_ONSET_WEIGHT:
        cost += CHROMA_ONSET_WEIGHT * onset_distance(score.onset_chroma[rows], audio.onset_chroma[cols])
    return cost, similarity


def coarse_path(score: Frames, audio: Frames) -> tuple[np.ndarray, float]:
    """(path (k, 2) of (score frame, audio frame), increasing; fit) by librosa's DTW on the full matrix."""
    import librosa

    cost, similarity = cost_matrix(score, audio)
    _, path = librosa.sequence.dtw(C=cost, backtrack=True)
    path = path[::-1]
    along = float(similarity[path[:, 0], path[:, 1]].mean())
    chance = float(similarity.mean())
    return path, float(np.clip((along - chance) / max(1 - chance, 1e-6), 0, 1))


def audio_of_score_frames(path: np.ndarray, num_score: int) -> tuple[np.ndarray, np.ndarray]:
    """(score frames, each one's audio frame: the mean of those the path gives it, made non-decreasing)."""
    sums = np.bincount(path[:, 0], weights=path[:, 1], minlength=num_score)
    counts = np.maximum(np.bincount(path[:, 0], minlength=num_score), 1)
    return np.arange(num_score), np.maximum.accumulate(sums / counts)
