"""One dataclass per training stage; each field is also its command-line option (vconductor.cli_options).

Defaults are those of the official training scripts (docs/official-model.md#training) unless noted.
Differences from the official code, on purpose (also in docs/training.md):
- super-hard negatives shift the motion by 0.5-5 s as the official comment says (the code draws 0-4.5 s);
  ``official_super_hard=True`` restores the official draw;
- easy negatives pair clips of different recordings (the official flip of an unshuffled batch can pair the two
  halves of one recording) and the training set is shuffled;
- hard negatives keep the clips ``hard_gap_s`` apart (official: 10 s = the clip length), so they scale with
  ``clip_length``;
- the frozen encoders of stage 2 stay in eval mode (official: their batch-norm statistics keep moving);
  ``official_encoder_bn=True`` restores that;
- the gradient penalty is selectable: "official" (zero-centred, one norm over the whole batch) or
  "standard" (WGAN-GP: per-sample norm, centred at 1);
- runs stop after ``max_steps`` as well as after ``epochs`` and checkpoint every ``checkpoint_every`` steps.
"""

from dataclasses import asdict, dataclass, field
from typing import Literal

from ..cli_options import option

OFFICIAL_SEED = 19990319

Device = Literal["auto", "cpu", "cuda"]
Precision = Literal["off", "bf16", "fp16"]
NegativeMode = Literal["easy", "hard", "super_hard"]
PenaltyKind = Literal["official", "standard"]
BaselineKind = Literal["lstm", "cnn_lstm", "gan"]


class ConfigError(ValueError):
    """An inconsistent training configuration, with the reason."""


