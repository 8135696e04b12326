"""Does training learn? Stage 1 and stage 2 on a synthetic, truly synchronised dataset, on CPU, in minutes.

    python benchmarks/train_learning_demo.py [--data DIR] [--out DIR] [--sync-steps 400] [--gan-steps 200] [--threads 1]

Makes the dataset with `vconductor data synth` (generated music conducted by the procedural conductor on its
known beats) unless --data is given, then:
1. stage 1 (M2S-Net) with short pieces (6 s samples, 2 s clips; hard negatives 2 s apart, super-hard shifts
   0.2-2 s: the official 30/10/10 s and 0.5-5 s scaled down) and prints the validation accuracy per kind of
   negative before and after;
2. stage 2 (M2S-GAN) on the frozen stage-1 encoders and prints RDE and SDP (vconductor.metrics, official
   definitions) of the initial and the trained generator.
"""

import argparse
import subprocess
import sys
import time
from pathlib import Path

import torch

from vconductor.training.config import GanConfig, SyncConfig
from vconductor.training.distributed import DistContext
from vconductor.training.gan_stage import GanTrainer
from vconductor.training.sync_stage import SyncTrainer


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", type=Path, help="a dataset folder (default: synthesise one under --out)")
    p.add_argument("--out", type=Path, default=Path("demo-training"))
    p.add_argument("--samples", type=int, default=60, help="synthetic recordings (80%% train, 20%% val)")
    p.add_argument("--seconds", type=int, default=12)
    p.add_argument("--sync-steps", type=int, default=400)
    p.add_argument("--gan-steps", type=int, default=200)
    p.add_argument("--threads", type=int, default=1, help="1 is fastest on a loaded 2-core machine")
    return p.parse_args()


def synthesise(data: Path, samples: int, seconds: int) -> None:
    n_val = samples // 5
    synth = [sys.executable, "-m", "vconductor", "data", "synth", str(data)]
    sizes = ["--samples", str(samples), "--seconds", str(seconds), "--seed", "1"]
    splits = ["--splits", f"train:{samples - n_val},val:{n_val}"]
    subprocess.run([*synth, *sizes, *splits, "-q"], check=True)


def train_sync(data: Path, args, cpu: DistContext) -> None:
    cfg = SyncConfig(
        data_root=str(data),
        out_dir=str(args.out / "sync"),
        sample_length=6,
        clip_length=2,
        super_hard_shift_s=(0.2, 2.0),
        batch_size=8,
        max_steps=args.sync_steps,
        eval_every=50,
        checkpoint_every=100,
        device="cpu",
        progress=False,
    )
    trainer = SyncTrainer(cfg, cpu)
    before = trainer.evaluate()
    t0 = time.perf_counter()
    after = trainer.run()
    print(f"stage 1: {args.sync_steps} steps of batch 8 in {time.perf_counter() - t0:.0f} s")
    for mode in ("easy", "hard", "super_hard"):
        accuracy = f"{before[f'val/acc_{mode}']:.3f} -> {after[f'val/acc_{mode}']:.3f}"
        print(f"  val accuracy, {mode:10s} negatives: {accuracy}")


def train_gan(data: Path, args, cpu: DistContext) -> None:
    cfg = GanConfig(
        data_root=str(data),
        out_dir=str(args.out / "gan"),
        sync_checkpoint=str(args.out / "sync"),
        sample_length=6,
        batch_size=8,
        max_steps=args.gan_steps,
        eval_every=20,
        checkpoint_every=50,
        eval_batches=2,
        device="cpu",
        progress=False,
    )
    trainer = GanTrainer(cfg, cpu)
    before = trainer.evaluate()
    t0 = time.perf_counter()
    after = trainer.run()
    elapsed = time.perf_counter() - t0
    print(f"stage 2: {args.gan_steps} generator steps (5 critic steps each) of batch 8 in {elapsed:.0f} s")
    for key in ("val/rde", "val/sdp", "val/sync_loss", "val/w_dis"):
        print(f"  {key:14s} initial {before[key]:9.4f} -> trained {after[key]:9.4f}")


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    data = args.data
    if data is None:
        data = args.out / "data"
        if not (data / "train").is_dir():
            synthesise(data, args.samples, args.seconds)
    cpu = DistContext(0, 1, torch.device("cpu"))
    print(f"data: {data}  torch threads: {torch.get_num_threads()}")
    train_sync(data, args, cpu)
    train_gan(data, args, cpu)


if __name__ == "__main__":
    main()
