"""`vconductor data synth | build | check`: make and validate training data (ConductorMotion100 layout).

The options are the fields of data/options.py. Only the standard library is imported here: `vconductor --help`
and `generate` must not pay for the data modules.
"""

import argparse
import sys
import time

from ..cli_options import add_options, from_args
from .options import BuildOptions, SplitOptions, SynthOptions


def add_cli(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "data",
        help="make training data: synthetic, from your own recordings, or check a dataset",
        description="Training data in the ConductorMotion100 layout: <out>/<split>/<name>/{mel.npy,motion.npy}.",
    )
    actions = parser.add_subparsers(dest="data_action", metavar="ACTION", required=True)
    _add_synth(actions)
    _add_build(actions)
    check = actions.add_parser("check", help="validate a dataset folder and print what it holds")
    check.add_argument("root")
    check.add_argument("--split", action="append", help="split(s) to check (default: every sub-folder)")
    check.set_defaults(func=_cmd_check)
    return parser


def _add_synth(actions) -> None:
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
    synth.add_argument(
        "--splits",
        default="train:0.8,val:0.1,test:0.1",
        help="NAME:COUNT,... or NAME:FRACTION,... of --samples, or names (80/10/10 for train,val,test) "
        "(default train:0.8,val:0.1,test:0.1)",
    )
    add_options(synth, SynthOptions)
    synth.add_argument("--workers", type=int, help="processes (default: CPU count)")
    mode = synth.add_mutually_exclusive_group()
    mode.add_argument("--overwrite", action="store_true", help="replace the splits' existing samples")
    mode.add_argument("--resume", action="store_true", help="keep finished samples, make the missing ones")
    synth.add_argument("-q", "--quiet", action="store_true")
    synth.set_defaults(func=_cmd_synth)


def _add_build(actions) -> None:
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
    add_options(build, BuildOptions)
    build.add_argument("--name", help="sample name prefix (default: the audio file name)")
    add_options(build, SplitOptions)
    build.add_argument("--overwrite", action="store_true", help="replace samples of the same name")
    build.add_argument("-q", "--quiet", action="store_true")
    build.set_defaults(func=_cmd_build)


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 1


def _cmd_synth(args) -> int:
    from .synth import SynthError, parse_splits, synth_dataset

    try:
        if args.seconds < 1:
            raise SynthError(f"--seconds must be at least 1, got {args.seconds}")
        if args.keypoint_noise < 0:
            raise SynthError(f"--keypoint-noise must be >= 0, got {args.keypoint_noise}")
        splits = parse_splits(args.splits, args.samples)
        options = from_args(SynthOptions, args)
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
    except SynthError as exc:
        return _fail(str(exc))
    except OSError as exc:  # only writes happen here; numpy's messages name no file, so name the dataset
        return _fail(f"{args.out}: cannot write ({exc.strerror or exc})")
    if not args.quiet:
        counts = ", ".join(f"{k} {v}" for k, v in splits.items())
        print(
            f"wrote {args.out}: {counts} samples of {args.seconds} s in {time.perf_counter() - start:.1f} s"
        )
    return 0


def _cmd_build(args) -> int:
    from ..audio import AudioError
    from .build import BuildError, build_samples
    from .pose_import import PoseFormatError

    try:
        written = build_samples(
            args.audio,
            args.poses,
            args.out,
            from_args(BuildOptions, args),
            from_args(SplitOptions, args),
            name=args.name,
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
