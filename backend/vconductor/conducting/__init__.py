"""The conductor without a learned model: the music analysis (``analyze``) and the procedural conductor
(``conduct``). docs/conducting.md describes how they work and which module holds what."""

from .analysis import analyze
from .controls import styled_config
from .music_analysis import METERS, MusicAnalysis
from .procedural import conduct
from .tuning import ConductorConfig

__all__ = [
    "METERS",
    "ConductorConfig",
    "MusicAnalysis",
    "analyze",
    "conduct",
    "styled_config",
]
