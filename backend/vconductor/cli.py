"""The `vconductor` command line: generate, preview, analyze, models.

Heavy libraries (torch, matplotlib) are imported inside the commands so that `vconductor --help` and errors
are instant.
"""

import argparse
import errno
import functools
import os
import sys
import time
from pathlib import Path

from . import __version__
from .cli_beats import BeatOptionError, add_beat_options, beat_source_from_args
from .cli_outputs import OutputError, os_error_line, output_formats, plan_outputs, write_motion_files
from .cli_style import StyleError, add_style_options, learned_model_note, style_from_args
from .contract import missing_folders, remove_empty_folders

AUDIO_SUFFIXES = set(".wav .flac .ogg .oga .opus .mp3 .m4a .aac .aif .aiff .wma .mp4".split())  # noqa: SIM905 (one line)


class UserError(Exception):
    """A problem to report as one line, without a traceback."""


def _error(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)


def _collect_inputs(paths: list[str]) -> list[Path]:
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            found = sorted(f for f in p.iterdir() if f.is_file() and f.suffix.lower() in AUDIO_SUFFIXES)
            if not found:
                raise UserError(f"{p}: no audio files in this folder ({', '.join(sorted(AUDIO_SUFFIXES))})")
            files.extend(found)
        else:
            files.append(p)  # missing or non-audio files get their own clear error when decoded
    return files


def _load_conductor_timed(model: str, device: str):
    from .pipeline import load_conductor  # a learned model imports torch: this runs beside the first decoding

    t0 = time.perf_counter()
    conductor = load_conductor(model, device)
    return conductor, time.perf_counter() - t0


def _side_executor():
    """A forked worker process where possible (true parallelism beside the torch import), else a thread.

    Forking is safe only before torch starts its threads, which is why this runs before the model loads.
    """
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor

    if "fork" in multiprocessing.get_all_start_methods() and "torch" not in sys.modules:
        return ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("fork"))
    return ThreadPoolExecutor(max_workers=1)


def cmd_generate(args) -> int:
    formats = output_formats(args.format)
    args.conducting_style = style_from_args(args)
    inputs = _collect_inputs(args.audio)
    single_file = len(args.audio) == 1 and not Path(args.audio[0]).is_dir()
    outputs = plan_outputs(args.output, inputs, single_file, formats)  # every refusal comes before any work
    args.beat_source = beat_source_from_args(args, inputs)
    made_by_this_run = missing_folders(target for targets in outputs for target in targets)
    try:
        failures = _generate_all(args, _choose_model(args), inputs, outputs)
    finally:
        remove_empty_folders(made_by_this_run)  # a run that wrote nothing leaves nothing, folders included
    if failures and len(inputs) > 1:  # one input: its own error line says it all
        _error(f"{failures} of {len(inputs)} file(s) failed; nothing was written for them")
    return 1 if failures else 0


def _choose_model(args) -> str:
    """--model, else the registered learned model, else the procedural conductor (with notes for the user)."""
    from .pipeline import PROCEDURAL
    from .registry import default_model

    model = args.model
    if model is None:
        entry = default_model("generator")
        model = entry.name if entry else PROCEDURAL
        if entry is None and not args.quiet:
            print(
                "note: no learned model is registered, so the procedural conductor is used "
                "(`vconductor models add official PATH` registers the official M2S-GAN weights)",
                file=sys.stderr,
            )
    note = learned_model_note(args)
    if note and model != PROCEDURAL and not args.quiet:
        print(note, file=sys.stderr)
    return model


def _generate_all(args, model: str, inputs: list[Path], outputs: list[tuple[Path, ...]]) -> int:
    """Generate every input in turn; returns how many failed."""
    from .pipeline import needs_of, prepare_input
    from .registry import RegistryError
    from .scratch import scratch_folder

    needs = needs_of(model)
    failures = 0
    scratch_folder()  # made before the fork: long pieces' frames go there, owned by this process, not the worker
    with _side_executor() as pool:
        # The first file decodes beside the model load. The model stays on this thread, where torch's thread
        # pool lives (inference from another thread would start a second, competing pool).
        first = pool.submit(prepare_input, inputs[0], needs, args.meter, beats=args.beat_source)
        try:
            conductor, load_s = _load_conductor_timed(model, args.device)
        except (RegistryError, RuntimeError, ValueError) as exc:  # CheckpointError is a ValueError
            raise UserError(str(exc)) from None
        for index, (audio_path, targets) in enumerate(zip(inputs, outputs, strict=True)):
            if index == 0:
                prepare = functools.partial(_first_result, first, pool)
            else:
                prepare = functools.partial(
                    prepare_input, audio_path, needs, args.meter, beats=args.beat_source
                )
            failures += not _generate_file(args, audio_path, targets, prepare, conductor, load_s)
    return failures


