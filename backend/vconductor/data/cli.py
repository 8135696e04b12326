"""`vconductor data synth | build | check`: make and validate training data (ConductorMotion100 layout).

Only argparse is imported here: `vconductor --help` and `generate` must not pay for the data modules.
"""

import argparse
import sys
import time


def add_cli(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "data",
        help="make training data: synthetic, from your own recordings, or check a dataset",
        description="Training data in the ConductorMotion100 layout: <out>/<split>/<name>/{mel.npy,motion.npy}.",
    )
    actions = parser.add_subparsers(dest="data_action", metavar="ACTION", required=True)

    synth = actions.add_parser(
        "synth",
        help="synthetic music with truly synchronised procedural conducting",
        description="Generated music (known beats, tempo, metre, dynamics) conducted by the procedural "
        "conductor from what was composed. Reproducible for a seed, whatever the number of workers.",
    )
    synth.add_argument("out", help="dataset folder to write")
    synth.add_argument(
        "--samples", type=int, help="total samples (needed when --splits gives fractions or names)"
    )
    synth.add_argument("--seconds", type=int, default=30, help="length of each sample (default 30)")
    synth.add_argument("--seed", type=int, default=0)
    synth.add_argument(
        "--splits",
        default="train:0.8,val:0.1,test:0.1",
        help="NAME:COUNT,... or NAME:FRACTION,... of --samples, or names (80/10/10 for train,val,test) "
        "(default train:0.8,val:0.1,test:0.1)",
    )
    synth.add_argument(
        "--keypoint-noise", type=float, default=0.0, help="per-frame keypoint jitter std (image units)"
    )
    synth.add_argument("--workers", type=int, help="processes (default: CPU count)")
    mode = synth.add_mutually_exclusive_group()
    mode.add_argument("--overwrite", action="store_true", help="replace the splits' existing samples")
    mode.add_argument("--resume", action="store_true", help="keep finished samples, make the missing ones")
    synth.add_argument("-q", "--quiet", action="store_true")
    synth.set_defaults(func=_cmd_synth)

    build = actions.add_parser(
        "build",
        help="samples from a recording: audio + per-frame 2D pose keypoints (AlphaPose, MMPose, OpenPose)",
        description="Pick the conductor in every frame, keep the first 13 COCO joints, fill short gaps, "
        "resample to 30 fps, normalise as the paper (shoulders 0.2 apart, time-mean hip centre at (0.5, 0.75)), "
        "compute the mel features and cut both into samples of --seconds.",
    )
    build.add_argument("audio", help="the recording's audio (or the video file itself, decoded by ffmpeg)")
    build.add_argument(
        "poses",
        help="pose-estimator output: AlphaPose results JSON, MMPose predictions JSON (or a folder of per-frame "
        "JSONs), or an OpenPose folder of *_keypoints.json",
    )
    build.add_argument("-o", "--out", required=True, help="dataset folder to write into")
    build.add_argument("--format", default="auto", choices=["auto", "alphapose", "mmpose", "openpose"])
    build.add_argument("--fps", type=float, help="video frame rate (required: pose files carry no timing)")
    build.add_argument(
        "--seconds", type=int, default=60, help="sample length (default 60, as ConductorMotion100)"
    )
    build.add_argument("--name", help="sample name prefix (default: the audio file name)")
    where = build.add_mutually_exclusive_group()
    where.add_argument("--split", help="put every sample in this split (default train)")
    where.add_argument(
        "--val-fraction", type=float, help="assign this fraction of the samples to val, the rest to train"
    )
    build.add_argument(
        "--test-fraction", type=float, default=0.0, help="with --val-fraction: also a test share"
    )
    build.add_argument("--split-seed", type=int, default=0, help="seed of the --val-fraction assignment")
    build.add_argument(
        "--min-score", type=float, default=0.3, help="keypoints below this confidence are missing"
    )
    build.add_argument(
        "--max-gap",
        type=float,
        default=1.0,
        help="longest run of missing frames of a joint to fill (seconds)",
    )
    build.add_argument(
        "--max-missing", type=float, default=0.2, help="most missing fraction of a joint's frames per sample"
    )
    build.add_argument("--overwrite", action="store_true", help="replace samples of the same name")
    build.add_argument("-q", "--quiet", action="store_true")
    build.set_defaults(func=_cmd_build)

    check = actions.add_parser("check", help="validate a dataset folder and print what it holds")
    check.add_argument("root")
    check.add_argument("--split", action="append", help="split(s) to check (default: every sub-folder)")
    check.set_defaults(func=_cmd_check)
    return parser


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _cmd_synth(args) -> int:
    from .synth import SynthError, SynthOptions, parse_splits, synth_dataset

    try:
        if args.seconds < 1:
            raise SynthError(f"--seconds must be at least 1, got {args.seconds}")
        if args.keypoint_noise < 0:
            raise SynthError(f"--keypoint-noise must be >= 0, got {args.keypoint_noise}")
        splits = parse_splits(args.splits, args.samples)
        options = SynthOptions(seconds=args.seconds, seed=args.seed, keypoint_noise=args.keypoint_noise)
        start = time.perf_counter()
        synth_dataset(
            args.out,
            splits,
            options,
            workers=args.workers,
            overwrite=args.overwrite,
            resume=args.resume,
            progress=not args.quiet,
        )
    except (SynthError, OSError) as exc:
        return _fail(str(exc))
    if not args.quiet:
        counts = ", ".join(f"{k} {v}" for k, v in splits.items())
        print(
            f"wrote {args.out}: {counts} samples of {args.seconds} s in {time.perf_counter() - start:.1f} s"
        )
    return 0


def _cmd_build(args) -> int:
    from ..audio import AudioError
    from .build import BuildError, BuildOptions, build_samples
    from .pose_import import PoseFormatError

    try:
        options = BuildOptions(
            seconds=args.seconds,
            fps=args.fps,
            pose_format=args.format,
            min_score=args.min_score,
            max_gap_s=args.max_gap,
            max_missing=args.max_missing,
        )
        written = build_samples(
            args.audio,
            args.poses,
            args.out,
            options,
            name=args.name,
            split=args.split,
            val_fraction=args.val_fraction,
            test_fraction=args.test_fraction,
            split_seed=args.split_seed,
            overwrite=args.overwrite,
        )
    except (BuildError, PoseFormatError, AudioError, OSError) as exc:
        return _fail(str(exc))
    if not args.quiet:
        for path in written:
            print(f"wrote {path}")
        print(f"{len(written)} samples of {args.seconds} s")
    return 0


def _cmd_check(args) -> int:
    from pathlib import Path

    from .dataset import ConductorMotionDataset, DatasetError

    root = Path(args.root)
    if not root.is_dir():
        return _fail(f"{root}: dataset folder not found")
    splits = args.split or sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not splits:
        return _fail(f"{root}: no split folders")
    try:
        for split in splits:
            ds = ConductorMotionDataset(root, split, in_memory=False)
            for sample in ds:  # reads every sample once: finite values are checked on first read
                del sample
            print(f"{split}: {len(ds)} samples of {ds.seconds:g} s ({ds.nbytes / 2**20:.1f} MiB) ok")
    except DatasetError as exc:
        return _fail(str(exc))
    return 0
