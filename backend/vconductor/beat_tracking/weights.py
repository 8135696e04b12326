"""The beat tracker's weights file: vconductor's checkpoint format (models/checkpoints.py) of kind
"beat_tracker", with the network's shape and the input features it was trained on.

Written atomically; read with ``torch.load(weights_only=True)``. A missing, unreadable or foreign file is a
CheckpointError (a ValueError) whose one line names the file and what is wrong.
"""

from pathlib import Path

import torch

from ..models import CheckpointError, resolve_device, save_checkpoint
from ..models.checkpoints import read_state_dict
from .features import FEATURES_VERSION
from .network import BeatNetworkConfig, BeatTCN

KIND = "beat_tracker"


def save_beat_tracker(net: BeatTCN, path: str | Path, **meta) -> None:
    """Write `net` (plus plain-valued `meta`, e.g. step) whole or not at all; an OSError names `path`."""
    save_checkpoint(net, path, KIND, network=net.cfg.to_dict(), features=FEATURES_VERSION, **meta)


def _network_config(path: Path, meta: dict) -> BeatNetworkConfig:
    kind = meta.get("kind")
    if kind != KIND:
        what = f"a {kind} checkpoint" if kind else "a checkpoint that records no kind"
        raise CheckpointError(f"{path} is {what}, not beat tracker weights")
    if meta.get("features") != FEATURES_VERSION:
        raise CheckpointError(
            f"{path} was trained on input features {meta.get('features')!r}; this version computes "
            f"{FEATURES_VERSION!r}"
        )
    try:
        return BeatNetworkConfig.from_dict(meta["network"])
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{path}: the network settings it records are unusable ({exc})") from None


def load_beat_tracker(path: str | Path, device: str | torch.device = "cpu") -> tuple[BeatTCN, dict]:
    """(network in eval mode on `device`, the file's metadata) from a beat tracker weights file."""
    path = Path(path)
    state, meta = read_state_dict(path)
    cfg = _network_config(path, meta)
    try:
        net = BeatTCN(cfg)
        net.load_state_dict(state, strict=True)
    except (RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0][:200]
        raise CheckpointError(
            f"{path} does not fit the beat tracker network it describes ({first})"
        ) from None
    return net.to(resolve_device(device)).eval(), meta
