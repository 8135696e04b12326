"""Motion metrics on numpy arrays (T, 13, 2) or batches (N, T, 13, 2) at 30 fps.

* The paper's Table 2 (``table2``, ``networks``): :func:`mse`, :func:`sync_error`, :func:`w_dis`, :func:`rde`,
  :func:`sce`, :func:`sdp` (and :func:`sd`), each ``(real, fake, definition="official" | "paper")``; the
  default reproduces the official code's numbers, "paper" the formulas as printed (differences: docs/metrics.md).
* Beats (``beats``): :func:`motion_beats`, :func:`beat_align_score` (both averaging directions),
  :func:`beat_f_measure`, :func:`beat_period`, :func:`tempo_error`, :func:`music_beats_from_mel`.
* Sets and continuity (``kinematics``): :func:`diversity`, :func:`seam_jerk`, :func:`frame_steps`.

The network metrics import torch on first use only, so importing this package stays fast.
"""

from .beats import (
    FACT_SMOOTHING_S,
    beat_align_score,
    beat_f_measure,
    beat_matches,
    beat_period,
    joint_speed,
    motion_beats,
    music_beats_from_mel,
    period_matches,
    tempo_error,
)
from .common import DEFINITIONS, MetricError
from .kinematics import (
    OFFICIAL_CHUNK_FRAMES,
    SeamJerk,
    diversity,
    frame_jerk,
    frame_steps,
    motion_signature,
    seam_jerk,
)
from .table2 import motion_psd, mse, rde, sce, sd, sdp, strength_contour

_NETWORK_NAMES = ("DEFAULT_SYNC_MODEL", "load_critic", "load_motion_encoder", "sync_error", "w_dis")

__all__ = [
    "DEFINITIONS",
    "FACT_SMOOTHING_S",
    "MetricError",
    "OFFICIAL_CHUNK_FRAMES",
    "SeamJerk",
    "beat_align_score",
    "beat_f_measure",
    "beat_matches",
    "beat_period",
    "diversity",
    "frame_jerk",
    "frame_steps",
    "joint_speed",
    "motion_beats",
    "motion_psd",
    "motion_signature",
    "mse",
    "music_beats_from_mel",
    "period_matches",
    "rde",
    "sce",
    "sd",
    "sdp",
    "seam_jerk",
    "strength_contour",
    "tempo_error",
    *_NETWORK_NAMES,
]


def __getattr__(name: str):
    if name in _NETWORK_NAMES:
        from . import networks

        return getattr(networks, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
