"""Training throughput (samples/s) of both stages: vconductor's step vs a loop with the official structure.

Same batch, same sample and clip length, same networks and optimisers for both; only the loop differs. The
official structure (docs/official-model.md#training): stage 1 calls M2S-Net four times per step (p11, p12,
p22, p21); stage 2 generates one fake batch, runs 5 critic steps on it with the zero-centred whole-batch
penalty, then one generator step whose sync loss runs the motion encoder with gradient graphs on real and fake, with the
"frozen" music encoder in train mode. Ours: stage 1 shares the encoder passes of the four pairs; stage 2
computes the real motion's features without a graph and keeps the frozen encoders in eval mode.
Data loading is outside the timed region for both (pieces are in memory).

    .venv/bin/python benchmarks/bench_training.py [--stage sync|gan|both] [--device cpu|cuda] [--amp bf16]
        [--batch-sync 10 --batch-gan 20 --sample-length 30 --clip-length 10] [--iters 3 --repeats 3]

Defaults are the official sizes (about 15 s per iteration on 2 CPU cores); use smaller ones for a quick look.
"""

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import default_collate

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import machine  # noqa: E402

from vconductor.models import M2SNet, save_checkpoint  # noqa: E402
from vconductor.training.config import GanConfig, SyncConfig  # noqa: E402
from vconductor.training.distributed import DistContext  # noqa: E402
from vconductor.training.gan_stage import GanTrainer  # noqa: E402
from vconductor.training.pairs import build_pairs  # noqa: E402
from vconductor.training.sync_stage import POSITIVE, SyncTrainer  # noqa: E402


def make_dataset(root: Path, recordings: int, seconds: int) -> Path:
    rng = np.random.default_rng(0)
    for split in ("train", "val"):
        for i in range(recordings if split == "train" else 2):
            d = root / split / str(i)
            d.mkdir(parents=True)
            np.save(d / "mel.npy", rng.random((seconds * 90, 128), dtype=np.float32))
            np.save(
                d / "motion.npy", (0.5 + 0.1 * rng.standard_normal((seconds * 30, 13, 2))).astype(np.float32)
            )
    return root


def sync(device):
    if device.type == "cuda":
        torch.cuda.synchronize()


def official_sync_step(trainer: SyncTrainer, batch, gen):
    """M2SNet_train.py's step: four separate forward passes, BCE on the time-averaged probabilities."""
    mel, motion, rec = batch
    net = trainer.net.train()
    m1, y1, m2, y2 = (x.to(trainer.device) for x in build_pairs(mel, motion, rec, trainer.spec, "hard", gen))
    probs = [net(m1, y1), net(m1, y2), net(m2, y2), net(m2, y1)]
    targets = [1.0, 0.0, 1.0, 0.0]
    loss = sum(
        F.binary_cross_entropy(p.mean(dim=(1, 2)), torch.full((p.shape[0],), t, device=p.device))
        for p, t in zip(probs, targets, strict=True)
    )
    trainer.optimizer.zero_grad()
    loss.backward()
    trainer.optimizer.step()
    assert POSITIVE.numel() == 4


def official_gan_step(trainer: GanTrainer, batch, gen):
    """M2SGAN_train.py's step: one fake batch, 5 critic steps on it, one G step; music encoder BN in train mode."""
    g, d, enc = trainer.generator.train(), trainer.critic.train(), trainer.motion_encoder.eval()
    mel, real = (x.to(trainer.device) for x in batch[:2])
    n = real.shape[0]
    z = torch.randn(n, trainer.seconds, 8, generator=gen).to(trainer.device)
    fake = g(mel, z)
    d.requires_grad_(True)
    for _ in range(trainer.cfg.n_critic):
        alpha = torch.rand(n, 1, 1, 1, generator=gen).to(trainer.device)
        mixed = (alpha * real + (1 - alpha) * fake.detach()).requires_grad_(True)
        (grad,) = torch.autograd.grad(d(mixed).sum(), mixed, create_graph=True)
        loss_d = -d(real).mean() + d(fake.detach()).mean() + 10 * grad.norm() ** 2
        trainer.d_opt.zero_grad()
        loss_d.backward()
        trainer.d_opt.step()
    d.requires_grad_(False)
    sync_loss = F.l1_loss(enc.features(fake)[-1], enc.features(real.requires_grad_(False))[-1])
    loss_g = -d(fake).mean() + 0.05 * sync_loss
    trainer.g_opt.zero_grad()
    loss_g.backward()
    trainer.g_opt.step()


