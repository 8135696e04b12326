"""Options of `vconductor data synth` and `data build`; each field is also its command-line option.

Standard library only: the command-line parser is built from these on every start of `vconductor`.
"""

from dataclasses import dataclass, field
from typing import Literal

from ..cli_options import option

PoseFormat = Literal["auto", "alphapose", "mmpose", "openpose"]


@dataclass(frozen=True)
class SynthConfig:
    """How the synthetic pieces are composed (vconductor.data.synth_music); not on the command line."""

    bpm_range: tuple[float, float] = (60.0, 160.0)
    beats_per_bar: tuple[int, ...] = (2, 3, 4)
    bars_per_phrase: int = 4
    tempo_change_prob: float = 0.4  # a piece has a tempo change at a phrase boundary
    tempo_change_range: tuple[float, float] = (1.15, 1.45)  # factor (or its inverse) of the change
    rest_prob: float = 0.3  # a piece has a rest of one or two bars (at least `rest_min_s`)
    rest_min_s: float = 1.2
    ending_prob: float = 0.12  # the piece ends inside the excerpt with a held chord
    intro_prob: float = 0.3  # the excerpt starts in silence before the first downbeat, else mid-piece
    percussion_prob: float = 0.65
    dynamic_range_db: float = 36.0  # velocity 0 .. 1 spans this many dB
    pre_roll_s: float = 4.0  # music before the excerpt (conducted, then cut) so that excerpts start mid-flow
    post_roll_s: float = 3.0


@dataclass(frozen=True)
class SynthOptions:
    seconds: int = option(30, "length of each sample (default 30)")
    seed: int = option(0, "samples are seeded by (seed, split, index)")
    # As a pose estimator adds.
    keypoint_noise: float = option(0.0, "per-frame keypoint jitter std (image units)")
    music: SynthConfig = field(default_factory=SynthConfig, metadata={"cli": False})


@dataclass(frozen=True)
class BuildOptions:
    seconds: int = option(60, "sample length (default 60, as ConductorMotion100)")
    fps: float | None = option(None, "video frame rate (required: pose files carry no timing)")
    pose_format: PoseFormat = option("auto", "pose-estimator output format", flags=("--format",))
    min_score: float = option(0.3, "keypoints below this confidence are missing")
    max_gap_s: float = option(
        1.0,
        "longest run of missing frames of a joint to fill (seconds)",
        flags=("--max-gap",),
        metavar="MAX_GAP",
    )
    max_missing: float = option(0.2, "most missing fraction of a joint's frames per sample")


@dataclass(frozen=True)
class SplitOptions:
    """Which split each sample of a recording goes to: all to one, or shares drawn at random."""

    split: str | None = option(None, "put every sample in this split (default train)", exclusive="where")
    val_fraction: float | None = option(
        None, "assign this fraction of the samples to val, the rest to train", exclusive="where"
    )
    test_fraction: float = option(0.0, "with --val-fraction: also a test share")
    split_seed: int = option(0, "seed of the --val-fraction assignment")
