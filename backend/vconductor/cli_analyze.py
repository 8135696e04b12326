"""`vconductor analyze AUDIO... -o OUT`: beats, downbeats, metre per bar, tempo and confidence per beat.

The document is the contract's BeatTrack (JSON or CSV; docs/beat-tracker.md): what the service's /beats
returns and the add-on turns into timeline markers. Only the standard library is imported at module level.
"""

import argparse
import sys
import time
from pathlib import Path

from .cli_beats import add_beat_options

ANALYZE_DESCRIPTION = """Track the beats of audio files with the trained tracker.

Where the result goes (-o OUT):
  no -o, one input: the JSON document on standard output;
  one input and OUT ending in .json or .csv: the file OUT, in that format;
  otherwise: the folder OUT (made if needed), with NAME.beats.FORMAT per input for each --format (default json).
Each file is written whole or not at all; a failed input writes nothing and the others go on."""


def add_cli(subparsers) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        "analyze",
        help="audio file(s) -> beats, downbeats, metre per bar, tempo (JSON or CSV)",
        description=ANALYZE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "audio", nargs="+", help="audio files (wav, flac, ogg, mp3, m4a, ...) or folders of them"
    )
    parser.add_argument(
        "-o", "--output", metavar="OUT", help="a .json/.csv file for one input, else a folder"
    )
    parser.add_argument(
        "--meter",
        choices=["2/4", "3/4", "4/4", "6/8"],
        help="hold every bar to this metre (6/8: two dotted beats a bar); default: found per bar",
    )
    parser.add_argument("--format", help="formats per input when OUT is a folder: json,csv (default json)")
    add_beat_options(parser)  # the user's beats, completed (bar positions, tempo) and written as a document
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar or summary")
    parser.set_defaults(func=cmd_analyze)
    return parser


def cmd_analyze(args) -> int:
    from .cli import UserError, _collect_inputs, _error
    from .cli_beats import beat_source_from_args
    from .cli_outputs import output_formats, plan_outputs
    from .contract import missing_folders, remove_empty_folders
    from .contract_beats import BEATS_FORMATS

    inputs = _collect_inputs(args.audio)
    single = len(args.audio) == 1 and not Path(args.audio[0]).is_dir()
    args.beat_source = beat_source_from_args(args, inputs)
    if args.output is None:
        if not single:
            raise UserError("several inputs (or a folder) need -o OUT_FOLDER")
        outputs = [()]
    else:
        formats = output_formats(args.format, BEATS_FORMATS)
        outputs = plan_outputs(args.output, inputs, single, formats, BEATS_FORMATS, tag=".beats")
    made = missing_folders(target for targets in outputs for target in targets)
    failures = 0
    try:
        for path, targets in zip(inputs, outputs, strict=True):
            try:
                _analyze_file(path, targets, args)
            except _FileFailure as exc:
                _error(str(exc))
                failures += 1
    finally:
        remove_empty_folders(made)
    if failures and len(inputs) > 1:
        _error(f"{failures} of {len(inputs)} file(s) failed; nothing was written for them")
    return 1 if failures else 0


class _FileFailure(Exception):
    """One input that could not be analysed, with why."""


def _analyze_file(path: Path, targets: tuple[Path, ...], args) -> None:
    from .audio import AudioError, audio_spectrogram
    from .beat_sources import BeatSourceError, given_beats
    from .beat_tracking.numpy_network import WeightsError
    from .beat_tracking.tracker import beat_track, tracked_with_activations
    from .conducting.beats import tracker_bar_lengths
    from .contract import atomic_output
    from .contract_beats import beats_to_bytes
    from .pipeline import check_usable

    started = time.perf_counter()
    try:
        spectrogram = audio_spectrogram(path)
        try:
            check_usable(spectrogram)
            tracked, activations = tracked_with_activations(spectrogram, tracker_bar_lengths(args.meter))
            source, report = args.beat_source, None
            if source is not None and source.score is not None:
                from .pipeline import score_beat_source

                source, _, report = score_beat_source(source, spectrogram, activations[:, 0])
                warning = "warning: " if report["case"] == "mismatch" else ""
                if warning or not args.quiet:
                    print(f"{path.name}: {warning}{report['line']}", file=sys.stderr)
            if source is not None:
                tracked = given_beats(source, spectrogram.duration_s, tracked, args.meter)
            track = beat_track(tracked, spectrogram.duration_s, path.name, args.meter)
            if report is not None:
                track.score = {k: v for k, v in report.items() if k != "line"}
        finally:
            spectrogram.close()
    except (AudioError, WeightsError, BeatSourceError) as exc:
        raise _FileFailure(str(exc)) from None
    if not targets:
        sys.stdout.write(beats_to_bytes(track, ".json").decode())
    for target in targets:
        with atomic_output(target) as tmp:
            tmp.write_bytes(beats_to_bytes(track, target.suffix.lower()))
    if not args.quiet:
        where = ", ".join(map(str, targets)) or "stdout"
        summary = f"{len(track.beats_s)} beats, {len(track.downbeats_s)} bars{_conducted_note(track)}"
        print(f"{path.name}: {summary} -> {where} ({time.perf_counter() - started:.1f} s)", file=sys.stderr)


def _conducted_note(track) -> str:
    """The summary line's ", conducted in 1 (written 3 a bar)" when bars are not conducted as written."""
    bars = track.conducted or {}
    if bars.get("beats_per_bar", 0) == bars.get("written_per_bar", 0):
        return ""
    return f", conducted in {bars['beats_per_bar']} (written {bars['written_per_bar']} a bar)"
