"""The paper's Table 2 metrics that need no network: MSE, RDE, SCE, SD and SDP.

Arguments are ``(real, fake)`` (the official order), each a motion (T, 13, 2) or a batch (N, T, 13, 2) of the
same shape. ``definition="official"`` (default) gives the numbers of the official code (``utils/loss.py``,
``ProspectiveCup/eval.py``; docs/official-model.md#metrics), including its batch reductions. ``definition="paper"`` gives the
formulas as written in the paper (equations 4, 7, 8, 9), computed per sample and averaged over the batch,
because the paper defines them for one pair. ``per_sample=True`` returns one value per sample (each computed as
a batch of one), which is how ``M2SGAN_eval.py`` (batch size 1) produces its per-clip values.

Differences between the two definitions (see also docs/metrics.md):

* MSE: official = mean over every element. Paper eq. 4 writes ``||Y - Y_hat||_2^2``, a sum of squares, although
  it calls it a mean and Table 2's magnitudes (5.4e-3) are means: "paper" takes the equation literally.
* RDE: official = Welch PSD (fs 30, 256-frame Hann segments, 50% overlap) of each of the 26 coordinate
  series, *averaged* over the 26, then the *mean* over bins 6..25 (0.70-2.93 Hz) of the squared difference;
  per-sample values are averaged over the batch *before* ``ln(x * 1e7 + 1)``. Paper eq. 7: the PSDs *summed*
  over the 26 series, the squared L2 norm (a *sum*) over every bin above 0.7 Hz (bins 6..128, up to 15 Hz).
* SCE: official = per-frame velocity ``x[t-1] - x[t]`` (0 at t = 0), the *signed mean* over the 26 series, then
  abs, average-pooled (kernel 60, stride 30), *mean* squared difference, ``ln(x * 1e7 + 1)`` over the whole
  batch. Paper eq. 8: the *sum* over the 26 series of the motion speeds (taken here as ``|x[t] - x[t-1]|``;
  the equation shows no abs, the text calls them "summed motion speeds"), pooled the same way, squared L2
  norm (a *sum*) of the difference.
* SD: official = mean over the 26 series of ``torch.std`` over time (unbiased). Paper eq. 9: the standard
  deviation of the whole pose vector, ``sqrt(sum_t ||y_t - mean||^2 / (T - 1))``. Both average SD over the
  samples; SDP = mean SD(fake) / mean SD(real) x 100 in both.
"""

import warnings

import numpy as np
from scipy import signal

from ..skeleton import FPS
from .common import MetricError, as_batch, as_pair, check_definition, flat

LOG_SCALE = 1e7  # the paper's k
RDE_BINS = slice(6, 26)  # official: bins 6..25 of the 129-bin Welch PSD, 0.703-2.930 Hz
RDE_MIN_HZ = 0.7  # paper: "above 0.7 Hz" (40 BPM)
POOL_KERNEL, POOL_STRIDE = 60, 30  # strength-contour pooling: 2 s windows every 1 s


def _log_scaled(x) -> np.ndarray:
    return np.log(np.asarray(x, dtype=np.float64) * LOG_SCALE + 1)


# ---------------------------------------------------------------------------------------------------- MSE


def mse(real, fake, definition: str = "official", per_sample: bool = False):
    """Mean squared error (official: mean over all elements; paper: per-sample sum of squares, averaged)."""
    r, f = as_pair(real, fake)
    sq = (r - f) ** 2
    official = check_definition(definition) == "official"
    values = sq.mean(axis=(1, 2, 3)) if official else sq.sum(axis=(1, 2, 3))
    return values if per_sample else float(values.mean())


# ---------------------------------------------------------------------------------------------------- RDE


