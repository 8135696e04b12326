"""The contract between the backend and the Blender add-on for style: the controls a user has over how the
conductor moves, and the named presets.

Like contract.py, this file is the one definition, and `virtual_conductor_addon/contract_style.py` a byte copy
(`python build_addon.py --sync-contract`, checked by tests/test_contract.py). Standard library only.
docs/conducting.md#style says what each control does to the motion.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace


class StyleError(ValueError):
    """A style control out of range, or an unknown preset, with a one-line message."""


# control -> (lowest, highest); 1 (0 for articulation) is the reference: real conductors' statistics
RANGES = {"size": (0.25, 2.0), "energy": (0.25, 2.0), "articulation": (-1.0, 1.0), "left_hand": (0.0, 2.0)}


@dataclass(frozen=True)
class ConductingStyle:
    size: float = 1.0  # gesture size
    energy: float = 1.0  # rebound height and liveliness of the whole body
    articulation: float = 0.0  # -1 legato (flowing, no stops) .. 0 as the music is played .. +1 marcato
    left_hand: float = 1.0  # how much the left hand does (0: it rests; the procedural conductor only)
    left_handed: bool = False  # a left-handed conductor: the performance mirrored, the baton in the left hand
    baton: bool = True  # the conductor holds a baton (its tip is in the motion)

    def __post_init__(self) -> None:
        for name, (low, high) in RANGES.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise StyleError(f"style {name} must be a number from {low:g} to {high:g}; got {value!r}")
            if not low <= value <= high:
                raise StyleError(f"style {name} must be from {low:g} to {high:g}; got {value:g}")
        for name in ("left_handed", "baton"):
            if not isinstance(getattr(self, name), bool):
                raise StyleError(f"style {name} must be true or false; got {getattr(self, name)!r}")

    def changes(self) -> dict:
        """The controls that differ from the reference style (what a request needs to send)."""
        reference = ConductingStyle()
        return {k: v for k, v in asdict(self).items() if v != getattr(reference, k)}


PRESETS = {
    "reference": ConductingStyle(),
    "chorale": ConductingStyle(size=0.8, energy=0.7, articulation=-0.6, left_hand=1.3),
    "allegro-energico": ConductingStyle(size=1.2, energy=1.45, articulation=0.7, left_hand=0.8),
    "film-score-legato": ConductingStyle(size=1.15, energy=0.85, articulation=-0.85, left_hand=1.6),
}
CONTROLS = tuple(f.name for f in fields(ConductingStyle))


def preset_key(name: str) -> str:
    """A preset's key from how a user may write it ("Allegro energico", "film_score_legato")."""
    return "-".join(name.lower().replace("_", " ").replace("-", " ").split())


def conducting_style(preset: str | None = None, **controls) -> ConductingStyle:
    """The style of `preset` (default: the reference) with the given `controls` (None: the preset's) on top."""
    key = preset_key(preset) if preset else "reference"
    if key not in PRESETS:
        raise StyleError(f"unknown style preset {preset!r}; choose one of: {', '.join(PRESETS)}")
    unknown = sorted(set(controls) - set(CONTROLS))
    if unknown:
        raise StyleError(f"unknown style control {unknown[0]!r}; the controls are: {', '.join(CONTROLS)}")
    return replace(PRESETS[key], **{k: v for k, v in controls.items() if v is not None})
