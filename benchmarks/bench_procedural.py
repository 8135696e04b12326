"""The procedural conductor on real music with ground-truth beats, next to the official model's output.

For each piece of ../shared/corpus (rendered scores; `*.json` has the true beats, `*.official.npz` the official
model's motion on the same audio) and the bundled example: the right wrist's dominant beat period against the
true one (a match is within 8%, half or double counting), and the Beat Align Score of the right wrist's motion
beats against the true beats (FACT: motion beats = local minima of wrist speed; mean over motion beats of
exp(-d^2 / (2 * 0.1^2))). Then the time for a 10-minute piece (CLI, process start to file written).

    .venv/bin/python benchmarks/bench_procedural.py [--sheet corpus_sheet.png] [--runs 3]
"""

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from _common import REPO, SHARED, describe, long_piece, machine, timed_runs

from vconductor import pipeline
from vconductor.metrics import beat_align_score, beat_period, motion_beats, period_matches


def pieces() -> list[tuple[str, Path, dict, np.ndarray | None]]:
    """(name, audio, ground truth, official motion or None)."""
    found = []
    for audio in sorted((SHARED / "corpus").glob("*.flac")):
        official = np.load(audio.with_suffix(".official.npz"))["motion"]
        found.append((audio.stem, audio, json.loads(audio.with_suffix(".json").read_text()), official))
    example = REPO / "examples" / "ode_to_joy.ogg"
    found.append((example.stem, example, json.loads(example.with_suffix(".json").read_text()), None))
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sheet", help="also write a contact sheet of the first corpus piece here (.png)")
    ap.add_argument("--runs", type=int, default=3)
    args = ap.parse_args()
    conductor = pipeline.ProceduralConductor()

    print(f"machine: {machine()}")
    header = "| piece | true period (s) | wrist period (s) | match | BAS ours | BAS official |"
    print(header + "\n" + "|---" * 6 + "|")
    wins = matches = 0
    rows = pieces()
    for i, (name, audio, truth, official) in enumerate(rows):
        motion = pipeline.generate(audio, conductor, seed=0)
        beats = np.asarray(truth["beats_s"])
        true_period = float(np.median(np.diff(beats)))
        period = beat_period(motion.keypoints)
        ok = period_matches(period, true_period)
        ours = beat_align_score(motion_beats(motion.keypoints), beats)
        theirs = (
            beat_align_score(motion_beats(official[: motion.num_frames]), beats)
            if official is not None
            else None
        )
        matches += ok
        wins += theirs is not None and ours > theirs
        theirs_text = f"{theirs:.3f}" if theirs is not None else "-"
        print(
            f"| {name} | {true_period:.3f} | {period:.3f} | {'yes' if ok else 'NO'} | {ours:.3f} | {theirs_text} |"
        )
        if args.sheet and i == 0:
            from vconductor.preview import render_preview

            render_preview(motion, args.sheet)
    compared = sum(official is not None for *_, official in rows)
    print(f"period matches: {matches}/{len(rows)}; higher BAS than the official model: {wins}/{compared}")

    with tempfile.TemporaryDirectory() as tmp:
        piece = long_piece(Path(tmp) / "ten.flac", 600.0)
        env = {**os.environ, "VCONDUCTOR_HOME": str(Path(tmp) / "home")}
        cmd = [sys.executable, "-m", "vconductor", "generate", str(piece), "-o", str(Path(tmp) / "o.npz")]
        cmd += ["--model", "procedural", "--timings", "-q"]
        walls, outs = timed_runs(cmd, args.runs, env)
        print(f"10-minute piece, CLI process start to file written: {describe(walls)}")
        print("  " + next(line for line in outs[-1].splitlines() if line.startswith("timings:")))


if __name__ == "__main__":
    main()
