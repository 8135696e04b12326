"""The head (docs/conducting.md#head): it turns to the section being cued, looks slowly about the orchestra from
phrase to phrase, nods into the strong beats, lifts with the breath before an entry and with loud music, sinks a
little in quiet music. Authored as yaw, pitch and roll of the face (the tilt from the neck's base), so the 2D keypoints
(the 3D's x and y) and the 3D agree."""

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..skeleton import JOINT
from . import tuning as tun
from .beat_plan import Performance
from .motion_inputs import smooth_noise
from .tuning import FACE


def head_angles(
    performance: Performance,
    cue_yaw: np.ndarray,
    cue_weight: np.ndarray,
    pulses: np.ndarray,
    breath: np.ndarray,
) -> np.ndarray:
    """(T, 3) yaw (+ towards the conductor's left), pitch (+ face up) and roll (+ left ear up), radians.
    `cue_yaw` is the turn towards cued sections, already weighted by `cue_weight` (0..1, how far into a cue);
    `pulses` the beats' nod bumps (~1 on a loud downbeat), `breath` 0..1 the breath before each entry."""
    config, music, style, n = performance.config, performance.music, performance.style, len(performance.times)
    head = config.head_motion
    rng, drift = performance.rng, np.radians(tun.HEAD_DRIFT_DEG) * head * config.variation
    glance = _scan(performance) + smooth_noise(rng, n, tun.HEAD_DRIFT_S * music.fps, drift, dims=1)[:, 0]
    yaw = cue_yaw + (1 - cue_weight) * glance
    full = gaussian_filter1d(music.dynamics, tun.HEAD_LIFT_SMOOTH_S * music.fps, mode="nearest")
    lift = (
        np.radians(tun.HEAD_LIFT_DEG) * np.clip(2 * full - 1, -1, 1)
        + np.radians(tun.HEAD_BREATH_DEG) * breath
    )
    nod = np.radians(tun.HEAD_NOD_DEG) * style.nod_scale * pulses
    pitch = head * (lift - nod)
    tilt = np.radians(tun.HEAD_ROLL_DEG) * head * config.variation
    roll = smooth_noise(rng, n, tun.HEAD_ROLL_S * music.fps, tilt, dims=1)[:, 0]
    return np.column_stack([yaw, pitch, roll])


def _scan(performance: Performance) -> np.ndarray:
    """(T,) radians: the head looks towards one part of the orchestra and then another, a new place at each
    phrase start (and at least every HEAD_SCAN_MAX_GAP_S), mostly swapping sides; each turn is a raised-cosine
    ease over HEAD_SCAN_TURN_S."""
    times, rng, config = performance.times, performance.rng, performance.config
    marks = _scan_marks(np.asarray(performance.phrase_starts_s, float), float(times[-1]))
    amplitude = np.radians(tun.HEAD_SCAN_DEG) * config.head_motion * min(config.variation, 1.5)
    yaw, target = np.zeros(len(times)), 0.0
    for mark in marks:
        if target == 0:
            side = 1.0 if rng.random() < 0.5 else -1.0
        else:
            side = -np.sign(target) if rng.random() < tun.HEAD_SCAN_SWAP else np.sign(target)
        new = side * rng.uniform(0.3, 1.0) * amplitude
        ease = np.clip((times - mark) / tun.HEAD_SCAN_TURN_S, 0, 1)
        yaw += (new - target) * (0.5 - 0.5 * np.cos(np.pi * ease))
        target = new
    return yaw


def _scan_marks(phrase_starts: np.ndarray, end: float) -> list[float]:
    """When the head looks somewhere new: from the start (it begins facing the middle), at the phrase starts,
    and evenly between them where they are far apart."""
    anchors = np.unique(
        np.concatenate([[0.0], phrase_starts[(phrase_starts > 0) & (phrase_starts < end)], [end]])
    )
    marks: list[float] = []
    for start, stop in zip(anchors[:-1], anchors[1:], strict=True):
        pieces = max(int(np.ceil((stop - start) / tun.HEAD_SCAN_MAX_GAP_S)), 1)
        marks.extend(start + (stop - start) * np.arange(pieces) / pieces)
    return marks


def turn_face(keypoints: np.ndarray, angles: np.ndarray, neck_base: np.ndarray) -> None:
    """Rotate the face (nose, eyes, ears) of `keypoints` (T, 13, 3; y down, z forward) by `angles` (T, 3: yaw,
    pitch, roll as head_angles): the tilt is the neck's, about its base `neck_base` (T, 2: the shoulders'
    centre), so the head leans a little with it; then the nod and the turn about the head's centre (the ears'
    midpoint)."""
    face = [JOINT[name] for name in ("nose", *FACE)]
    yaw, pitch, roll = (angles[:, i, None] for i in range(3))
    x, y = np.moveaxis(keypoints[:, face, :2] - neck_base[:, None], -1, 0)
    x, y = x * np.cos(roll) + y * np.sin(roll), -x * np.sin(roll) + y * np.cos(roll)
    keypoints[:, face, :2] = neck_base[:, None] + np.stack([x, y], axis=-1)
    centre = 0.5 * (keypoints[:, JOINT["left_ear"]] + keypoints[:, JOINT["right_ear"]])
    x, y, z = np.moveaxis(keypoints[:, face] - centre[:, None], -1, 0)
    y, z = y * np.cos(pitch) - z * np.sin(pitch), y * np.sin(pitch) + z * np.cos(pitch)
    x, z = x * np.cos(yaw) + z * np.sin(yaw), -x * np.sin(yaw) + z * np.cos(yaw)
    keypoints[:, face] = centre[:, None] + np.stack([x, y, z], axis=-1)