def measure(step_fn, trainer, iters: int, repeats: int) -> list[float]:
    """Samples per second of `repeats` runs of `iters` steps each (after one warm-up step)."""
    batches = trainer.batches_of_epoch(0)
    items = [trainer.train_set[i] for i in batches[0]]
    batch = default_collate(items)
    step_fn(batch, torch.Generator().manual_seed(0))
    rates = []
    for r in range(repeats):
        sync(trainer.device)
        t0 = time.perf_counter()
        for i in range(iters):
            step_fn(batch, torch.Generator().manual_seed(r * 100 + i))
        sync(trainer.device)
        rates.append(iters * len(items) / (time.perf_counter() - t0))
    return rates


def report(name: str, ours: list[float], official: list[float]) -> None:
    o, b = statistics.median(ours), statistics.median(official)
    print(
        f"{name}: ours {o:.3f} samples/s (runs {', '.join(f'{x:.3f}' for x in ours)}); "
        f"official structure {b:.3f} samples/s (runs {', '.join(f'{x:.3f}' for x in official)}); "
        f"speed-up x{o / b:.2f}"
    )


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", default="both", choices=["sync", "gan", "both"])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--amp", default="off", choices=["off", "bf16", "fp16"], help="ours only (CUDA)")
    ap.add_argument("--batch-sync", type=int, default=10)
    ap.add_argument("--batch-gan", type=int, default=20)
    ap.add_argument("--sample-length", type=int, default=30)
    ap.add_argument("--clip-length", type=float, default=10)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    return ap.parse_args()


def bench_sync(args, common: dict, ctx: DistContext, tmp: str) -> None:
    s = args.sample_length
    hi = min(5.0, s - args.clip_length)
    cfg = SyncConfig(
        **common,
        out_dir=f"{tmp}/sync",
        batch_size=args.batch_sync,
        clip_length=args.clip_length,
        super_hard_shift_s=(min(0.5, hi / 2), hi),
        amp=args.amp,
    )
    trainer = SyncTrainer(cfg, ctx)
    trainer.epoch = cfg.easy_epochs  # time the hard-negative steps
    ours = measure(trainer.train_step, trainer, args.iters, args.repeats)
    trainer = SyncTrainer(cfg, ctx)
    official = measure(lambda b, g: official_sync_step(trainer, b, g), trainer, args.iters, args.repeats)
    name = f"stage 1 (batch {args.batch_sync}, {s} s samples, {args.clip_length:g} s clips)"
    report(name, ours, official)


def bench_gan(args, common: dict, ctx: DistContext, tmp: str) -> None:
    save_checkpoint(M2SNet(), Path(tmp) / "m2snet.pt", "m2snet")
    cfg = GanConfig(
        **common,
        out_dir=f"{tmp}/gan",
        batch_size=args.batch_gan,
        sync_checkpoint=f"{tmp}/m2snet.pt",
        amp=args.amp,
    )
    trainer = GanTrainer(cfg, ctx)
    ours = measure(trainer.train_step, trainer, args.iters, args.repeats)
    trainer = GanTrainer(dataclasses.replace(cfg, cache_music_features=False), ctx)
    uncached = measure(trainer.train_step, trainer, args.iters, args.repeats)
    trainer = GanTrainer(dataclasses.replace(cfg, cache_music_features=False), ctx)
    official = measure(lambda b, g: official_gan_step(trainer, b, g), trainer, args.iters, args.repeats)
    name = f"stage 2 (batch {args.batch_gan}, {args.sample_length} s samples, n_critic 5)"
    report(name + ", music features cached (every epoch after the first)", ours, official)
    report(name + ", no feature cache (the first epoch)", uncached, official)


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    ctx = DistContext(0, 1, device)
    gpu = f", {torch.cuda.get_device_name(device)}" if device.type == "cuda" else ""
    print(f"machine: {machine()}{gpu}; torch {torch.__version__}, {torch.get_num_threads()} threads")
    with tempfile.TemporaryDirectory() as tmp:
        pieces = max(args.batch_sync, args.batch_gan)
        data = make_dataset(Path(tmp) / "data", recordings=pieces, seconds=args.sample_length)
        common = dict(
            data_root=str(data),
            sample_length=args.sample_length,
            device=args.device,
            tensorboard=False,
            progress=False,
        )
        if args.stage in ("sync", "both"):
            bench_sync(args, common, ctx, tmp)
        if args.stage in ("gan", "both"):
            bench_gan(args, common, ctx, tmp)


if __name__ == "__main__":
    main()
