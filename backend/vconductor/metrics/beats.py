"""Beat metrics on motion arrays (T, 13, 2) at 30 fps: motion beats, Beat Align Score, beat F-measure,
beat period and tempo error, and music beats from the networks' mel features.

Beat Align Score follows FACT/AIST++: motion beats are the local minima of a joint's speed (lightly smoothed,
FACT's 5 frames at 60 fps = 2.5 frames here), and the score is the mean over motion beats of
exp(-d^2 / (2 sigma^2)), d = distance to the nearest music beat, sigma = 0.1 s. Bailando averages over music
beats instead (nearest motion beat to each music beat); that direction rewards jittery motion with many minima,
so it is available but not the default.

The beat F-measure matches motion beats to music beats one-to-one within a tolerance window (a maximum
bipartite matching, as mir_eval's): precision = matched / motion beats, recall = matched / music beats. A
conductor often beats at half (or double) the music's beat rate (the paper notes motion frequencies near half the
tempo), which lowers recall (or precision) but not the FACT Beat Align Score; the tempo error folds octaves.
"""

import numpy as np
from scipy.ndimage import gaussian_filter1d
from scipy.signal import argrelextrema

from ..skeleton import FPS, JOINT, MEL_RATE

FACT_SMOOTHING_S = 5 / 60  # FACT smooths speed with sigma = 5 frames at 60 fps


def joint_speed(
    motion: np.ndarray, joint: str = "right_wrist", fps: float = FPS, smooth_s: float = FACT_SMOOTHING_S
):
    """Speed of one joint per frame (units per second), Gaussian-smoothed over `smooth_s` seconds."""
    p = np.asarray(motion, dtype=np.float64)[:, JOINT[joint]]
    speed = np.linalg.norm(np.gradient(p, axis=0), axis=1) * fps
    return gaussian_filter1d(speed, smooth_s * fps) if smooth_s > 0 else speed


def motion_beats(
    motion: np.ndarray, joint: str = "right_wrist", fps: float = FPS, smooth_s: float = FACT_SMOOTHING_S
):
    """Times (s) of the local minima of the joint's speed."""
    speed = joint_speed(motion, joint, fps, smooth_s)
    return argrelextrema(speed, np.less)[0] / fps


def beat_align_score(
    motion_beats_s: np.ndarray, music_beats_s: np.ndarray, sigma: float = 0.1, average_over: str = "motion"
) -> float:
    """Mean of exp(-d^2 / (2 sigma^2)) over motion beats (FACT, default) or over music beats (Bailando)."""
    motion_beats_s, music_beats_s = np.asarray(motion_beats_s, float), np.asarray(music_beats_s, float)
    if average_over not in ("motion", "music"):
        raise ValueError("average_over must be 'motion' or 'music'")
    queries, targets = (
        (motion_beats_s, music_beats_s) if average_over == "motion" else (music_beats_s, motion_beats_s)
    )
    if len(queries) == 0 or len(targets) == 0:
        return 0.0
    d = np.abs(queries[:, None] - targets[None, :]).min(axis=1)
    return float(np.mean(np.exp(-(d**2) / (2 * sigma**2))))


def beat_period(
    motion: np.ndarray, joint: str = "right_wrist", fps: float = FPS, min_s: float = 0.25, max_s: float = 2.0
) -> float:
    """Dominant period (s) of the joint's vertical motion: the highest autocorrelation peak of its velocity.

    A beat pattern repeats every bar, but every beat has an ictus (a down-up bounce), so the vertical velocity's
    strongest short-lag periodicity is the beat.
    """
    v = np.diff(np.asarray(motion, dtype=np.float64)[:, JOINT[joint], 1])
    v = v - v.mean()
    n = len(v)
    spectrum = np.fft.rfft(v, 2 * n)
    ac = np.fft.irfft(spectrum * np.conj(spectrum))[:n]
    lo, hi = int(min_s * fps), min(int(max_s * fps), n - 2)
    if hi <= lo or ac[0] <= 1e-12 * n:  # too short, or a joint that does not move vertically
        return float("nan")
    peaks = [k for k in range(lo, hi + 1) if ac[k] >= ac[k - 1] and ac[k] >= ac[k + 1]]
    if not peaks:
        return float("nan")
    k = max(peaks, key=lambda i: ac[i])
    # parabolic interpolation around the peak for sub-frame precision
    a, b, c = ac[k - 1], ac[k], ac[k + 1]
    offset = 0.5 * (a - c) / (a - 2 * b + c) if (a - 2 * b + c) != 0 else 0.0
    return float((k + offset) / fps)


