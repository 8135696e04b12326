"""`vconductor train sync|gan|baseline`: the two training stages of M2S-GAN and the Table-2 baselines.

Run under torchrun for data-parallel training: `torchrun --nproc_per_node 2 -m vconductor train sync ...`.
"""

import argparse
import sys
from pathlib import Path

from .config import BaselineConfig, GanConfig, RunConfig, SyncConfig


def _common(p: argparse.ArgumentParser, defaults: RunConfig) -> None:
    p.add_argument("data_root", help="dataset folder: <root>/<split>/<name>/{mel.npy, motion.npy}")
    p.add_argument("--out", required=True, help="run folder (weights, training_state.pt, logs)")
    p.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    p.add_argument("--train-split", default=defaults.train_split)
    p.add_argument("--val-split", default=defaults.val_split)
    p.add_argument("--sample-length", type=float, default=defaults.sample_length, help="seconds per sample")
    p.add_argument("--batch-size", type=int, default=defaults.batch_size)
    p.add_argument("--lr", type=float, default=defaults.lr)
    p.add_argument("--epochs", type=int, default=defaults.epochs)
    p.add_argument("--max-steps", type=int, help="stop after this many optimiser steps")
    p.add_argument("--seed", type=int, default=defaults.seed)
    p.add_argument("--checkpoint-every", type=int, default=defaults.checkpoint_every, metavar="STEPS")
    p.add_argument("--eval-every", type=int, metavar="STEPS", help="default: at the end of every epoch")
    p.add_argument("--limit", type=int, help="use the first N training recordings")
    p.add_argument("--val-limit", type=int, help="use the first N validation recordings")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--amp", default="off", choices=["off", "bf16", "fp16"], help="mixed precision (CUDA)")
    p.add_argument("--workers", type=int, default=0, help="data-loading worker processes")
    p.add_argument("--no-tensorboard", action="store_true", help="log to metrics.csv only")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _config(cls, args, **extra):
    return cls(
        data_root=args.data_root,
        out_dir=args.out,
        train_split=args.train_split,
        val_split=args.val_split,
        sample_length=args.sample_length,
        batch_size=args.batch_size,
        lr=args.lr,
        epochs=args.epochs,
        max_steps=args.max_steps,
        seed=args.seed,
        checkpoint_every=args.checkpoint_every,
        eval_every=args.eval_every,
        limit=args.limit,
        val_limit=args.val_limit,
        device=args.device,
        amp=args.amp,
        workers=args.workers,
        tensorboard=not args.no_tensorboard,
        progress=not args.quiet,
        **extra,
    )


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
    if ctx.is_main and not args.quiet:
        print("final: " + ", ".join(f"{k}={v:.4g}" for k, v in result.items()))
        print(f"run folder: {Path(cfg.out_dir)}")
    return 0


def cmd_sync(args) -> int:
    from .sync_stage import train_sync

    cfg = _config(
        SyncConfig,
        args,
        clip_length=args.clip_length,
        mode=args.mode,
        easy_epochs=args.easy_epochs,
        hard_gap_s=args.hard_gap,
        super_hard_shift_s=tuple(args.super_hard_shift),
        official_super_hard=args.official_super_hard,
    )
    return _run(args, train_sync, cfg)


def cmd_gan(args) -> int:
    from .gan_stage import train_gan

    cfg = _config(
        GanConfig,
        args,
        sync_checkpoint=args.sync,
        n_critic=args.n_critic,
        w_gp=args.w_gp,
        gp=args.gp,
        w_adv=args.w_adv,
        w_sync=args.w_sync,
        w_mse=args.w_mse,
        fresh_fakes=args.fresh_fakes,
        official_encoder_bn=args.official_encoder_bn,
        eval_batches=args.eval_batches,
        cache_music_features=not args.no_feature_cache,
    )
    return _run(args, train_gan, cfg)


def cmd_baseline(args) -> int:
    from .baselines import train_baseline

    cfg = _config(BaselineConfig, args, kind=args.kind)
    return _run(args, train_baseline, cfg)


def add_cli(sub) -> None:
    train = sub.add_parser("train", help="train M2S-Net (sync), M2S-GAN (gan) or a Table-2 baseline")
    stages = train.add_subparsers(dest="stage", required=True, metavar="STAGE")

    s = SyncConfig()
    sync = stages.add_parser("sync", help="stage 1: M2S-Net on in-sync / out-of-sync music-motion pairs")
    _common(sync, s)
    sync.add_argument("--clip-length", type=float, default=s.clip_length, help="seconds per clip of a pair")
    sync.add_argument("--mode", default=s.mode, choices=["easy", "hard", "super_hard"],
                      help="negatives after the easy-first curriculum")  # fmt: skip
    sync.add_argument("--easy-epochs", type=int, default=s.easy_epochs, help="epochs of easy negatives first")
    sync.add_argument(
        "--hard-gap", type=float, help="seconds between the clips of a hard negative (default: clip)"
    )
    sync.add_argument("--super-hard-shift", type=float, nargs=2, default=s.super_hard_shift_s,
                      metavar=("LOW", "HIGH"), help="super-hard shift range in seconds")  # fmt: skip
    sync.add_argument("--official-super-hard", action="store_true",
                      help="the official bug: super-hard shifts in [0, HIGH-LOW) s")  # fmt: skip
    sync.set_defaults(func=cmd_sync)

    g = GanConfig(sync_checkpoint="x")
    gan = stages.add_parser(
        "gan", help="stage 2: M2S-GAN (WGAN-GP + sync loss) on the frozen stage-1 encoders"
    )
    _common(gan, g)
    gan.add_argument("--sync", required=True, help="stage-1 run folder or M2S-Net checkpoint (m2snet.pt)")
    gan.add_argument("--n-critic", type=int, default=g.n_critic, help="critic steps per generator step")
    gan.add_argument("--w-gp", type=float, default=g.w_gp, help="gradient-penalty weight")
    gan.add_argument("--gp", default=g.gp, choices=["official", "standard"],
                     help="official: zero-centred whole-batch norm; standard: per-sample, centred at 1")  # fmt: skip
    gan.add_argument("--w-adv", type=float, default=g.w_adv)
    gan.add_argument("--w-sync", type=float, default=g.w_sync)
    gan.add_argument("--w-mse", type=float, default=g.w_mse)
    gan.add_argument("--fresh-fakes", action="store_true",
                     help="new noise for every critic step (official: one fake batch for all)")  # fmt: skip
    gan.add_argument("--official-encoder-bn", action="store_true",
                     help="the official quirk: frozen encoders' batch-norm statistics keep updating")  # fmt: skip
    gan.add_argument("--no-feature-cache", action="store_true",
                     help="recompute the frozen music encoder every step instead of once per piece")  # fmt: skip
    gan.add_argument(
        "--eval-batches", type=int, default=g.eval_batches, help="validation batches for RDE/SDP"
    )
    gan.set_defaults(func=cmd_gan)

    b = BaselineConfig()
    base = stages.add_parser("baseline", help="a Table-2 comparison model (lstm, cnn_lstm, gan)")
    _common(base, b)
    base.add_argument("--kind", required=True, choices=["lstm", "cnn_lstm", "gan"])
    base.set_defaults(func=cmd_baseline)
