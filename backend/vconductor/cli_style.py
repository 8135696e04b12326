"""The style options of `vconductor generate` (a preset and the controls of contract_style), and the style
they ask for."""

import argparse

from .contract_style import PRESETS, RANGES, ConductingStyle, StyleError, conducting_style

_HELP = {
    "size": "gesture size",
    "energy": "rebound height and liveliness",
    "articulation": "-1 legato .. 0 as played .. 1 marcato",
    "left_hand": "left-hand activity (procedural conductor)",
}


def add_style_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "style",
        "how the conductor moves: a preset, and controls on top of it (1 / 0: real conductors' style)",
    )
    group.add_argument("--style", metavar="PRESET", help=f"one of: {', '.join(PRESETS)} (default reference)")
    for name, (low, high) in RANGES.items():
        flag = "--" + name.replace("_", "-")
        group.add_argument(flag, type=float, metavar="X", help=f"{_HELP[name]}, {low:g} to {high:g}")
    group.add_argument("--left-handed", action="store_true", default=None, help="a left-handed conductor")
    group.add_argument(
        "--no-baton", dest="baton", action="store_false", default=None, help="conduct without a baton"
    )


def style_from_args(args) -> ConductingStyle:
    """The style the options ask for; StyleError (one line) for an unknown preset or a value out of range."""
    controls = {name: getattr(args, name) for name in (*RANGES, "left_handed", "baton")}
    return conducting_style(args.style, **controls)


def learned_model_note(args) -> str | None:
    """A note naming the options a learned model ignores (it makes 2D motion of its own: only the size and
    the conducting hand of a style apply to it), or None."""
    style = args.conducting_style.changes()
    named = ["--meter"] if args.meter else []
    named += [
        "--" + name.replace("_", "-") for name in ("energy", "articulation", "left_hand") if name in style
    ]
    if not named:
        return None
    return f"note: {', '.join(named)} only steer the procedural conductor; the learned model ignores them"


__all__ = ["StyleError", "add_style_options", "learned_model_note", "style_from_args"]