def period_matches(estimated_s: float, true_s: float, tolerance: float = 0.08) -> bool:
    """Within `tolerance` of the true period, or of half or double it (a conductor may beat in 2 or in 4)."""
    return any(abs(estimated_s - true_s * f) <= tolerance * true_s * f for f in (0.5, 1.0, 2.0))


def beat_matches(motion_beats_s: np.ndarray, music_beats_s: np.ndarray, tolerance_s: float = 0.1) -> int:
    """Largest number of one-to-one (motion beat, music beat) pairs closer than `tolerance_s`."""
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import maximum_bipartite_matching

    a, b = np.asarray(motion_beats_s, float), np.asarray(music_beats_s, float)
    if len(a) == 0 or len(b) == 0:
        return 0
    close = np.abs(a[:, None] - b[None, :]) <= tolerance_s
    if not close.any():
        return 0
    match = maximum_bipartite_matching(csr_matrix(close), perm_type="column")
    return int((match >= 0).sum())


def beat_f_measure(
    motion_beats_s: np.ndarray, music_beats_s: np.ndarray, tolerance_s: float = 0.1
) -> tuple[float, float, float]:
    """(F-measure, precision, recall) of motion beats against music beats within +-`tolerance_s` (0.1 s =
    3 frames at 30 fps, the Beat Align Score's sigma; mir_eval's audio default is 0.07 s). Empty sides give 0."""
    n_motion, n_music = len(motion_beats_s), len(music_beats_s)
    matched = beat_matches(motion_beats_s, music_beats_s, tolerance_s)
    if matched == 0:
        return 0.0, 0.0, 0.0
    precision, recall = matched / n_motion, matched / n_music
    return 2 * precision * recall / (precision + recall), precision, recall


def music_beats_from_mel(mel: np.ndarray, mel_rate: float = MEL_RATE) -> tuple[np.ndarray, float]:
    """(beat times in s, tempo in BPM) of the networks' mel features (T, 128) at 90 Hz.

    The dataset keeps no audio, so beats come from librosa's onset strength of the mel itself (its values are
    dB / 80 + 1, band 0 the highest) and librosa's dynamic-programming beat tracker at the mel frame rate.
    """
    import librosa

    hop = 256
    sr = mel_rate * hop  # any (sr, hop) pair with sr / hop = the mel rate
    spec_db = np.asarray(mel, dtype=np.float64).T[::-1] * 80.0
    env = librosa.onset.onset_strength(S=spec_db, sr=sr, hop_length=hop)
    tempo, beats = librosa.beat.beat_track(onset_envelope=env, sr=sr, hop_length=hop, units="time")
    return np.asarray(beats, dtype=np.float64), float(np.atleast_1d(tempo)[0])


def tempo_error(motion: np.ndarray, music_bpm: float, joint: str = "right_wrist", fps: float = FPS) -> float:
    """Relative error of the motion's beat rate (from :func:`beat_period`) against the music tempo, folded
    over octaves: min over f in (1/2, 1, 2) of |motion_bpm - f * music_bpm| / (f * music_bpm). NaN when the
    motion has no period (still) or the music tempo is unknown."""
    period = beat_period(motion, joint, fps)
    if not np.isfinite(period) or period <= 0 or not np.isfinite(music_bpm) or music_bpm <= 0:
        return float("nan")
    motion_bpm = 60.0 / period
    return float(min(abs(motion_bpm - f * music_bpm) / (f * music_bpm) for f in (0.5, 1.0, 2.0)))
