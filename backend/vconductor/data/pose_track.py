"""From every detected person to the conductor's motion: one person per frame, gaps, frame rate, and the
paper's keypoint normalisation.

:func:`select_conductor` picks one person per frame: the best-scored and largest, kept continuous over time
(a Viterbi path that penalises jumps between people and changes of track id).
"""

import warnings
from dataclasses import dataclass

import numpy as np

from ..skeleton import JOINT, NUM_JOINTS
from .pose_import import Detections


@dataclass
class PoseTrack:
    """The conductor's 13 joints per frame, at the video frame rate, in pixels."""

    keypoints: np.ndarray  # (F, 13, 2), NaN where missing
    scores: np.ndarray  # (F, 13), 0 where missing
    people_per_frame: np.ndarray  # (F,) detections in each frame
    source_format: str


# --- choosing the conductor --------------------------------------------------------------------------------------


def _centre_and_size(kp: np.ndarray, sc: np.ndarray, min_score: float) -> tuple[np.ndarray, np.ndarray]:
    """Per detection: centre of its confident upper-body joints and its extent (diagonal of their box)."""
    ok = (sc >= min_score) & np.isfinite(kp).all(axis=-1)
    ok_any = ok.any(axis=1)
    ok = np.where(ok_any[:, None], ok, np.isfinite(kp).all(axis=-1))  # nothing confident: take what is there
    w = ok[..., None].astype(float)
    pts = np.nan_to_num(kp)
    centre = (pts * w).sum(axis=1) / np.maximum(w.sum(axis=1), 1)
    big = np.where(ok[..., None], pts, np.nan)
    with warnings.catch_warnings():  # a detection without any joint: all-NaN slices
        warnings.simplefilter("ignore", RuntimeWarning)
        extent = np.nanmax(big, axis=1) - np.nanmin(big, axis=1)
    size = np.nan_to_num(np.hypot(extent[:, 0], extent[:, 1]))
    return centre, size


def select_conductor(det: Detections, min_score: float = 0.3, jump_weight: float = 4.0) -> PoseTrack:
    """One person per frame: a Viterbi path over each frame's detections.

    A detection costs -log(its confidence) - log(its size relative to the frame's largest person), so the
    best-scored, largest person wins when frames are taken alone; moving from one frame's pick to the next
    costs `jump_weight` x (centre distance / person size)^2 plus 2 when the track id changes, so the path stays
    on one person through brief occlusions or a neighbour's momentarily higher score.
    """
    n = det.num_frames
    keypoints = np.full((n, NUM_JOINTS, 2), np.nan)
    scores = np.zeros((n, NUM_JOINTS))
    people = np.bincount(det.frame, minlength=n)[:n] if len(det.frame) else np.zeros(n, int)
    if len(det.frame) == 0:
        return PoseTrack(keypoints, scores, people, det.source_format)
    centre, size = _centre_and_size(det.keypoints, det.scores, min_score)
    order = np.argsort(det.frame, kind="stable")
    frames, starts = np.unique(det.frame[order], return_index=True)
    bounds = list(starts) + [len(order)]
    conf = np.clip(det.score, 1e-3, None)
    # Viterbi over the frames that have detections.
    back: list[np.ndarray] = []
    cost = None
    prev = None
    for k in range(len(frames)):
        idx = order[bounds[k] : bounds[k + 1]]
        rel = np.clip(size[idx] / max(size[idx].max(), 1e-9), 1e-3, None)
        unary = -np.log(np.clip(conf[idx] / conf[idx].max(), 1e-3, None)) - np.log(rel)
        if cost is None:
            cost, back_k = unary, np.zeros(len(idx), int)
        else:
            scale = np.maximum(np.maximum(size[prev][:, None], size[idx][None, :]), 1e-6)
            dist = np.linalg.norm(centre[prev][:, None] - centre[idx][None, :], axis=-1) / scale
            switch = (det.track[prev][:, None] != det.track[idx][None, :]) & (det.track[prev][:, None] >= 0)
            total = cost[:, None] + jump_weight * dist**2 + 2.0 * switch
            back_k = np.argmin(total, axis=0)
            cost = total[back_k, np.arange(len(idx))] + unary
        back.append(back_k)
        prev = idx
    # Trace back.
    pick = int(np.argmin(cost))
    for k in range(len(frames) - 1, -1, -1):
        idx = order[bounds[k] : bounds[k + 1]]
        keypoints[frames[k]] = det.keypoints[idx[pick]]
        scores[frames[k]] = det.scores[idx[pick]]
        pick = int(back[k][pick])
    return PoseTrack(keypoints, scores, people, det.source_format)


