"""`vconductor beats-data build|merge`: the beat tracker's training data (build.py, merge.py, docs/beat-data.md).

Only the standard library is imported here: `vconductor --help` and the runtime never load music21.
"""

import sys


def add_cli(subparsers):
    parser = subparsers.add_parser(
        "beats-data",
        help="render music21 corpus scores into labelled beat/downbeat/metre training data",
        description="Training data for the beat tracker: music21 corpus works (the held-out evaluation works "
        "never) rendered through fluidsynth with training soundfonts (never Fluid R3), labelled from their bars.",
    )
    actions = parser.add_subparsers(dest="beats_data_action", metavar="ACTION", required=True)
    build = actions.add_parser(
        "build",
        help="render works into OUT_DIR (resumable: run it again to finish or extend it)",
        description="Writes OUT_DIR/NAME.flac + NAME.json per sample and OUT_DIR/manifest.json. Resumable: "
        "complete samples are kept, so an interrupted build finishes when the same command runs again.",
    )
    _add_build_options(build)
    build.set_defaults(func=_cmd_build)
    merge = actions.add_parser(
        "merge",
        help="one training folder of links to the samples of several built folders",
        description="Links every sample of each SRC_DIR into OUT_DIR as SRC-NAME_SAMPLE (nothing copied; "
        "existing links kept). Held-out works are refused.",
    )
    merge.add_argument("out", metavar="OUT_DIR", help="the training folder (made if needed)")
    merge.add_argument("sources", metavar="SRC_DIR", nargs="+", help="beats-data folders to link")
    merge.add_argument(
        "--without-works-of",
        metavar="DIR",
        action="append",
        default=[],
        help="leave out every work this folder has samples of (repeatable; e.g. the decoder's development set)",
    )
    merge.add_argument(
        "--every-nth-window",
        metavar="N",
        type=int,
        default=1,
        help="keep windows 0, N, 2N ... of each performance (long works; default 1: all)",
    )
    merge.set_defaults(func=_cmd_merge)
    return parser


def _cmd_merge(args) -> int:
    from pathlib import Path

    from .build import BeatDataError
    from .merge import folder_works, merge_folders

    try:
        without = set().union(*(folder_works(Path(d)) for d in args.without_works_of))
        counts = merge_folders(
            Path(args.out), [Path(s) for s in args.sources], without, args.every_nth_window
        )
    except BeatDataError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    linked = ", ".join(f"{n} from {name}" for name, n in counts.items() if name != "left out")
    print(f"{args.out}: {linked}; {counts['left out']} left out")
    return 0


def _add_build_options(build) -> None:
    build.add_argument("out", metavar="OUT_DIR", help="dataset folder (made if needed)")
    build.add_argument("--works", type=int, default=20, help="how many corpus works (default 20)")
    build.add_argument("--variants", type=int, default=1, help="performances rendered per work (default 1)")
    build.add_argument("--seed", type=int, default=0, help="chooses works and every random draw (default 0)")
    build.add_argument(
        "--max-seconds", type=float, default=240.0, help="longest sample; long works are cut at bar lines"
    )
    build.add_argument(
        "--soundfont",
        action="append",
        default=[],
        help="a training soundfont (repeatable; default: Debian's MuseScore General and TimGM6mb; Fluid R3 refused)",
    )
    build.add_argument(
        "--work",
        action="append",
        default=[],
        help="build this corpus work (repeatable, e.g. bach/bwv1.6.mxl or airdsAirs/book1.abc#17) instead of "
        "--works drawn from the whole corpus",
    )
    build.add_argument(
        "--max-windows",
        type=int,
        default=0,
        help="windows rendered per performance of a long work (default 0: all), chosen at random",
    )
    build.add_argument(
        "--metre",
        action="append",
        default=[],
        help="only works whose first time signature is this, e.g. 6/8 (repeatable; music21's metadata): more "
        "of the compound and triple metres the tracker finds hardest",
    )
    build.add_argument(
        "--evaluation",
        action="store_true",
        help="an evaluation set instead: held-out works only, Fluid R3 timbre (or --soundfont), no augmentation",
    )
    build.add_argument(
        "--textures",
        action="store_true",
        help="write each performance's accompaniment again as a classical texture (bass on the beats, an inner "
        "voice in 2-4 notes a beat) at a slow or fast tempo: the slow and fast movements the corpus lacks",
    )
    build.add_argument(
        "--strict-time",
        action="store_true",
        help="play every performance in strict time (the score's tempo marks, else one random tempo; no rubato, "
        "ritardandi, tempo changes or held fermatas), as ../shared/corpus is rendered",
    )
    build.add_argument(
        "--clicks",
        type=int,
        default=0,
        help="also write this many metronome samples (click tracks, metre changes; --works 0: only these)",
    )
    build.add_argument("-q", "--quiet", action="store_true")


def _cmd_build(args) -> int:
    from .build import BeatDataError, BuildOptions, build_dataset
    from .render import RenderError

    options = BuildOptions(
        args.works,
        args.variants,
        args.seed,
        args.max_seconds,
        args.soundfont,
        args.work,
        args.max_windows,
        args.evaluation,
        args.metre,
        args.textures,
        args.strict_time,
    )
    try:
        if args.clicks < 0:
            raise BeatDataError("--clicks must be at least 0")
        if args.works > 0 or not args.clicks:
            build_dataset(args.out, options, progress=not args.quiet)
        if args.clicks:
            from pathlib import Path

            from .clicks import build_clicks

            Path(args.out).mkdir(parents=True, exist_ok=True)
            written = build_clicks(Path(args.out), args.clicks, args.seed)
            if not args.quiet:
                print(f"{args.out}: {args.clicks} metronome samples ({written} written now)")
    except (BeatDataError, RenderError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: complete samples are kept; run the same command again to resume", file=sys.stderr)
        return 130
    return 0
