"""Evaluation of conducting-motion models on a ConductorMotion100-layout dataset: the paper's Table 2 metrics
plus beat alignment and diversity, as a markdown/CSV report with plots (`vconductor evaluate`).

Names are imported on first use, so that the CLI can import ``vconductor.evaluation.cli`` without torch.
"""

from importlib import import_module

_EXPORTS = {
    "Evaluation": "runner",
    "EvaluationConfig": "runner",
    "EvaluationError": "runner",
    "ModelResult": "runner",
    "clip_bounds": "runner",
    "evaluate": "runner",
    "write_report": "report",
    "GROUND_TRUTH": "sources",
    "CallableSource": "sources",
    "GeneratorSource": "sources",
    "GroundTruth": "sources",
    "MotionSource": "sources",
    "SourceError": "sources",
    "as_source": "sources",
    "load_source": "sources",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
