"""One dataclass per training stage. Defaults are the official ones (SPEC.md section 7) unless noted.

Differences from the official code, on purpose (also in docs/training.md):
- super-hard negatives shift the motion by 0.5-5 s as the official comment says (the code draws 0-4.5 s, SPEC
  bug 1); ``official_super_hard=True`` restores the bug;
- easy negatives pair clips of different recordings (the official flip of an unshuffled batch can pair the two
  halves of one recording, SPEC quirk 17) and the training set is shuffled;
- hard negatives keep the clips ``hard_gap_s`` apart (official: 10 s = the clip length), so they scale with
  ``clip_length``;
- the frozen encoders of stage 2 stay in eval mode (official: their batch-norm statistics keep moving, SPEC
  quirk 5); ``official_encoder_bn=True`` restores that;
- the gradient penalty is selectable: "official" (zero-centred, one norm over the whole batch, SPEC bug 3) or
  "standard" (WGAN-GP: per-sample norm, centred at 1);
- runs stop after ``max_steps`` as well as after ``epochs`` and checkpoint every ``checkpoint_every`` steps.
"""

from dataclasses import asdict, dataclass, field, fields

OFFICIAL_SEED = 19990319


class ConfigError(ValueError):
    """An inconsistent training configuration, with the reason."""


@dataclass
class RunConfig:
    """What every stage shares: data, run folder, length of the run, device and logging."""

    data_root: str = ""
    out_dir: str = ""
    train_split: str = "train"
    val_split: str = "val"
    sample_length: float = 30.0  # seconds per training sample (each recording is cut into such pieces)
    batch_size: int = 10
    lr: float = 1e-3
    epochs: int = 400
    max_steps: int | None = None  # stop after this many optimiser steps (None: run all epochs)
    seed: int = OFFICIAL_SEED
    checkpoint_every: int = 200  # steps; a killed run loses at most this many
    eval_every: int | None = None  # steps; None = at the end of every epoch
    limit: int | None = None  # use only the first N recordings of the training split
    val_limit: int | None = None
    device: str = "auto"
    amp: str = "off"  # "off" | "bf16" | "fp16" (CUDA only)
    workers: int = 0  # DataLoader worker processes
    tensorboard: bool = True
    progress: bool = True

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

    @classmethod
    def from_dict(cls, values: dict):
        names = {f.name for f in fields(cls)}
        kwargs = {k: v for k, v in values.items() if k in names}
        for key in ("super_hard_shift_s",):
            if key in kwargs and isinstance(kwargs[key], list):
                kwargs[key] = tuple(kwargs[key])
        return cls(**kwargs)


@dataclass
class SyncConfig(RunConfig):
    """Stage 1, M2S-Net: Adam 1e-3, batch 10, 30 s samples, 10 s clips, easy negatives in the first epoch."""

    clip_length: float = 10.0  # seconds per music/motion clip of a pair
    mode: str = "hard"  # negatives after the curriculum: "easy" | "hard" | "super_hard"
    easy_epochs: int = 1  # the official curriculum: epoch 0 uses easy negatives
    hard_gap_s: float | None = None  # hard negatives start at least this far apart (None: clip_length)
    super_hard_shift_s: tuple[float, float] = (0.5, 5.0)
    official_super_hard: bool = False  # True: the official shifts in [0, 4.5) s (SPEC bug 1)

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

    sync_checkpoint: str = ""  # M2S-Net weights (m2snet.pt) or a stage-1 run folder
    batch_size: int = 20
    lr: float = 5e-4
    epochs: int = 200
    n_critic: int = 5
    w_gp: float = 10.0
    gp: str = (
        "official"  # "official" (zero-centred, whole-batch norm) | "standard" (per sample, centred at 1)
    )
    w_adv: float = 1.0
    w_sync: float = 0.05
    w_mse: float = 0.0
    fresh_fakes: bool = False  # False: the official reuse of one fake batch for all critic steps
    # True: the frozen encoders stay in train mode and their BN statistics move (SPEC quirk 5)
    official_encoder_bn: bool = False
    # Frozen music encoder in eval mode: compute each piece's features once (about 230 KB per 30 s piece)
    cache_music_features: bool = True
    eval_batches: int = 4  # validation batches for RDE / SDP

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

    kind: str = "lstm"  # "lstm" | "cnn_lstm" | "gan"
    batch_size: int = 10
    w_contrastive: float = 1.0  # cnn_lstm
    w_l1: float = 1.0  # gan
    n_critic: int = 5
    w_gp: float = 10.0
    extra: dict = field(default_factory=dict)

    def validate(self) -> None:
        super().validate()
        if self.kind not in ("lstm", "cnn_lstm", "gan"):
            raise ConfigError(f"kind must be lstm, cnn_lstm or gan, got {self.kind!r}")
