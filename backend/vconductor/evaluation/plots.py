"""Evaluation plots as PNG (matplotlib, Agg): joint-speed PSD, strength contour, motion value distributions."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import signal

from ..metrics import strength_contour
from ..metrics.table2 import POOL_KERNEL, POOL_STRIDE, RDE_MIN_HZ
from ..skeleton import FPS
from .runner import Evaluation


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def joint_speed_psd(motions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Welch PSD of each joint's speed (|velocity| in units/s), averaged over joints and clips."""
    velocity = np.diff(np.asarray(motions, np.float64), axis=1) * FPS  # (N, T-1, 13, 2)
    speed = np.linalg.norm(velocity, axis=3)  # (N, T-1, 13)
    freqs, psd = signal.welch(speed, fs=FPS, axis=1, nperseg=min(256, speed.shape[1]))
    return freqs, psd.mean(axis=(0, 2))


def _save(fig, path: Path) -> None:
    try:
        fig.savefig(path, format="png", dpi=110, bbox_inches="tight")
    finally:
        _pyplot().close(fig)


def write_plots(evaluation: Evaluation, staged: Callable[[str, str], Path]) -> None:
    """Draw the plots into the files `staged(key, file name)` gives (temp files report.py moves into place)."""
    plt = _pyplot()
    results = evaluation.results

    fig, ax = plt.subplots(figsize=(7, 4))
    for r in results:
        freqs, psd = joint_speed_psd(r.motions)
        ax.semilogy(freqs[1:], psd[1:] + 1e-20, label=r.name)
    ax.axvline(RDE_MIN_HZ, color="grey", ls="--", lw=1, label=f"{RDE_MIN_HZ} Hz (RDE cut)")
    ax.set(xlabel="frequency (Hz)", ylabel="PSD of joint speed", title="Joint-speed power spectrum (mean)")
    ax.legend(fontsize=8)
    _save(fig, staged("psd", "psd_joint_speed.png"))

    fig, ax = plt.subplots(figsize=(7, 4))
    for r in results:
        contour = strength_contour(r.motions[:1], evaluation.config.definition)[0]
        t = (np.arange(len(contour)) * POOL_STRIDE + POOL_KERNEL / 2) / FPS
        ax.plot(t, contour, marker="o", ms=3, label=r.name)
    ax.set(xlabel="time (s), first clip", ylabel="pooled strength", title="Strength contour (SCE input)")
    ax.legend(fontsize=8)
    _save(fig, staged("contour", "strength_contour.png"))

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for c, axis in enumerate(axes):
        lo = min(float(r.motions[..., c].min()) for r in results)
        hi = max(float(r.motions[..., c].max()) for r in results)
        bins = np.linspace(lo, hi if hi > lo else lo + 1e-6, 81)  # shared bins: the curves compare
        for r in results:
            axis.hist(r.motions[..., c].ravel(), bins=bins, density=True, histtype="step", label=r.name)
    for axis, coord in zip(axes, ("x", "y (down)"), strict=True):
        axis.set(xlabel=coord, ylabel="density", title=f"Keypoint {coord} values, all joints")
    axes[0].legend(fontsize=8)
    _save(fig, staged("distribution", "value_distribution.png"))
