"""The beat network's forward pass in numpy: what the runtime runs (docs/beat-tracker.md).

Same layers and weights as network.BeatTCN (eval mode: dropout off), written as matrix products over shifted
views, float32. The runtime does not import torch, whose import alone takes seconds on a first run; this pass
is also faster than torch's for such narrow layers.
The weights come from a .npz of the torch state dict (export_npz), read with allow_pickle=False.
"""

import json
from pathlib import Path

import numpy as np

from .config import BeatNetworkConfig
from .features import FEATURES_VERSION

NPZ_META = "__meta__"  # the .npz entry holding the JSON metadata (network shape, features, provenance)


class WeightsError(ValueError):
    """Unusable beat tracker weights, in one line naming the file."""


def _elu(x: np.ndarray) -> np.ndarray:
    """ELU in place (x is a fresh intermediate): max(x, 0) + expm1(min(x, 0))."""
    negative = np.minimum(x, 0)
    np.expm1(negative, out=negative)
    np.maximum(x, 0, out=x)
    x += negative
    return x


def _conv1d(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, dilation: int = 1) -> np.ndarray:
    """(T, Cin) -> (T, Cout): a centred, zero-padded 1-D convolution over time as one matrix product."""
    cout, cin, k = weight.shape
    if k == 1:
        return x @ weight[:, :, 0].T + bias
    reach = dilation * (k - 1) // 2
    padded = np.pad(x, ((reach, reach), (0, 0)))
    taps = np.empty((len(x), k, cin), np.float32)
    for tap in range(k):
        taps[:, tap] = padded[tap * dilation : tap * dilation + len(x)]
    return taps.reshape(len(x), k * cin) @ weight.transpose(2, 1, 0).reshape(k * cin, cout) + bias


class NumpyBeatTCN:
    """(T, bands) float32 log-mel frames -> (T, 2) beat and downbeat activations, as BeatTCN in eval mode."""

    def __init__(self, cfg: BeatNetworkConfig, weights: dict[str, np.ndarray]):
        self.cfg = cfg
        self.w = {k: np.asarray(v, np.float32) for k, v in weights.items()}

    def activations(self, frames: np.ndarray) -> np.ndarray:
        x = self._frontend(np.asarray(frames, np.float32))
        for i, dilation in enumerate(self.cfg.dilations):
            x = x + self._residual(x, i, dilation)
        logits = x @ self.w["head.weight"][:, :, 0].T + self.w["head.bias"]
        return 1.0 / (1.0 + np.exp(-logits))

    def _frontend(self, frames: np.ndarray) -> np.ndarray:
        w = self.w
        if self.cfg.flux:  # each band's rise since the previous frame (0 at the first)
            rise = np.zeros_like(frames)
            np.maximum(frames[1:] - frames[:-1], 0, out=rise[1:])
            frames = np.concatenate([frames, rise], axis=1)
        x = _elu(_conv1d(frames, w["frontend.layers.0.weight"], w["frontend.layers.0.bias"]))
        return _elu(_conv1d(x, w["frontend.layers.3.weight"], w["frontend.layers.3.bias"]))

    def _residual(self, x: np.ndarray, index: int, dilation: int) -> np.ndarray:
        w = self.w
        y = _elu(_conv1d(x, w[f"blocks.{index}.dilated.weight"], w[f"blocks.{index}.dilated.bias"], dilation))
        return _conv1d(y, w[f"blocks.{index}.mix.weight"], w[f"blocks.{index}.mix.bias"])


def export_npz(state_dict: dict, cfg: BeatNetworkConfig, path: str | Path, **meta) -> None:
    """Write a torch state dict (tensors) and the network shape as the runtime's .npz, whole or not at all."""
    from ..contract import atomic_output

    arrays = {k: v.detach().cpu().numpy().astype(np.float32) for k, v in state_dict.items()}
    info = {"kind": "beat_tracker", "network": cfg.to_dict(), "features": FEATURES_VERSION, **meta}
    arrays[NPZ_META] = np.array(json.dumps(info))
    with atomic_output(Path(path)) as tmp, open(tmp, "xb") as f:
        np.savez_compressed(f, **arrays)


def load_npz(path: str | Path) -> tuple[NumpyBeatTCN, dict]:
    """(network, metadata) from a runtime .npz; WeightsError (one line naming the file) when unusable."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: data[k] for k in data.files}
    except (OSError, ValueError, EOFError) as exc:
        raise WeightsError(f"{path}: not readable beat tracker weights ({exc})") from None
    try:
        meta = json.loads(str(arrays.pop(NPZ_META)))
        cfg = BeatNetworkConfig.from_dict(meta["network"])
    except (KeyError, TypeError, ValueError) as exc:
        raise WeightsError(f"{path}: no usable beat network description ({exc})") from None
    if meta.get("kind") != "beat_tracker" or meta.get("features") != FEATURES_VERSION:
        raise WeightsError(
            f"{path}: {meta.get('kind')} weights for features {meta.get('features')!r}, not beat tracker "
            f"weights for {FEATURES_VERSION!r}"
        )
    missing = sorted(_expected_names(cfg) - set(arrays))
    if missing:
        raise WeightsError(f"{path}: missing weights {', '.join(missing[:3])}")
    net = NumpyBeatTCN(cfg, arrays)
    try:
        probe = net.activations(np.zeros((4, cfg.n_bands), np.float32))
    except ValueError as exc:  # a weight of the wrong shape
        raise WeightsError(f"{path}: weights do not fit the network they describe ({exc})") from None
    if probe.shape != (4, 2) or not np.isfinite(probe).all():
        raise WeightsError(f"{path}: weights give no finite activations")
    return net, meta


def _expected_names(cfg: BeatNetworkConfig) -> set[str]:
    names = {f"frontend.layers.{i}.{p}" for i in (0, 3) for p in ("weight", "bias")}
    names |= {"head.weight", "head.bias"}
    for i in range(len(cfg.dilations)):
        names |= {f"blocks.{i}.{layer}.{p}" for layer in ("dilated", "mix") for p in ("weight", "bias")}
    return names
