"""The user's style controls (contract_style.ConductingStyle) as the procedural conductor's configuration
(docs/conducting.md#style)."""

from dataclasses import replace

from ..contract_style import ConductingStyle
from .tuning import ConductorConfig


def styled_config(style: ConductingStyle, base: ConductorConfig | None = None) -> ConductorConfig:
    """`base` (default: the reference configuration) played in `style`."""
    base = base or ConductorConfig()
    size, energy = style.size, style.energy
    return replace(
        base,
        size_soft=base.size_soft * size,
        size_loud=base.size_loud * size,
        phrase_lift=base.phrase_lift * size,
        size_per_second=base.size_per_second * size * energy,  # a livelier conductor may also beat faster
        energy=base.energy * energy,
        head_motion=base.head_motion * energy**0.5,
        torso_motion=base.torso_motion * energy**0.5,
        articulation_shift=style.articulation,
        left_activity=base.left_activity * style.left_hand,
        left_mirroring=base.left_mirroring * min(style.left_hand, 1.0),
        left_cues=base.left_cues and style.left_hand > 0,
        left_handed=style.left_handed,
        baton=style.baton,
    )
