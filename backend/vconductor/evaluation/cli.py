"""`vconductor evaluate`: a Table-2-style report for models on a split of a ConductorMotion100-layout dataset."""

from __future__ import annotations

import argparse
import sys


def add_cli(subparsers) -> argparse.ArgumentParser:
    """Add the `evaluate` subcommand to an argparse subparsers object."""
    p = subparsers.add_parser(
        "evaluate",
        help="Table-2 metrics of models on a dataset split (markdown + CSV report, plots)",
        description="Generate every clip of a split with each model and write report.md, report.csv and PNG "
        "plots. Metric definitions: docs/metrics.md.",
    )
    p.add_argument("dataset", help="dataset root in the ConductorMotion100 layout (<root>/<split>/<n>/*.npy)")
    p.add_argument("--split", default="test", help="split folder (default: test)")
    p.add_argument(
        "-m",
        "--model",
        action="append",
        default=[],
        metavar="SPEC",
        help="a registered generator name, a checkpoint path, baseline:PATH or ground-truth; LABEL=SPEC renames "
        "it (repeatable)",
    )
    p.add_argument("-o", "--output", required=True, help="output folder for the report")
    p.add_argument("--no-ground-truth", action="store_true", help="leave out the ground-truth reference row")
    p.add_argument(
        "--clip-seconds",
        type=float,
        default=30.0,
        help="evaluate non-overlapping clips of this length (official: 30); 0 = whole samples",
    )
    p.add_argument(
        "--m2snet",
        default="m2snet-test-official",
        help="M2S-Net (name or path) whose motion encoder gives SE (paper: the test-split one); "
        "'none' skips SE",
    )
    p.add_argument("--discriminator", help="critic checkpoint for W-dis (none is released; default: n/a)")
    p.add_argument(
        "--definition",
        choices=["official", "paper"],
        default="official",
        help="metric formulas: the official code's (default) or the paper's as printed",
    )
    p.add_argument("--seed", type=int, default=0, help="seed of clip k is SEED + k")
    p.add_argument("--limit", type=int, help="use only the first N samples")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    p.add_argument("--no-plots", action="store_true")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bars")
    p.set_defaults(func=cmd_evaluate)
    return p


def cmd_evaluate(args) -> int:
    from ..data.dataset import ConductorMotionDataset, DatasetError
    from ..metrics import MetricError
    from .report import write_report
    from .runner import EvaluationConfig, EvaluationError, evaluate
    from .sources import GROUND_TRUTH, SourceError, load_source

    try:
        specs = ([] if args.no_ground_truth else [GROUND_TRUTH]) + args.model
        if not specs:
            raise EvaluationError("nothing to evaluate: give --model (or drop --no-ground-truth)")
        dataset = ConductorMotionDataset(args.dataset, args.split, limit=args.limit)
        sources = [load_source(spec, args.device) for spec in specs]
        config = EvaluationConfig(
            clip_seconds=args.clip_seconds or None,
            seed=args.seed,
            device=args.device,
            sync_model=None if args.m2snet.lower() == "none" else args.m2snet,
            discriminator=args.discriminator,
            definition=args.definition,
            progress=not args.quiet,
        )
        evaluation = evaluate(dataset, sources, config)
        paths = write_report(evaluation, args.output, plots=not args.no_plots)
    except (DatasetError, MetricError, EvaluationError, SourceError, RuntimeError) as exc:
        message = str(exc).splitlines()[0]
        if isinstance(exc, MetricError) and "M2S-Net" in message and "not registered" in message:
            message += " (or skip SE with --m2snet none)"
        print(f"error: {message}", file=sys.stderr)
        return 1
    if not args.quiet:
        print(paths["markdown"].read_text())
        print(f"wrote {', '.join(str(p) for p in paths.values())}")
    return 0
