"""CLI speed on a 10-minute piece: `vconductor generate`, process start to file written, vs the official path.

Prints the median wall time of several fresh processes for each, the speed-up, and our stage breakdown.
Needs the official weights (../shared, or a registered "official" model) for the official-path comparison;
without them it times our CLI with a random-weight generator of the same architecture (same speed).

    .venv/bin/python benchmarks/bench_generate.py [--runs 5] [--seconds 607.3] [--device cpu|cuda]
"""

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

from _common import OFFICIAL_GENERATOR, REPO, describe, long_piece, machine, timed_runs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument(
        "--seconds", type=float, default=607.3, help="piece length (the official timing used 607.3 s)"
    )
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--skip-official", action="store_true")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        piece = long_piece(tmp / "piece.flac", args.seconds)
        checkpoint = OFFICIAL_GENERATOR
        if not checkpoint.is_file():
            from vconductor.models import Generator, save_checkpoint

            checkpoint = tmp / "random.pt"
            save_checkpoint(Generator(), checkpoint, "generator")
            print(
                "note: official weights not found; timing a random-weight generator of the same architecture"
            )
        env = {**os.environ, "VCONDUCTOR_HOME": str(tmp / "home")}
        print(f"machine: {machine()}; piece: {args.seconds:.1f} s of real music (22050 Hz FLAC)")

        ours_cmd = [sys.executable, "-m", "vconductor", "generate", str(piece), "-o", str(tmp / "out.npz")]
        ours_cmd += ["--model", str(checkpoint), "--device", args.device, "--timings", "-q"]
        timed_runs(ours_cmd, 1, env)  # warm the page cache
        ours, outs = timed_runs(ours_cmd, args.runs, env)
        print(f"vconductor generate (device {args.device}): {describe(ours)}")
        median_run = outs[sorted(range(len(ours)), key=ours.__getitem__)[len(ours) // 2]]
        stages = next(line for line in median_run.splitlines() if line.startswith("timings:"))
        print("  stage breakdown of the median run: " + stages.removeprefix("timings: "))
        for line in median_run.splitlines():
            if line.startswith("gpu:"):
                print("  " + line)

        if not args.skip_official and checkpoint == OFFICIAL_GENERATOR:
            official_cmd = [
                sys.executable,
                str(REPO / "benchmarks" / "official_inference.py"),
                str(piece),
                str(checkpoint),
            ]
            timed_runs(official_cmd, 1)
            official, _ = timed_runs(official_cmd, args.runs)
            print(f"official path (librosa features + 60 s chunks, no_grad, CPU): {describe(official)}")
            ratio = statistics.median(official) / statistics.median(ours)
            print(f"speed-up: {ratio:.2f}x (target >= 3x)")


if __name__ == "__main__":
    main()