def motion_psd(motion, fs: float = FPS) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD of each coordinate series with scipy's defaults, as the official RDE: (freqs, (N, 26, F)).

    The official code calls ``welch(x, fs=30)``: for clips shorter than 256 frames scipy shrinks the segment to
    the clip, so the bins are no longer the 0.117 Hz ones; that warning is silenced here (same numbers).
    """
    x = flat(as_batch(motion))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*nperseg.*greater than")
        freqs, psd = signal.welch(np.swapaxes(x, 1, 2), fs=fs, axis=-1)
    return freqs, psd


def rde(real, fake, definition: str = "official", per_sample: bool = False):
    """Rhythm density error: difference of the motions' power spectra above 0.7 Hz, log-scaled."""
    r, f = as_pair(real, fake)
    freqs, psd_r = motion_psd(r)
    _, psd_f = motion_psd(f)
    if check_definition(definition) == "official":
        diff = psd_r.mean(axis=1)[:, RDE_BINS] - psd_f.mean(axis=1)[:, RDE_BINS]
        if diff.shape[1] == 0:
            raise MetricError(f"RDE needs more frames: the PSD of {r.shape[1]} frames has no bins 6..25")
        per = (diff**2).mean(axis=1)  # RDE_n, before the log
        return _log_scaled(per) if per_sample else float(_log_scaled(per.mean()))
    diff = psd_r.sum(axis=1)[:, freqs > RDE_MIN_HZ] - psd_f.sum(axis=1)[:, freqs > RDE_MIN_HZ]
    values = _log_scaled((diff**2).sum(axis=1))
    return values if per_sample else float(values.mean())


# ---------------------------------------------------------------------------------------------------- SCE


def strength_contour(motion, definition: str = "official") -> np.ndarray:
    """Pooled motion strength (N, W), W = (T - 60) // 30 + 1 windows of 2 s every 1 s.

    Official: |signed mean over the 26 series of x[t-1] - x[t]| (0 at t = 0). Paper: sum over the 26 series of
    |x[t] - x[t-1]| (the first frame dropped, as a first-order difference has T - 1 values).
    """
    x = flat(as_batch(motion))
    if check_definition(definition) == "official":
        v = np.zeros_like(x)
        v[:, 1:] = x[:, :-1] - x[:, 1:]
        speed = np.abs(v.mean(axis=2))
    else:
        speed = np.abs(np.diff(x, axis=1)).sum(axis=2)
    if speed.shape[1] < POOL_KERNEL:
        raise MetricError(f"SCE needs at least {POOL_KERNEL} frames (2 s), got {speed.shape[1]}")
    windows = np.lib.stride_tricks.sliding_window_view(speed, POOL_KERNEL, axis=1)[:, ::POOL_STRIDE]
    return windows.mean(axis=2)


def sce(real, fake, definition: str = "official", per_sample: bool = False):
    """Strength contour error: difference of the pooled motion strength over time, log-scaled."""
    r, f = as_pair(real, fake)
    definition = check_definition(definition)
    sq = (strength_contour(r, definition) - strength_contour(f, definition)) ** 2
    if definition == "official":
        if per_sample:
            return _log_scaled(sq.mean(axis=1))
        return float(_log_scaled(sq.mean()))
    values = _log_scaled(sq.sum(axis=1))
    return values if per_sample else float(values.mean())


# ------------------------------------------------------------------------------------------------- SD, SDP


def sd(motion, definition: str = "official") -> np.ndarray:
    """Standard deviation over time of each sample, (N,): official per-series mean, paper whole-pose."""
    x = flat(as_batch(motion))
    if check_definition(definition) == "official":
        return x.std(axis=1, ddof=1).mean(axis=1)
    centred = x - x.mean(axis=1, keepdims=True)
    return np.sqrt((centred**2).sum(axis=(1, 2)) / (x.shape[1] - 1))


def sdp(real, fake, definition: str = "official", per_sample: bool = False):
    """Standard deviation percentage: mean SD(fake) / mean SD(real) x 100 (100 = as lively as the real)."""
    r, f = as_pair(real, fake)
    sd_r, sd_f = sd(r, definition), sd(f, definition)
    if per_sample:
        return _percent(sd_f, sd_r)
    return float(_percent(sd_f.mean(), sd_r.mean()))


def _percent(num, den):
    """num / den x 100; NaN where the real motion is perfectly still (SD 0), where SDP is undefined."""
    num, den = np.asarray(num, np.float64), np.asarray(den, np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / den * 100, np.nan)
