"""Does the procedural conductor move like a real one? Its style statistics next to the official model's.

The official M2S-GAN learned from 100 h of real conductors, so its outputs are the reference for size and
style (never for timing: its wrist period matched the true beat on 2 of 9 pieces). For every piece of
../shared/corpus (`*.official.npz` holds the official output) and of `--renders DIR` (audio files, each with a
`.json` of true beats in `beats_s`, e.g. from `vconductor beats-data build --evaluation`; their official outputs are made
with `--checkpoint` when missing and cached beside them), it prints, per piece and as medians:

* right-wrist amplitude (mean distance from its mean) and height range (10th-90th percentile), in shoulder
  widths, ours against the reference, and their ratios (goal: medians >= 0.8);
* the fraction of 2 s windows in which the left hand mirrors the right (goal: <= 30% on every piece);
* the Beat Align Score of the right wrist against the true beats, and whether its period matches the true
  beat (within 8%, or half/double), for ours and the official model.

    .venv/bin/python benchmarks/bench_conducting_style.py [--renders DIR] [--checkpoint CKPT] [--seeds 3]
"""

import argparse
import json
from pathlib import Path

import numpy as np
from _common import OFFICIAL_GENERATOR, SHARED, machine

from vconductor import pipeline
from vconductor.metrics import beat_align_score, beat_period, motion_beats, period_matches
from vconductor.metrics.style import style_stats

AUDIO = {".flac", ".wav", ".ogg", ".mp3", ".m4a"}


def pieces(renders: Path | None, checkpoint: Path | None) -> list[tuple[str, Path, np.ndarray, np.ndarray]]:
    """(name, audio, true beats, official motion)."""
    found = []
    folders = [SHARED / "corpus"] + ([renders] if renders else [])
    for folder in folders:
        for audio in sorted(p for p in folder.iterdir() if p.suffix.lower() in AUDIO):
            if not audio.with_suffix(".json").exists():
                continue
            truth = json.loads(audio.with_suffix(".json").read_text())
            official = audio.with_suffix(".official.npz")
            if not official.exists():
                if checkpoint is None:
                    continue
                motion = pipeline.generate(audio, pipeline.load_conductor(str(checkpoint), "cpu"), seed=0)
                np.savez(official, motion=motion.keypoints)
            found.append((audio.stem, audio, np.asarray(truth["beats_s"]), np.load(official)["motion"]))
    return found


def measure(keypoints: np.ndarray, beats: np.ndarray) -> dict:
    stats = style_stats(keypoints)
    period = beat_period(keypoints)
    return {
        "amplitude": stats.amplitude,
        "height_range": stats.height_range,
        "mirrored": stats.mirrored,
        "bas": beat_align_score(motion_beats(keypoints), beats),
        "tempo": period_matches(period, float(np.median(np.diff(beats)))),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--renders", type=Path, help="more rendered pieces (.flac + .json), e.g. held-out works")
    ap.add_argument(
        "--checkpoint", type=Path, default=OFFICIAL_GENERATOR if OFFICIAL_GENERATOR.exists() else None
    )
    ap.add_argument("--seeds", type=int, default=1, help="average ours over this many seeds")
    args = ap.parse_args()
    conductor = pipeline.ProceduralConductor()
    print(f"machine: {machine()}")
    print(
        "| piece | amplitude ours / ref (ratio) | height range ours / ref (ratio) | left mirrors | BAS ours / ref | tempo ours / ref |"
    )
    print("|---|---|---|---|---|---|")
    rows = []
    for name, audio, beats, official in pieces(args.renders, args.checkpoint):
        prepared = pipeline.prepare_input(audio, "analysis")
        runs = [
            measure(pipeline.run(prepared, conductor, seed=s).keypoints, beats) for s in range(args.seeds)
        ]
        ours = {key: float(np.mean([run[key] for run in runs])) for key in runs[0]}
        ref = measure(official, beats)
        row = {
            "amplitude": ours["amplitude"] / ref["amplitude"],
            "height_range": ours["height_range"] / ref["height_range"],
            "mirrored": ours["mirrored"],
            "bas": ours["bas"],
            "ref_bas": ref["bas"],
            "tempo": ours["tempo"],
            "ref_tempo": ref["tempo"],
        }
        rows.append(row)
        print(
            f"| {name} | {ours['amplitude']:.2f} / {ref['amplitude']:.2f} ({row['amplitude']:.2f}) "
            f"| {ours['height_range']:.2f} / {ref['height_range']:.2f} ({row['height_range']:.2f}) "
            f"| {ours['mirrored']:.0%} | {ours['bas']:.3f} / {ref['bas']:.3f} "
            f"| {ours['tempo']:.0%} / {'yes' if ref['tempo'] else 'no'} |"
        )
    if not rows:
        raise SystemExit("no pieces: ../shared/corpus is missing and no --renders were given")
    median = {key: float(np.median([row[key] for row in rows])) for key in ("amplitude", "height_range")}
    worst_mirror = max(row["mirrored"] for row in rows)
    print(
        f"\n{len(rows)} pieces. Median ratios: amplitude {median['amplitude']:.2f}, height range "
        f"{median['height_range']:.2f} (goal >= 0.8). Left hand mirrors in at most {worst_mirror:.0%} of 2 s "
        f"windows (goal <= 30%). Mean BAS ours {np.mean([r['bas'] for r in rows]):.3f}, official "
        f"{np.mean([r['ref_bas'] for r in rows]):.3f}. Tempo matches: ours {sum(r['tempo'] for r in rows):.1f}, "
        f"official {sum(r['ref_tempo'] for r in rows)} of {len(rows)}."
    )


if __name__ == "__main__":
    main()
