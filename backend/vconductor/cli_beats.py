"""The beat options of `vconductor generate` and `analyze`: the user's beats (`--beats FILE`), a steady grid
(`--bpm`, `--first-downbeat`) or a score (`--score S`, aligned to the audio) in place of the tracker's
(docs/beat-sources.md, docs/scores.md)."""

import argparse


class BeatOptionError(ValueError):
    """Beat options that cannot be used: one line."""


def add_beat_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "beats", "conduct the user's beats instead of the tracker's (docs/beat-sources.md)"
    )
    group.add_argument(
        "--beats",
        metavar="FILE",
        help="a beat file: vconductor analyze's JSON or CSV, or one time (s) a line, optionally time,beat_in_bar",
    )
    group.add_argument(
        "--bpm", type=float, metavar="BPM", help="a steady grid of this tempo (beats a minute)"
    )
    group.add_argument(
        "--first-downbeat",
        type=float,
        metavar="S",
        help="with --bpm: the grid's first downbeat (s); default: the phase of the tracker's downbeats",
    )
    group.add_argument(
        "--score",
        metavar="S",
        help="the music's score (.musicxml, .xml, .mxl, .mid, .midi): its beats, bars, entries and dynamics, "
        "aligned to the audio (rendered from the score, or a performance of it)",
    )
    group.add_argument(
        "--score-mismatch",
        choices=("error", "audio"),
        default="error",
        help="when the score does not fit the audio: an error (default), or the audio's own beats with a warning",
    )


def beat_source_from_args(args, inputs: list) -> object:
    """The BeatSource the options ask for (None: the tracker's beats), the file read and checked now, before any
    work; BeatOptionError (one line) for a bad file or a contradiction."""
    from .beat_files import BeatsFileError, read_beats_file
    from .beat_sources import beat_source

    if getattr(args, "score", None) is not None:
        return _score_source(args, inputs)
    if args.beats is not None and len(inputs) > 1:
        raise BeatOptionError("--beats fits one audio file: give one input (or one run per file)")
    if args.beats is not None and (args.bpm is not None or args.first_downbeat is not None):
        raise BeatOptionError("--beats and --bpm/--first-downbeat contradict each other: give one of them")
    if args.first_downbeat is not None and args.bpm is None:
        raise BeatOptionError("--first-downbeat needs --bpm (the grid's tempo)")
    try:
        given = read_beats_file(args.beats) if args.beats is not None else None
        return beat_source(given, args.bpm, args.first_downbeat)
    except BeatsFileError as exc:
        message = (
            str(exc)
            .replace("bpm must", "--bpm must")
            .replace("the first downbeat must", "--first-downbeat must")
        )
        raise BeatOptionError(message) from None


def _score_source(args, inputs: list):
    """The BeatSource of `--score` (read and checked now, in a bounded child process)."""
    from .beat_sources import BeatSource
    from .scores.reading import ScoreFileError, read_score_file
    from .scores.source import ScoreSource

    if len(inputs) > 1:
        raise BeatOptionError("--score fits one audio file: give one input (or one run per file)")
    if args.beats is not None or args.bpm is not None or args.first_downbeat is not None:
        raise BeatOptionError(
            "--score and --beats/--bpm/--first-downbeat contradict each other: give one of them"
        )
    try:
        timeline = read_score_file(args.score)
    except ScoreFileError as exc:
        raise BeatOptionError(str(exc)) from None
    return BeatSource(score=ScoreSource(timeline, args.score_mismatch))