def _first_result(first, pool):
    prepared = first.result()
    pool.shutdown(wait=False)  # the worker exits while this process generates
    return prepared


def _generate_file(
    args, audio_path: Path, targets: tuple[Path, ...], prepare, conductor, load_s: float
) -> bool:
    """Prepare (`prepare()`), conduct and write one input; False, with the reason printed, on failure."""
    from concurrent.futures import BrokenExecutor

    from .audio import AudioError
    from .pipeline import JobReport, run

    report = JobReport()
    try:
        prepared = prepare()
        if prepared.score is not None and (not args.quiet or prepared.score["case"] == "mismatch"):
            warning = "warning: " if prepared.score["case"] == "mismatch" else ""
            print(f"{audio_path.name}: {warning}{prepared.score['line']}", file=sys.stderr)
        try:
            with _progress_bar(audio_path.name, args.quiet) as progress:
                motion = run(
                    prepared,
                    conductor,
                    args.seed,
                    progress,
                    report=report,
                    beat_lock=args.beat_lock,
                    style=args.conducting_style,
                )
        finally:
            prepared.close()
        t0 = time.perf_counter()
        write_motion_files(motion, targets)  # all of this input's files, or none of them
        report.seconds["write"] = time.perf_counter() - t0
    except (AudioError, OSError, ValueError, OutputError) as exc:
        _error(os_error_line(exc) if isinstance(exc, OSError) else str(exc))
        return False
    except BrokenExecutor:  # the decoding worker died (killed, out of memory)
        _error(f"{audio_path}: the audio decoder process died (out of memory?)")
        return False
    if not args.quiet:
        written = ", ".join(str(t) for t in targets)
        print(f"{audio_path.name}: {motion.num_frames} frames ({motion.duration_s:.2f} s) -> {written}")
    if args.timings:
        _print_timings(
            conductor,
            {"model_load (parallel)": load_s, **report.seconds, "since_process_start": _process_age()},
        )
    return True


def _print_timings(conductor, stages: dict[str, float]) -> None:
    if conductor.device.startswith("cuda"):
        import torch

        peak = torch.cuda.max_memory_allocated() / 2**20
        print(f"gpu: {torch.cuda.get_device_name()}, peak memory {peak:.0f} MiB")
    print("timings: " + ", ".join(f"{k} {v:.3f}s" for k, v in stages.items()))


def _process_age() -> float:
    """Seconds since this process started (from /proc; 0 where unavailable)."""
    try:
        with open(f"/proc/{os.getpid()}/stat") as f:
            start_ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/uptime") as f:
            uptime = float(f.read().split()[0])
        return uptime - start_ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return 0.0


class _progress_bar:
    """A tqdm bar driven by progress(fraction, message); silent for --quiet or when stderr is not a terminal."""

    def __init__(self, name: str, quiet: bool):
        self.name, self.quiet, self.bar = name, quiet, None

    def __enter__(self):
        if not self.quiet:
            from tqdm import tqdm

            bar_format = "{desc}: {percentage:3.0f}%|{bar}| {postfix}"
            self.bar = tqdm(
                total=100, desc=self.name, unit="%", disable=None, leave=False, bar_format=bar_format
            )
        return self

    def __call__(self, fraction: float, message: str) -> None:
        if self.bar is not None:
            self.bar.n = round(100 * fraction)
            self.bar.set_postfix_str(message, refresh=True)

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.close()


def cmd_preview(args) -> int:
    from .motion_io import load_motion
    from .preview import render_preview

    try:
        motion = load_motion(args.motion)
    except (FileNotFoundError, ValueError) as exc:
        raise UserError(str(exc)) from None
    out = Path(args.output)
    made_by_this_run = missing_folders([out])
    with _progress_bar(out.name, args.quiet) as progress:
        try:
            render_preview(motion, out, args.audio, size=args.size, progress=progress)
        except RuntimeError as exc:  # ffmpeg failed or was killed (a file-size limit, a full disk)
            raise UserError(f"{out}: {exc}") from None
        except OSError as exc:
            raise UserError(os_error_line(exc, out, "cannot write")) from None
        except ValueError as exc:
            raise UserError(str(exc)) from None
        finally:
            remove_empty_folders(made_by_this_run)
    if not args.quiet:
        print(f"wrote {out}")
    return 0


