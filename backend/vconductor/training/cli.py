"""`vconductor train sync|gan|baseline|beats`: the two training stages of M2S-GAN, the Table-2 baselines and
the beat tracker.

Every option is a field of the stage's config dataclass (training/config.py); only ``--resume`` is not.
Run under torchrun for data-parallel training: `torchrun --nproc_per_node 2 -m vconductor train sync ...`.
"""

import sys
from pathlib import Path

from ..cli_options import add_options, from_args
from .beat_config import BeatTrainConfig
from .config import BaselineConfig, GanConfig, SyncConfig


def _run(args, trainer_fn, cfg) -> int:
    from ..data.dataset import DatasetError
    from ..models import CheckpointError
    from .checkpointing import ResumeError
    from .config import ConfigError
    from .distributed import cleanup, setup

    try:
        cfg.validate()
        ctx = setup(cfg.device)
    except (ConfigError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        result = trainer_fn(cfg, ctx, resume=args.resume)
    except (DatasetError, CheckpointError, ResumeError, ConfigError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        cleanup(ctx)
    if ctx.is_main and cfg.progress:
        print("final: " + ", ".join(f"{k}={v:.4g}" for k, v in result.items()))
        print(f"run folder: {Path(cfg.out_dir)}")
    return 0


def cmd_sync(args) -> int:
    from .sync_stage import train_sync

    return _run(args, train_sync, from_args(SyncConfig, args))


def cmd_gan(args) -> int:
    from .gan_stage import train_gan

    return _run(args, train_gan, from_args(GanConfig, args))


def cmd_baseline(args) -> int:
    from .baselines import train_baseline

    return _run(args, train_baseline, from_args(BaselineConfig, args))


def cmd_beats(args) -> int:
    from .beat_tracker import train_beats

    return _run(args, train_beats, from_args(BeatTrainConfig, args))


STAGES = {
    "sync": (SyncConfig, cmd_sync, "stage 1: M2S-Net on in-sync / out-of-sync music-motion pairs"),
    "gan": (GanConfig, cmd_gan, "stage 2: M2S-GAN (WGAN-GP + sync loss) on the frozen stage-1 encoders"),
    "baseline": (BaselineConfig, cmd_baseline, "a Table-2 comparison model (lstm, cnn_lstm, gan)"),
    "beats": (BeatTrainConfig, cmd_beats, "the beat tracker on `beats-data build` samples"),
}


def add_cli(sub) -> None:
    train = sub.add_parser(
        "train", help="train M2S-Net (sync), M2S-GAN (gan), a Table-2 baseline or the beat tracker (beats)"
    )
    stages = train.add_subparsers(dest="stage", required=True, metavar="STAGE")
    for name, (config_class, command, summary) in STAGES.items():
        parser = stages.add_parser(name, help=summary)
        add_options(parser, config_class)
        parser.add_argument(
            "--resume", action="store_true", help="continue the run in --out from its last checkpoint"
        )
        parser.set_defaults(func=command)
