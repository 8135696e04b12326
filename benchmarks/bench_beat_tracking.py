"""Beat and downbeat F-measure (+-70 ms) of our tracker, the previous analysis and librosa, on real scores.

Pieces: ../shared/corpus (4 rendered scores, Fluid R3) and held-out renders of our own: works the tracker never
trained on (scores.is_held_out), rendered with the Fluid R3 timbre it never heard, random tempo maps with
rubato, no augmentation (`vconductor beats-data build --evaluation`; built into --renders on the first run, with
FluidR3_GM.sf2 as ../shared/corpus was, so the draw does not depend on which other Fluid R3 fonts are installed;
with --strict-time, the same works played in strict time, as ../shared/corpus is, into out/beat-eval-strict).
Ground truth comes from each score's own bars. For each piece and method: beat F and downbeat F (librosa has no
downbeats), then the means and the worst piece; the procedural conductor's right-wrist period against the true
beat period (a match is within 8 %, or half or double) and its Beat Align Score; with --robust, the tracker's
F after an MP3 round trip (64 kbit/s), added reverb (RT60 1.5 s) and noise 20 dB below the music. Then
beat-locking (beat_lock.py) of the official model's output on ../shared/corpus: its Beat Align Score against
the true beats before and after locking to our tracked beats, and the sync error (the test-split M2S-Net's
motion features, official L1 definition, 10 s clips) between the locked and the unlocked motion.

    .venv/bin/python benchmarks/bench_beat_tracking.py [--renders DIR] [--works 40] [--robust] [--no-corpus]
        [--weights RUN/beat_tracker.npz] [--strict-time]
"""

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np
import soundfile as sf
from _common import REPO, SHARED, machine

from vconductor.audio import SAMPLE_RATE
from vconductor.beat_tracking.tracker import track_file
from vconductor.conducting import analyze
from vconductor.metrics import beat_align_score, beat_f_measure, beat_period, motion_beats, period_matches

TOLERANCE_S = 0.07
EVAL_SEED, EVAL_SECONDS = 7, 60.0
# the held-out renders' soundfont: Debian fluid-soundfont-gm, the corpus' timbre (other Fluid R3 fonts, when
# installed, are not drawn, so the draw is the same on every machine that has this one)
EVAL_FONT = "FluidR3_GM"


def pieces(
    renders: Path, works: int, corpus: bool = True, strict: bool = False
) -> list[tuple[str, Path, dict]]:
    found = [
        (p.stem, p, json.loads(p.with_suffix(".json").read_text()))
        for p in sorted(SHARED.glob("corpus/*.flac"))
        if corpus
    ]
    manifest = renders / "manifest.json"
    if manifest.is_file() and json.loads(manifest.read_text()).get("strict_time", False) != strict:
        raise SystemExit(
            f"{renders} holds renders {'not ' if strict else ''}in strict time: use another --renders"
        )
    if not manifest.is_file() or len(list(renders.glob("*.flac"))) < works:
        from vconductor.beat_data.build import BuildOptions, build_dataset
        from vconductor.beat_data.render import evaluation_soundfonts

        fonts = [str(f) for f in evaluation_soundfonts() if f.name.startswith(EVAL_FONT)]
        options = BuildOptions(
            works,
            1,
            EVAL_SEED,
            EVAL_SECONDS,
            soundfonts=fonts,
            max_windows=1,
            evaluation=True,
            strict_time=strict,
        )
        build_dataset(renders, options)
    for p in sorted(renders.glob("*.flac"))[:works]:
        found.append((p.stem.split("__")[0], p, json.loads(p.with_suffix(".json").read_text())))
    return found


def scores(beats, downbeats, truth) -> tuple[float, float | None]:
    f_beat = beat_f_measure(np.asarray(beats), np.asarray(truth["beats_s"]), TOLERANCE_S)[0]
    if downbeats is None:
        return f_beat, None
    return f_beat, beat_f_measure(np.asarray(downbeats), np.asarray(truth["downbeats_s"]), TOLERANCE_S)[0]


WEIGHTS: list[Path | None] = [None]  # --weights: a run's beat_tracker.npz instead of the packaged one


def ours(path: Path):
    tracked = track_file(path, weights=WEIGHTS[0])
    return tracked.beats_s, tracked.downbeats_s


def classic(path: Path):
    analysis = analyze(path)  # without the tracker's result: the classic tempogram analysis
    return analysis.beats_s, analysis.downbeats_s


def librosa_beats(path: Path):
    import librosa

    y, sr = librosa.load(path, sr=SAMPLE_RATE, mono=True)
    return librosa.beat.beat_track(y=y, sr=sr, units="time")[1], None


METHODS = {"ours": ours, "previous analysis": classic, "librosa": librosa_beats}


def procedural_match(path: Path, truth: dict) -> tuple[bool, float]:
    from vconductor import pipeline

    motion = pipeline.generate(path, pipeline.ProceduralConductor(), seed=0)
    beats = np.asarray(truth["beats_s"])
    period = beat_period(motion.keypoints)
    return period_matches(period, float(np.median(np.diff(beats)))), beat_align_score(
        motion_beats(motion.keypoints), beats
    )