GENERATE_DESCRIPTION = """\
Audio in, conducting keypoints (30 fps) out. Where -o OUT writes:
  one input file and OUT ending in .npz/.json/.csv: the file OUT, in that format;
  otherwise: the folder OUT (made if needed), with NAME.FORMAT per input for each --format,
  NAME being the input's stem, or its whole file name when two inputs share a stem.
Refused before any work: two inputs that would write the same file (d1/x.wav and d2/x.wav),
a .npz/.json/.csv OUT with several inputs or a folder, and any other suffix with one input
(`-o video.mp4`: write a .npz, then `vconductor preview`); end OUT with / for a folder.
An input's files are written together or not at all: a failure leaves nothing behind."""


def _add_generate(sub) -> None:
    gen = sub.add_parser(
        "generate",
        help="audio file(s) or folder -> conducting keypoints (30 fps)",
        description=GENERATE_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    gen.add_argument(
        "audio", nargs="+", help="audio files (wav, flac, ogg, mp3, m4a, ...) or folders of them"
    )
    gen.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT",
        help="a .npz/.json/.csv file for one input file, else a folder (see above)",
    )
    gen.add_argument(
        "--model",
        help="'procedural', a registered model name or a checkpoint path "
        "(default: the registered learned model, else procedural)",
    )
    gen.add_argument(
        "--meter",
        choices=["2/4", "3/4", "4/4", "6/8"],
        help="metre for the procedural conductor (default: detected)",
    )
    gen.add_argument(
        "--seed", type=int, default=0, help="the same seed gives the same motion; others vary it"
    )
    gen.add_argument(
        "--beat-lock",
        choices=["auto", "on", "off"],
        default="auto",
        help="move a learned model's gestures onto the tracked beats (auto: when the beats are confident)",
    )
    gen.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    gen.add_argument(
        "--format", help="formats written per input when OUT is a folder: npz,json,csv (default npz)"
    )
    add_style_options(gen)
    add_beat_options(gen)
    gen.add_argument("--timings", action="store_true", help="print the time each stage took")
    gen.add_argument("-q", "--quiet", action="store_true")
    gen.set_defaults(func=cmd_generate)


def _add_preview(sub) -> None:
    prev = sub.add_parser("preview", help="render a motion file to .mp4/.gif video or a .png contact sheet")
    prev.add_argument("motion", help="motion file written by `vconductor generate`")
    prev.add_argument(
        "-o",
        "--output",
        required=True,
        help="preview.mp4, preview.gif or sheet.png (written whole or not at all)",
    )
    prev.add_argument("--audio", help="audio to mux into the video (the piece the motion was made from)")
    prev.add_argument("--size", type=int, default=600, help="video size in pixels (square)")
    prev.add_argument("-q", "--quiet", action="store_true")
    prev.set_defaults(func=cmd_preview)


def build_parser() -> argparse.ArgumentParser:
    from . import registry
    from .beat_data.cli import add_cli as add_beat_data_cli
    from .cli_analyze import add_cli as add_analyze_cli
    from .data.cli import add_cli as add_data_cli
    from .evaluation.cli import add_cli as add_evaluate_cli
    from .service import add_cli as add_serve_cli
    from .training.cli import add_cli as add_train_cli

    parser = argparse.ArgumentParser(prog="vconductor", description="Music to orchestral-conductor motion.")
    parser.add_argument("--version", action="version", version=f"vconductor {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_generate(sub)
    _add_preview(sub)
    add_analyze_cli(sub)
    registry.add_cli(sub)
    add_serve_cli(sub)
    add_data_cli(sub)
    add_beat_data_cli(sub)
    add_train_cli(sub)
    add_evaluate_cli(sub)
    return parser


# errnos of a write that failed for want of room: blamed on the command's output when the error names no file
_NO_ROOM = {errno.EFBIG, errno.ENOSPC, errno.EDQUOT}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (UserError, OutputError, StyleError, BeatOptionError) as exc:
        _error(str(exc))
        return 1
    except OSError as exc:  # a read or write no command handled: one line naming the file, never a traceback
        output = getattr(args, "output", None) or getattr(args, "out", None)
        _error(os_error_line(exc, output if exc.errno in _NO_ROOM else None))
        return 1
    except KeyboardInterrupt:
        _error("interrupted")
        return 130


def console_main() -> None:
    """The `vconductor` executable: main(), then exit without the interpreter's teardown.

    Tearing down torch takes ~0.25 s at exit. Every output is already written, closed and renamed into place by
    then, so only the streams need flushing.
    """
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    from .scratch import remove_own_folders

    remove_own_folders()  # os._exit skips the atexit handler that would
    os._exit(code)


if __name__ == "__main__":
    console_main()
