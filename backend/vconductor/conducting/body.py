"""The body around the hands: shoulders that sway and dip with the beat, the head (head.py: turning to cues,
looking about, nodding), the hips, and the arms solved in 3D between shoulders and wrists."""

import numpy as np
from scipy.ndimage import gaussian_filter1d

from ..skeleton import JOINT, NUM_JOINTS
from .arms import arm_ik_3d, hand_depth
from .beat_plan import Performance, PlannedBeats
from .head import head_angles, turn_face
from .score_cues import CuePlan
from .tuning import (
    AUDIO_CUE_AZIMUTH_DEG,
    AUDIO_CUE_HEAD_LEAD_S,
    BREATH_IN,
    BREATH_IN_S,
    FACE,
    FACE_DEPTH,
    HEAD_TURN,
    HIP_CENTRE,
    HIP_HALF_WIDTH,
    LEAN_FROM_DYNAMICS,
    LEAN_Z,
    NOSE_ABOVE_SHOULDERS,
    SHOULDER_CENTRE,
    SHOULDER_HALF_WIDTH,
    ConductorConfig,
)


def body_keypoints(
    right: np.ndarray,
    left: np.ndarray,
    cue: np.ndarray,
    performance: Performance,
    score_cues: CuePlan | None = None,
) -> np.ndarray:
    """All joints in the body frame (T, 13, 3) for wrists `right` and `left` (T, 2) and the left hand's cue
    envelope (or the score's cues: the hands reach towards the section, the head turns to it): (x, y) are the
    keypoints, z forward (docs/motion-files.md); arms solved in 3D, the face in front of the shoulders' plane."""
    sway_x, centre, r_shoulder, l_shoulder = _shoulders(right, left, performance)
    nose = centre + [0.0, -NOSE_ABOVE_SHOULDERS]
    n = len(performance.times)
    hip_shift = 0.2 * np.column_stack([sway_x, np.zeros(n)])
    keypoints = np.zeros((n, NUM_JOINTS, 3))
    keypoints[:, JOINT["nose"], :2] = nose
    for name, offset in FACE.items():
        keypoints[:, JOINT[name], :2] = nose + offset
    for name, depth in FACE_DEPTH.items():
        keypoints[:, JOINT[name], 2] = depth
    turn_face(keypoints, _head(cue, performance, score_cues), centre)
    keypoints[:, JOINT["left_shoulder"], :2], keypoints[:, JOINT["right_shoulder"], :2] = (
        l_shoulder,
        r_shoulder,
    )
    keypoints[:, JOINT["left_hip"], :2] = HIP_CENTRE + [HIP_HALF_WIDTH, 0.0] + hip_shift
    keypoints[:, JOINT["right_hip"], :2] = HIP_CENTRE - [HIP_HALF_WIDTH, 0.0] + hip_shift
    config = performance.config
    size = config.size_soft + (config.size_loud - config.size_soft) * performance.music.dynamics
    for side, shoulder, wrist, out in (("right", r_shoulder, right, -1.0), ("left", l_shoulder, left, 1.0)):
        depth = hand_depth(wrist, shoulder, size, config)
        if score_cues is not None and side == "left":  # reaching out towards the cued section
            depth = depth + score_cues.left * (score_cues.left_depth - depth)
            depth = depth + score_cues.mirrored_shift[:, 2]
        elif score_cues is not None:
            depth = depth + score_cues.baton_depth
        elbow, reached = arm_ik_3d(shoulder, wrist, depth, config, out)
        keypoints[:, JOINT[f"{side}_elbow"]], keypoints[:, JOINT[f"{side}_wrist"]] = elbow, reached
    upper_body = [j for j in range(NUM_JOINTS) if j not in (JOINT["left_hip"], JOINT["right_hip"])]
    keypoints[:, upper_body, 2] += _lean(performance)[:, None]  # the chest (and all it carries) comes forward
    return keypoints


def _head(cue: np.ndarray, performance: Performance, score_cues: CuePlan | None) -> np.ndarray:
    """(T, 3) the head's yaw, pitch and roll (head.py): it turns to the score's cues, or to the side the left
    hand's audio-guessed cues open to (LEFT_CUE, out to the left), a little before the hand."""
    beats, times, fps = performance.beats, performance.times, performance.music.fps
    if score_cues is not None:
        weight, cue_yaw = score_cues.head, score_cues.head_yaw
    else:
        lead = int(round(AUDIO_CUE_HEAD_LEAD_S * fps))
        weight = np.concatenate([cue[lead:], np.repeat(cue[-1:], min(lead, len(cue)))])
        cue_yaw = weight * HEAD_TURN * np.radians(AUDIO_CUE_AZIMUTH_DEG)
    pulses = _beat_pulses(beats, performance.config, times, fps, 0.1)
    breath = _breaths_in(beats, times) / BREATH_IN
    return head_angles(performance, cue_yaw, weight, pulses, breath)


