"""Training state on disk: one file with models, optimisers, config, position in the run and RNG states.

Written atomically (temporary file + rename), so a run killed at any moment leaves the previous checkpoint
intact; loaded with ``torch.load(weights_only=True)`` (everything is stored as tensors and plain containers).
"""

import random
from pathlib import Path

import numpy as np
import torch

from ..models.checkpoints import save_atomically

STATE_FORMAT = "vconductor-training"
STATE_FILE = "training_state.pt"


class ResumeError(ValueError):
    """A training state that cannot be resumed, with the reason."""


def rng_states() -> dict:
    """The global RNG states (torch CPU and CUDA, numpy, Python), storable with weights_only loading."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()  # noqa: NPY002 - the global state is saved
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {
            "kind": kind,
            "keys": torch.from_numpy(keys.astype(np.int64)),
            "pos": int(pos),
            "has_gauss": int(has_gauss),
            "cached": float(cached),
        },
        "python": random.getstate(),
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng_states(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(  # noqa: NPY002 - restoring the global state
        (n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"], n["has_gauss"], n["cached"])
    )
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_training_state(path: str | Path, payload: dict) -> None:
    """Write `payload` (plus format tag and RNG states) atomically; a failed write is an OSError naming `path`."""
    save_atomically({"format": STATE_FORMAT, **payload, "rng": rng_states()}, path)


def load_training_state(path: str | Path, stage: str) -> dict:
    path = Path(path)
    if path.is_dir():
        path = path / STATE_FILE
    if not path.is_file():
        raise ResumeError(
            f"{path}: no training state to resume (it is written every --checkpoint-every steps)"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # truncated or foreign file: torch raises many kinds
        raise ResumeError(
            f"{path}: not a readable training state ({str(exc).splitlines()[0][:200]})"
        ) from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise ResumeError(f"{path}: not a vconductor training state")
    if state.get("stage") != stage:
        raise ResumeError(f"{path}: a {state.get('stage')} run, cannot resume it as {stage}")
    return state
