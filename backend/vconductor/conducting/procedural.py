"""The procedural conductor: a music analysis in, conducting keypoints out (docs/conducting.md)."""

import numpy as np

from ..conducted import Conducted
from ..progress import cancellation_point
from ..skeleton import JOINT, NUM_JOINTS
from .arcs import evaluate_path
from .baton import baton_tip
from .beat_plan import Performance, plan_beats
from .body import body_keypoints
from .cues import cue_envelope, cue_times
from .left_hand import left_hand, mirror_weight
from .motion_inputs import MusicContours, Style
from .music_analysis import MusicAnalysis
from .right_hand import right_hand_path
from .score_cues import score_cues
from .tuning import HIP_CENTRE, ConductorConfig


def conduct(
    analysis: MusicAnalysis, num_frames: int, seed: int = 0, config: ConductorConfig | None = None
) -> Conducted:
    """Conducting motion for `analysis` at the analysis frame rate: float32 keypoints (num_frames, 13, 2), the
    authored 3D joints (num_frames, 13, 3) and the baton tip (num_frames, 3) (None with `config.baton` off).

    Deterministic for a seed; other seeds vary the size, shape and timing details, not the style.
    """
    config = config or ConductorConfig()
    if num_frames <= 0:
        empty = np.zeros((0, NUM_JOINTS, 3), np.float32)
        return Conducted(empty[..., :2], empty, empty[:, 0] if config.baton else None)
    rng = np.random.default_rng(seed)
    style = Style.draw(rng, config)
    music = MusicContours.of(analysis, num_frames, config)
    beats = plan_beats(analysis, music, config, style, rng)
    times = np.arange(num_frames) / music.fps
    performance = Performance(beats, music, config, style, rng, times, np.asarray(analysis.phrase_starts_s))
    cancellation_point()
    right = evaluate_path(right_hand_path(beats, music), times)
    cancellation_point()
    mirroring = mirror_weight(performance)
    written = analysis.score is not None and len(analysis.score.entries) > 0
    if written:  # the score's entries replace the cues guessed from the audio; their own random numbers
        plan = score_cues(analysis.score, performance, mirroring, seed)
        plan = plan if config.left_cues else None
        cue = np.zeros(num_frames)
    else:
        plan = None
        cues = cue_times(analysis, performance, mirroring) if config.left_cues else np.zeros(0)
        cue = cue_envelope(cues, times)
    cancellation_point()
    left = left_hand(right, mirroring, cue, performance, plan)
    if plan is not None:  # a loud entry: the pattern points towards the section (both hands, in a tutti)
        right, left = right + plan.baton_shift, left + plan.mirrored_shift[:, :2]
    cancellation_point()
    joints = body_keypoints(right, left, cue, performance, plan)
    joints[..., :2] += HIP_CENTRE - joints[:, [JOINT["left_hip"], JOINT["right_hip"]], :2].mean(axis=(0, 1))
    tip = baton_tip(joints[:, JOINT["right_elbow"]], joints[:, JOINT["right_wrist"]], music.fps, config)
    joints, tip = joints.astype(np.float32), tip.astype(np.float32)
    conducted = Conducted(joints[..., :2].copy(), joints, tip if config.baton else None)
    return conducted.mirrored() if config.left_handed else conducted