def _lean(performance: Performance) -> np.ndarray:
    """(T,) how far the chest leans forward: towards the orchestra in the loud, full passages (the climaxes),
    upright when the music is quiet."""
    music, config = performance.music, performance.config
    full = gaussian_filter1d(music.dynamics, 1.5 * music.fps, mode="nearest")
    amount = np.clip((full - LEAN_FROM_DYNAMICS) / (1 - LEAN_FROM_DYNAMICS), 0, 1)
    return LEAN_Z * config.torso_motion * amount * amount * (3 - 2 * amount)


def _shoulders(right: np.ndarray, left: np.ndarray, performance: Performance):
    """The shoulders sway a little towards where the hands are, dip into each ictus with the arm, breathe, and
    lift with a raised arm. Returns the sideways sway, the shoulders' centre before the lifts, and the right
    and left shoulders (T, 2)."""
    beats, config, style = performance.beats, performance.config, performance.style
    fps, times = performance.music.fps, performance.times
    torso = config.torso_motion
    lateral = (right[:, 0] - beats.centre_x) + (left[:, 0] - (1 - beats.centre_x))
    sway_x = 0.05 * torso * gaussian_filter1d(lateral, 0.35 * fps, mode="nearest")
    bob = 0.04 * torso * gaussian_filter1d(right[:, 1] - config.beat_plane_y, 0.07 * fps, mode="nearest")
    breath = 0.002 * torso * np.sin(2 * np.pi * style.breath_hz * times + style.breath_phase)
    breath = breath - torso * _breaths_in(beats, times)
    centre = SHOULDER_CENTRE + np.column_stack([sway_x, bob + breath])
    lift_r = 0.07 * torso * _softplus(0.47 - right[:, 1], 0.02)  # a raised arm lifts its shoulder
    lift_l = 0.07 * torso * _softplus(0.47 - left[:, 1], 0.02)
    n = len(times)
    r_shoulder = centre + np.column_stack([np.full(n, -SHOULDER_HALF_WIDTH), -lift_r])
    l_shoulder = centre + np.column_stack([np.full(n, SHOULDER_HALF_WIDTH), -lift_l])
    return sway_x, centre, r_shoulder, l_shoulder


def _breaths_in(beats, times: np.ndarray) -> np.ndarray:
    """(T,) the shoulders rise with a breath taken before each entry (over the preparatory beat and a little
    before it) and settle as the first beat falls."""
    lifted = np.zeros(len(times))
    for first, _ in beats.runs if len(beats.times) else []:
        start, peak = beats.times[first] - beats.period[first] - BREATH_IN_S, beats.times[first] - 0.1
        inhale = np.clip((times - start) / max(peak - start, 1e-3), 0, 1)
        release = np.clip((times - peak) / 0.3, 0, 1)
        lifted = np.maximum(lifted, (0.5 - 0.5 * np.cos(np.pi * inhale)) * (1 - release))
    return BREATH_IN * lifted


def _beat_pulses(
    beats: PlannedBeats, config: ConductorConfig, times: np.ndarray, fps: float, sigma_s: float
) -> np.ndarray:
    """Smooth bumps (peak ~1 for a loud downbeat) at the beats, downbeats strongest."""
    impulses = np.zeros(len(times) + 1)
    weight = np.where(beats.in_bar == 0, 1.0, 0.35) * beats.size / config.size_loud
    frame = beats.times * fps
    inside = (frame >= 0) & (frame < len(times) - 1)
    lo = np.floor(frame[inside]).astype(int)
    np.add.at(impulses, lo, weight[inside] * (1 - (frame[inside] - lo)))
    np.add.at(impulses, lo + 1, weight[inside] * (frame[inside] - lo))
    sigma = sigma_s * fps
    return gaussian_filter1d(impulses[:-1], sigma, mode="constant") * sigma * np.sqrt(2 * np.pi)


def _softplus(x: np.ndarray, k: float) -> np.ndarray:
    return k * np.logaddexp(0, x / k)