@dataclass
class RunConfig:
    """What every stage shares: data, run folder, length of the run, device and logging."""

    data_root: str = option(
        "", "dataset folder: <root>/<split>/<name>/{mel.npy, motion.npy}", positional=True
    )
    out_dir: str = option(
        "", "run folder (weights, training_state.pt, logs)", flags=("--out",), metavar="OUT", required=True
    )
    train_split: str = option("train", "split folder to train on")
    val_split: str = option("val", "split folder to validate on")
    # Each recording is cut into pieces of this length, as the official loader does.
    sample_length: float = option(30.0, "seconds per sample")
    batch_size: int = option(10, "samples per optimiser step and process")
    lr: float = option(1e-3, "learning rate")
    epochs: int = option(400, "passes over the training split")
    max_steps: int | None = option(None, "stop after this many optimiser steps")
    seed: int = option(OFFICIAL_SEED, "seed of the initial weights and of every random draw")
    # A killed run loses at most this many steps.
    checkpoint_every: int = option(200, "steps between checkpoints", metavar="STEPS")
    eval_every: int | None = option(None, "default: at the end of every epoch", metavar="STEPS")
    limit: int | None = option(None, "use the first N training recordings")
    val_limit: int | None = option(None, "use the first N validation recordings")
    device: Device = option("auto", "where to train (auto: CUDA when available)")
    amp: Precision = option("off", "mixed precision (CUDA)")
    workers: int = option(0, "data-loading worker processes")
    tensorboard: bool = option(True, "log to metrics.csv only", flags=("--no-tensorboard",))
    progress: bool = option(True, "no progress bar", flags=("-q", "--quiet"))

    def validate(self) -> None:
        if self.sample_length <= 0:
            raise ConfigError(f"sample_length must be positive, got {self.sample_length}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.amp not in ("off", "bf16", "fp16"):
            raise ConfigError(f"amp must be off, bf16 or fp16, got {self.amp!r}")
        if self.checkpoint_every < 1:
            raise ConfigError(f"checkpoint_every must be at least 1, got {self.checkpoint_every}")
        if self.max_steps is not None and self.max_steps < 1:
            raise ConfigError(f"max_steps must be at least 1, got {self.max_steps}")

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class SyncConfig(RunConfig):
    """Stage 1, M2S-Net: Adam 1e-3, batch 10, 30 s samples, 10 s clips, easy negatives in the first epoch."""

    clip_length: float = option(10.0, "seconds per clip of a pair")
    mode: NegativeMode = option("hard", "negatives after the easy-first curriculum")
    # The official curriculum: epoch 0 uses easy negatives.
    easy_epochs: int = option(1, "epochs of easy negatives first")
    hard_gap_s: float | None = option(
        None,
        "seconds between the clips of a hard negative (default: clip)",
        flags=("--hard-gap",),
        metavar="HARD_GAP",
    )
    super_hard_shift_s: tuple[float, float] = option(
        (0.5, 5.0),
        "super-hard shift range in seconds",
        flags=("--super-hard-shift",),
        metavar=("LOW", "HIGH"),
    )
    official_super_hard: bool = option(False, "the official bug: super-hard shifts in [0, HIGH-LOW) s")

    def validate(self) -> None:
        super().validate()
        if self.mode not in ("easy", "hard", "super_hard"):
            raise ConfigError(f"mode must be easy, hard or super_hard, got {self.mode!r}")
        if not 0 < self.clip_length <= self.sample_length / 3 + 1e-9:
            raise ConfigError(
                f"clip_length {self.clip_length} s must be positive and at most a third of sample_length "
                f"{self.sample_length} s (as in the official PairBuilder)"
            )
        lo, hi = self.super_hard_shift_s
        if not 0 <= lo < hi:
            raise ConfigError(f"super_hard_shift_s must be (low, high) with 0 <= low < high, got {lo}, {hi}")
        if self.sample_length - self.clip_length - hi < 0:
            raise ConfigError(
                f"super-hard shifts up to {hi} s do not fit: sample_length - clip_length = "
                f"{self.sample_length - self.clip_length} s (lower --super-hard-shift or raise --sample-length)"
            )
        if self.sample_length - self.clip_length - self.hard_gap < 0:
            raise ConfigError(
                f"hard negatives {self.hard_gap} s apart do not fit in sample_length {self.sample_length} s "
                f"with clip_length {self.clip_length} s"
            )
        if self.batch_size < 2:
            raise ConfigError("batch_size must be at least 2: easy negatives pair clips of different samples")

    @property
    def hard_gap(self) -> float:
        return self.clip_length if self.hard_gap_s is None else self.hard_gap_s


@dataclass
class GanConfig(RunConfig):
    """Stage 2, M2S-GAN: RMSprop 5e-4 for G and D, batch 20, 30 s samples, 5 critic steps per G step."""

    sync_checkpoint: str = option(
        "",
        "stage-1 run folder or M2S-Net checkpoint (m2snet.pt)",
        flags=("--sync",),
        metavar="SYNC",
        required=True,
    )
    batch_size: int = 20
    lr: float = 5e-4
    epochs: int = 200
    n_critic: int = option(5, "critic steps per generator step")
    w_gp: float = option(10.0, "gradient-penalty weight")
    gp: PenaltyKind = option(
        "official", "official: zero-centred whole-batch norm; standard: per-sample, centred at 1"
    )
    w_adv: float = option(1.0, "weight of the adversarial loss")
    w_sync: float = option(0.05, "weight of the sync loss (motion-encoder features, L1)")
    w_mse: float = option(0.0, "weight of the MSE to the real motion (official: off)")
    fresh_fakes: bool = option(False, "new noise for every critic step (official: one fake batch for all)")
    official_encoder_bn: bool = option(
        False, "the official quirk: frozen encoders' batch-norm statistics keep updating"
    )
    # The frozen music encoder in eval mode maps a piece to fixed features (about 230 KB per 30 s piece).
    cache_music_features: bool = option(
        True,
        "recompute the frozen music encoder every step instead of once per piece",
        flags=("--no-feature-cache",),
    )
    eval_batches: int = option(4, "validation batches for RDE/SDP")

    def validate(self) -> None:
        super().validate()
        if self.gp not in ("official", "standard"):
            raise ConfigError(f"gp must be official or standard, got {self.gp!r}")
        if self.n_critic < 1:
            raise ConfigError(f"n_critic must be at least 1, got {self.n_critic}")
        if self.sample_length < 1 or abs(self.sample_length - round(self.sample_length)) > 1e-9:
            raise ConfigError(
                f"sample_length must be a whole number of seconds (one noise vector per second), "
                f"got {self.sample_length}"
            )
        if not self.sync_checkpoint:
            raise ConfigError("stage 2 needs the stage-1 M2S-Net (--sync RUN_DIR_OR_CHECKPOINT)")


@dataclass
class BaselineConfig(RunConfig):
    """The paper's Table-2 comparisons (Adam 1e-3, as the paper trains its comparison models)."""

    kind: BaselineKind = option("lstm", "comparison model", required=True)
    batch_size: int = 10
    w_contrastive: float = option(1.0, "cnn_lstm: weight of the contrastive loss")
    w_l1: float = option(1.0, "gan: weight of the L1 loss to the real motion")
    n_critic: int = option(5, "gan: critic steps per generator step")
    w_gp: float = option(10.0, "gan: gradient-penalty weight")
    extra: dict = field(default_factory=dict, metadata={"cli": False})

    def validate(self) -> None:
        super().validate()
        if self.kind not in ("lstm", "cnn_lstm", "gan"):
            raise ConfigError(f"kind must be lstm, cnn_lstm or gan, got {self.kind!r}")
