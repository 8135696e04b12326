"""The procedural conductor: a music analysis in, conducting keypoints out (docs/conducting.md)."""

import numpy as np

from ..progress import cancellation_point
from ..skeleton import JOINT, NUM_JOINTS
from .arcs import evaluate_path
from .beat_plan import Performance, plan_beats
from .body import body_keypoints
from .left_hand import cue_envelope, cue_times, left_hand, mirror_weight
from .motion_inputs import MusicContours, Style
from .music_analysis import MusicAnalysis
from .right_hand import right_hand_path
from .tuning import HIP_CENTRE, ConductorConfig


def conduct(
    analysis: MusicAnalysis, num_frames: int, seed: int = 0, config: ConductorConfig | None = None
) -> np.ndarray:
    """Conducting motion for `analysis`: float32 (num_frames, 13, 2) keypoints at the analysis frame rate.

    Deterministic for a seed; other seeds vary the size, shape and timing details, not the style.
    """
    config = config or ConductorConfig()
    if num_frames <= 0:
        return np.zeros((0, NUM_JOINTS, 2), np.float32)
    rng = np.random.default_rng(seed)
    style = Style.draw(rng, config)
    music = MusicContours.of(analysis, num_frames, config)
    beats = plan_beats(analysis, music, config, style, rng)
    times = np.arange(num_frames) / music.fps
    performance = Performance(beats, music, config, style, rng, times)
    cancellation_point()
    right = evaluate_path(right_hand_path(beats, music), times)
    cancellation_point()
    mirroring = mirror_weight(performance)
    cues = cue_times(analysis, performance, mirroring) if config.left_cues else np.zeros(0)
    cue = cue_envelope(cues, times)
    cancellation_point()
    left = left_hand(right, mirroring, cue, performance)
    cancellation_point()
    keypoints = body_keypoints(right, left, cue, performance)
    keypoints += HIP_CENTRE - keypoints[:, [JOINT["left_hip"], JOINT["right_hip"]]].mean(axis=(0, 1))
    return keypoints.astype(np.float32)