# --- missing joints, resampling, normalisation -------------------------------------------------------------------


def missing_mask(track: PoseTrack, min_score: float) -> np.ndarray:
    """(F, 13) True where a joint is missing: no person, no position, or confidence below `min_score`."""
    return ~np.isfinite(track.keypoints).all(axis=-1) | (track.scores < min_score)


def longest_runs(missing: np.ndarray) -> np.ndarray:
    """(13,) the longest run of consecutive missing frames of each joint."""
    out = np.zeros(missing.shape[1], int)
    for j in range(missing.shape[1]):
        edges = np.diff(np.concatenate([[0], missing[:, j].astype(np.int8), [0]]))
        starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        out[j] = int((ends - starts).max()) if len(starts) else 0
    return out


def fill_missing(keypoints: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Linear interpolation over time of each joint's missing frames (held at the ends). A joint missing in
    every frame stays NaN."""
    out = np.array(keypoints, dtype=float)
    t = np.arange(len(out))
    for j in range(out.shape[1]):
        ok = ~missing[:, j]
        if ok.all() or not ok.any():
            continue
        for c in range(2):
            out[~ok, j, c] = np.interp(t[~ok], t[ok], out[ok, j, c])
    return out


def resample_frames(x: np.ndarray, fps_in: float, fps_out: float = 30.0) -> np.ndarray:
    """Linear resampling along axis 0 from `fps_in` to `fps_out`: output frame k is time k / fps_out, and
    floor(duration * fps_out) frames cover the input's duration (frames / fps_in)."""
    n_in = len(x)
    n_out = int(np.floor(n_in / fps_in * fps_out + 1e-9))
    pos = np.arange(n_out) * (fps_in / fps_out)
    i0 = np.clip(np.floor(pos).astype(int), 0, max(n_in - 1, 0))
    i1 = np.minimum(i0 + 1, n_in - 1)
    frac = (pos - i0).reshape((-1,) + (1,) * (x.ndim - 1))
    return x[i0] * (1 - frac) + x[i1] * frac


def normalize_motion(keypoints: np.ndarray, frame_width: float | None = None) -> np.ndarray:
    """The official ``norm_motion`` (docs/official-model.md#motion-format): divide by the frame width, scale
    so that the mean of (x_left_shoulder - x_right_shoulder) is 0.2, translate so that the time-mean hip centre
    is (0.5, 0.75).

    The result does not depend on the frame width (the second step fixes the scale); it is accepted for fidelity.
    Raises ValueError when the shoulders are not left-of-image-right on average (the conductor must face the
    camera).
    """
    x = np.asarray(keypoints, dtype=np.float64)
    if frame_width:
        x = x / float(frame_width)
    width = float(np.mean(x[:, JOINT["left_shoulder"], 0] - x[:, JOINT["right_shoulder"], 0]))
    reference = float(
        np.mean(np.abs(x[:, JOINT["left_shoulder"]] - x[:, JOINT["right_shoulder"]]).sum(axis=-1))
    )
    if not np.isfinite(width) or width <= 0.1 * max(reference, 1e-12):
        raise ValueError(
            "the left shoulder is not to the image-right of the right shoulder on average: the person must "
            "face the camera (a back view or profile cannot be normalised)"
        )
    x = x * (0.2 / width)
    hips = x[:, [JOINT["left_hip"], JOINT["right_hip"]]].mean(axis=(0, 1))
    return (x + (np.array([0.5, 0.75]) - hips)).astype(np.float32)
