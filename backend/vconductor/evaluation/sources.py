"""Model sources: what `vconductor evaluate` compares. A source turns one clip's mel into motion.

Protocol: ``source.name`` and ``source(mel, seed) -> motion`` with mel (L*90, 128) float32 at 90 Hz and motion
(L*30, 13, 2) at 30 fps; the same seed must give the same motion. Plain callables ``mel -> motion`` (e.g. a
baseline) are wrapped by :class:`CallableSource`, which seeds torch's and numpy's global generators first.

Specs understood by :func:`load_source` (the CLI's ``--model``):
  ``ground-truth``        the dataset's own motion (a reference row: MSE 0, SDP 100, ...);
  ``NAME`` or ``PATH``     a registered generator or a generator checkpoint (official or vconductor format);
  ``baseline:PATH``        a baseline checkpoint, via ``vconductor.training.baselines.load_baseline``;
  ``LABEL=SPEC``           any of the above, shown as LABEL in the report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

GROUND_TRUTH = "ground-truth"
_GROUND_TRUTH_ALIASES = (GROUND_TRUTH, "real", "gt")
BASELINE_PREFIX = "baseline:"


class SourceError(ValueError):
    """A model that cannot be used for evaluation, with a one-line message."""


@runtime_checkable
class MotionSource(Protocol):
    name: str

    def __call__(self, mel: np.ndarray, seed: int) -> np.ndarray: ...


@dataclass
class GroundTruth:
    """The dataset's motion itself; the evaluator fills it in (it needs the sample, not only the mel)."""

    name: str = GROUND_TRUTH

    def __call__(self, mel: np.ndarray, seed: int) -> np.ndarray:
        raise SourceError("the ground-truth source has no generator: the evaluator uses the sample's motion")


@dataclass
class GeneratorSource:
    """An M2S-GAN generator (seamless windowed generation over the clip)."""

    name: str
    generator: object  # vconductor.generation.MotionGenerator

    def __call__(self, mel: np.ndarray, seed: int) -> np.ndarray:
        return self.generator(mel, len(mel) // 3, seed)


@dataclass
class CallableSource:
    """Any ``mel -> motion`` callable, with torch's and numpy's global generators seeded before each call."""

    name: str
    function: Callable[[np.ndarray], np.ndarray]

    def __call__(self, mel: np.ndarray, seed: int) -> np.ndarray:
        import torch

        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)  # noqa: NPY002 -- a plain callable may draw from numpy's global RNG
        return self.function(mel)


def as_source(name: str, model) -> MotionSource:
    """A source from a :class:`MotionSource`, a ``mel -> motion`` callable or a spec string."""
    if isinstance(model, str | Path):
        return load_source(f"{name}={model}")
    if isinstance(model, GroundTruth):
        return GroundTruth(name)
    if isinstance(model, MotionSource):  # has .name and __call__(mel, seed)
        return model if model.name == name else _Renamed(name, model)
    if callable(model):
        return CallableSource(name, model)
    raise SourceError(f"model {name!r}: expected a spec string, a MotionSource or a callable mel -> motion")


@dataclass
class _Renamed:
    name: str
    source: MotionSource

    def __call__(self, mel: np.ndarray, seed: int) -> np.ndarray:
        return self.source(mel, seed)


def _split_label(spec: str) -> tuple[str | None, str]:
    label, sep, target = spec.partition("=")
    if not sep or Path(spec).exists() or not label or "/" in label:
        return None, spec
    return label, target


def load_source(spec: str, device: str = "auto") -> MotionSource:
    """The source for a spec string (see the module docstring); errors name the spec."""
    label, target = _split_label(spec)
    if target in _GROUND_TRUTH_ALIASES:
        return GroundTruth(label or GROUND_TRUTH)
    if target.startswith(BASELINE_PREFIX):
        return _load_baseline(label, target[len(BASELINE_PREFIX) :], device)
    from ..generation import MotionGenerator
    from ..models import CheckpointError, load_generator
    from ..registry import RegistryError, resolve_model

    try:
        entry = resolve_model(target, kind="generator")
        generator = MotionGenerator(load_generator(entry.path), device)
    except (RegistryError, CheckpointError) as exc:
        raise SourceError(f"model {target!r}: {str(exc).splitlines()[0]}") from None
    return GeneratorSource(label or (entry.name if entry.registered else Path(target).stem), generator)


def _load_baseline(label: str | None, path: str, device: str) -> MotionSource:
    try:
        from ..training.baselines import load_baseline
    except ImportError:
        raise SourceError(
            f"model {BASELINE_PREFIX}{path}: baselines are not available (vconductor.training.baselines "
            "provides no load_baseline)"
        ) from None
    if not Path(path).is_file():
        raise SourceError(f"model {BASELINE_PREFIX}{path}: no such checkpoint file")
    return CallableSource(label or Path(path).stem, load_baseline(path, device=device))