def degraded(path: Path, kind: str, folder: Path) -> Path:
    """The piece after an MP3 round trip, a reverb or noise, as a FLAC in `folder`."""
    from scipy.signal import fftconvolve

    from vconductor.beat_data.augment import codec_round_trip

    y, _ = sf.read(path, dtype="float32")
    rng = np.random.default_rng(0)
    if kind == "mp3":
        y = codec_round_trip(y, "mp3", 64)
    elif kind == "reverb":
        t = np.arange(int(1.5 * SAMPLE_RATE)) / SAMPLE_RATE
        tail = fftconvolve(y, rng.standard_normal(len(t)) * np.exp(-6.91 * t / 1.5))[: len(y)]
        y = 0.6 * y + 0.4 * tail * np.sqrt(np.mean(y**2) / max(np.mean(tail**2), 1e-12))
    else:
        noise = rng.standard_normal(len(y)) * np.sqrt(np.mean(y**2)) * 10 ** (-20 / 20)
        y = y + noise
    out = folder / f"{path.stem}.{kind}.flac"
    sf.write(out, np.clip(y / max(1.0, np.abs(y).max()), -1, 1), SAMPLE_RATE)
    return out


def table(rows: list[dict], methods: list[str]) -> None:
    head = (
        "| piece | " + " | ".join(f"{m} beat F | {m} downbeat F" for m in methods) + " | wrist period | BAS |"
    )
    print(head + "\n" + "|---" * (2 * len(methods) + 3) + "|")
    for r in rows:
        cells = [f"{r[m][0]:.3f} | " + (f"{r[m][1]:.3f}" if r[m][1] is not None else "-") for m in methods]
        print(
            f"| {r['name']} | " + " | ".join(cells) + f" | {'yes' if r['match'] else 'NO'} | {r['bas']:.3f} |"
        )
    for label, reduce in (("mean", statistics.mean), ("worst", min)):
        cells = []
        for m in methods:
            beat = reduce(r[m][0] for r in rows)
            downs = [r[m][1] for r in rows if r[m][1] is not None]
            cells.append(f"{beat:.3f} | " + (f"{reduce(downs):.3f}" if downs else "-"))
        extra = f"{sum(r['match'] for r in rows)}/{len(rows)} | {statistics.mean(r['bas'] for r in rows):.3f}"
        print(f"| **{label}** | " + " | ".join(cells) + (f" | {extra} |" if label == "mean" else " | | |"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--renders",
        type=Path,
        help="held-out renders folder (default out/beat-eval, with --strict-time out/beat-eval-strict)",
    )
    ap.add_argument("--works", type=int, default=40, help="held-out works rendered (one 60 s window each)")
    ap.add_argument("--robust", action="store_true", help="also the tracker on MP3, reverb and noise")
    ap.add_argument(
        "--weights",
        type=Path,
        help="our tracker's weights for its F columns (a run's beat_tracker.npz; default: the packaged ones, "
        "which the procedural conductor's columns always use)",
    )
    ap.add_argument(
        "--strict-time",
        action="store_true",
        help="the held-out renders in strict time, as ../shared/corpus is played (their own folder)",
    )
    ap.add_argument("--skip", nargs="*", default=[], choices=list(METHODS), help="methods left out")
    ap.add_argument(
        "--no-corpus",
        action="store_true",
        help="only the renders (e.g. the decoder's development renders, docs/beat-tracker.md); no beat-locking",
    )
    args = ap.parse_args()
    args.renders = args.renders or REPO / "out" / ("beat-eval-strict" if args.strict_time else "beat-eval")
    WEIGHTS[0] = args.weights
    corpus = not args.no_corpus
    print(f"machine: {machine()}")
    methods = [m for m in METHODS if m not in args.skip]
    rows, seconds = [], {m: [] for m in methods}
    for name, path, truth in pieces(args.renders, args.works, corpus, args.strict_time):
        row = {"name": name}
        for m in methods:
            started = time.perf_counter()
            row[m] = scores(*METHODS[m](path), truth)
            seconds[m].append(time.perf_counter() - started)
        row["match"], row["bas"] = procedural_match(path, truth)
        rows.append(row)
    table(rows, methods)
    print(
        "median seconds per piece: "
        + ", ".join(f"{m} {statistics.median(s):.2f}" for m, s in seconds.items())
    )
    if args.robust:
        robustness(pieces(args.renders, args.works, corpus, args.strict_time), args.renders / "degraded")
    if corpus:
        locking()


def locking() -> None:
    from vconductor.beat_lock import beat_lock
    from vconductor.metrics import sync_error

    encoder = SHARED / "reference" / "checkpoints" / "M2SNet_test_official_pretrained.pt"
    print(
        "\n| corpus piece | BAS official | BAS locked | sync error locked vs unlocked | pairs |\n|---|---|---|---|---|"
    )
    for audio in sorted(SHARED.glob("corpus/*.flac")):
        motion = np.load(audio.with_suffix(".official.npz"))["motion"]
        truth = np.asarray(json.loads(audio.with_suffix(".json").read_text())["beats_s"])
        locked, info = beat_lock(motion, track_file(audio).beats_s)
        clips = len(motion) // 300
        sync = sync_error(motion[: clips * 300].reshape(clips, 300, 13, 2),
                          locked[: clips * 300].reshape(clips, 300, 13, 2), encoder=str(encoder))  # fmt: skip
        before = beat_align_score(motion_beats(motion), truth)
        after = beat_align_score(motion_beats(locked), truth)
        print(f"| {audio.stem} | {before:.3f} | {after:.3f} | {sync:.4f} | {info['pairs']} |")


def robustness(found, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    clean = [scores(*ours(path), truth)[0] for _, path, truth in found]
    print(f"\nour tracker, mean beat F: clean {statistics.mean(clean):.3f}")
    for kind in ("mp3", "reverb", "noise"):
        changed = [scores(*ours(degraded(path, kind, folder)), truth)[0] for _, path, truth in found]
        drops = np.subtract(clean, changed)
        print(
            f"  {kind}: {statistics.mean(changed):.3f} (mean drop {drops.mean():+.3f}, largest {drops.max():+.3f})"
        )


if __name__ == "__main__":
    main()
