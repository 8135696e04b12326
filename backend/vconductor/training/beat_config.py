"""The beat tracker's training settings (`vconductor train beats`): a RunConfig with a split by work.

Kept apart from beat_tracker.py so that building the command line never imports torch.
"""

from dataclasses import dataclass, field

from ..cli_options import option
from .config import ConfigError, RunConfig

MIN_EXCERPT_S = 0.5


def _hidden(default):
    return field(default=default, metadata={"cli": False})


@dataclass
class BeatTrainConfig(RunConfig):
    """The beat tracker: Adam 1e-3, batch 8, 12 s excerpts, whole works held out for validation."""

    data_root: str = option(
        "", "beats-data folder (NAME.flac + NAME.json from `vconductor beats-data build`)", positional=True
    )
    sample_length: float = option(12.0, "seconds per random training excerpt")
    batch_size: int = 8
    epochs: int = 2000
    seed: int = 0
    checkpoint_every: int = 100
    eval_every: int | None = 100
    val_fraction: float = option(0.15, "share of the samples held out for validation, as whole works")
    max_stretch: float = option(1.3, "excerpts play up to this much faster or slower (1: no tempo change)")
    max_band_shift: int = option(3, "excerpts are transposed by up to this many mel bands (0: never)")
    noise: float = option(0.0, "share of excerpts given noise in the mel domain (SNR 8-35 dB)")
    downbeat_weight: float = option(
        1.0, "weight of the downbeat loss against the beat loss (the weaker output gets more of the trunk)"
    )
    no_flux: bool = option(False, "feed the network the log-mel frames only, not also each band's rise")
    channels: int = option(32, "the TCN's width (channels of every residual block)")
    frontend_channels: int = option(48, "the front end's hidden width")
    init: str = option(
        "",
        "start from these weights (a beat_tracker.pt or .npz, e.g. the packaged one) instead of at random; "
        "a narrower network of the same depth is widened to --channels (its function kept)",
    )
    lr_decay: str = option(
        "cosine", "learning rate over the run: cosine (down to 5%% at the end) or constant"
    )
    train_split: str = _hidden("train")  # the split is by work (val_fraction), not by folder
    val_split: str = _hidden("val")

    def validate(self) -> None:
        super().validate()
        if not 0.0 < self.val_fraction < 1.0:
            raise ConfigError(f"val_fraction must be between 0 and 1, got {self.val_fraction}")
        if self.lr_decay not in ("cosine", "constant"):
            raise ConfigError(f"lr_decay must be cosine or constant, got {self.lr_decay!r}")
        if not 0.0 <= self.noise <= 1.0:
            raise ConfigError(f"noise is a share of the excerpts (0-1), got {self.noise}")
        if not self.downbeat_weight > 0.0:
            raise ConfigError(f"downbeat_weight must be positive, got {self.downbeat_weight}")
        if self.max_stretch < 1.0 or self.max_band_shift < 0:
            raise ConfigError("max_stretch must be at least 1 and max_band_shift at least 0")
        if self.channels < 1 or self.frontend_channels < 1:
            raise ConfigError("channels and frontend_channels must be at least 1")
        if self.sample_length < MIN_EXCERPT_S:
            raise ConfigError(f"sample_length {self.sample_length} s is too short to learn beats from")
