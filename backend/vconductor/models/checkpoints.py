"""Loading and saving checkpoints: the official VirtualConductor state_dicts and vconductor's own files.

Official files are plain state_dicts with the official module names; they are renamed onto our modules by
the rules below. The official TCN blocks register each conv/BN twice (``net.N`` duplicates
``conv1``/``bn1``/...): the duplicates must be identical and are then dropped, as is the motion encoder's
unused ``fcn`` layer. vconductor's own files are ``{"format": "vconductor", "kind": ...,
"state_dict": ...}`` with our names. Everything loads with ``torch.load(weights_only=True)``.
"""

import re
from collections.abc import Mapping
from contextlib import contextmanager
from pathlib import Path

import torch
from torch import nn

from ..contract import atomic_output

FORMAT = "vconductor"
# Parameter-name prefixes (in our names) that tell each kind of network apart, checked in this order.
KIND_PREFIXES: dict[str, tuple[str, ...]] = {
    "generator": ("decoder.", "noise_upsampler."),
    "m2snet": ("motion_encoder.", "fusion."),
    "discriminator": ("conv.", "mlp."),
}
_KIND_DESCRIPTIONS = {
    "generator": "an M2S-GAN generator checkpoint (use load_generator)",
    "m2snet": "an M2S-Net checkpoint (use load_m2snet)",
    "discriminator": "a discriminator checkpoint",
}

_TCN = r"^tcn\.TCN\.tcn\.tcn\.network\.(\d+)\."
# (pattern, replacement) applied in order, first match wins; replacement None drops the key.
OFFICIAL_TO_OURS: list[tuple[str, str | None]] = [
    (r"^music_encoder\.conv(\d)\.(\d+)\.conv2d_layer\.0\.", r"music_encoder.stage\1.\2.conv."),
    (r"^music_encoder\.conv(\d)\.(\d+)\.conv2d_layer\.1\.", r"music_encoder.stage\1.\2.bn."),
    (r"^music_encoder\.conv2\.0\.residual\.", r"music_encoder.stage2.0.shortcut."),
    (r"^music_encoder\.conv4\.", r"music_encoder.projection."),
    (_TCN + r"net\.\d+\.", None),  # duplicate registration of conv1/bn1/conv2/bn2, checked equal
    (_TCN + r"conv(\d)\.weight_g$", r"decoder.blocks.\1.conv\2.parametrizations.weight.original0"),
    (_TCN + r"conv(\d)\.weight_v$", r"decoder.blocks.\1.conv\2.parametrizations.weight.original1"),
    (_TCN + r"conv(\d)\.bias$", r"decoder.blocks.\1.conv\2.bias"),
    (_TCN + r"bn(\d)\.", r"decoder.blocks.\1.bn\2."),
    (_TCN + r"downsample\.", r"decoder.blocks.\1.shortcut."),
    (r"^tcn\.TCN\.tcn\.linear\.", r"decoder.linear."),
    (r"^tcn\.fc\.", r"decoder.head."),
    (r"^noise_convTranspose\.", r"noise_upsampler.layers."),
    (r"^noise_BN\.", r"noise_upsampler.bn."),
    (r"^motion_encoder\.st_gcn\.A$", r"motion_encoder.adjacency"),
    (r"^motion_encoder\.st_gcn\.data_bn\.", r"motion_encoder.input_bn."),
    (r"^motion_encoder\.st_gcn\.st_gcn_networks\.(\d+)\.gcn\.conv\.", r"motion_encoder.units.\1.gcn."),
    (r"^motion_encoder\.st_gcn\.st_gcn_networks\.(\d+)\.tcn\.", r"motion_encoder.units.\1.tcn."),
    (r"^motion_encoder\.st_gcn\.edge_importance\.", r"motion_encoder.edge_importance."),
    (r"^motion_encoder\.st_gcn\.fcn\.", None),  # defined but never used by the official model
    (r"^motion_encoder\.fc\.", r"motion_encoder.projection."),
    (r"^fuse_layer\.", r"fusion."),
]
_COMPILED = [(re.compile(p), r) for p, r in OFFICIAL_TO_OURS]
# net.N inside an official TCN block is the same module as: 0 conv1, 2 bn1, 5 conv2, 7 bn2.
_DUPLICATE_OF = {"0": "conv1", "2": "bn1", "5": "conv2", "7": "bn2"}


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used for the requested model, with the reason."""


def _is_official(state: Mapping) -> bool:
    return any(k.startswith(("tcn.TCN.", "fuse_layer.", "music_encoder.conv1.")) for k in state)


def _check_duplicates(state: Mapping[str, torch.Tensor], path: Path) -> None:
    for key, value in state.items():
        m = re.match(_TCN + r"net\.(\d+)\.(.+)$", key)
        if not m:
            continue
        block, index, leaf = m.groups()
        twin = f"tcn.TCN.tcn.tcn.network.{block}.{_DUPLICATE_OF.get(index, '?')}.{leaf}"
        if twin not in state:
            raise CheckpointError(f"{path}: duplicate key {key} has no counterpart {twin}")
        if state[twin].shape != value.shape or not torch.equal(state[twin], value):
            raise CheckpointError(f"{path}: duplicate keys {key} and {twin} differ; the file is inconsistent")


def official_to_ours(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Rename an official state_dict onto vconductor's modules (dropping duplicates and the unused layer)."""
    out = {}
    for key, value in state.items():
        for pattern, replacement in _COMPILED:
            if pattern.search(key):
                if replacement is not None:
                    out[pattern.sub(replacement, key)] = value
                break
        else:
            out[key] = value  # unknown: reported as unexpected by the strict check
    return out


def read_state_dict(path: str | Path) -> tuple[dict[str, torch.Tensor], dict]:
    """Read a checkpoint file safely; return (state_dict in our names, metadata)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises many kinds here: bad zip, pickle, refused globals
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise CheckpointError(
            f"{path} is not a loadable PyTorch weights file ({first[:200]}). "
            "Checkpoints are loaded with weights_only=True: only tensors and plain containers are accepted."
        ) from None
    meta: dict = {}
    if isinstance(obj, Mapping) and obj.get("format") == FORMAT:
        meta = {k: v for k, v in obj.items() if k != "state_dict"}
        obj = obj.get("state_dict")
    if not isinstance(obj, Mapping) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise CheckpointError(f"{path} does not hold a state_dict (a mapping of parameter names to tensors)")
    if _is_official(obj):
        _check_duplicates(obj, path)
        meta.setdefault("source", "official")
        return official_to_ours(obj), meta
    return dict(obj), meta


def _kind_from_names(names) -> str | None:
    """The kind of network whose parameter names (ours) these are, or None if they fit no kind."""
    names = list(names)
    for kind, prefixes in KIND_PREFIXES.items():
        if any(name.startswith(prefixes) for name in names):
            return kind
    return None


def checkpoint_kind(state: Mapping[str, torch.Tensor], meta: Mapping) -> str | None:
    """The kind recorded in vconductor's own files, else the one the parameter names show, else None."""
    if meta.get("kind") in KIND_PREFIXES:
        return meta["kind"]
    return _kind_from_names(state)


def _guess_kind(names) -> str:
    kind = _kind_from_names(names)
    return _KIND_DESCRIPTIONS[kind] if kind else "not a vconductor/VirtualConductor checkpoint"


def load_into(model: nn.Module, path: str | Path, kind: str) -> dict:
    """Strictly load `path` into `model`; a mismatch raises CheckpointError naming keys and shapes."""
    state, meta = read_state_dict(path)
    if meta.get("kind") not in (None, kind):
        raise CheckpointError(f"{path} is a {meta['kind']} checkpoint, not a {kind}")
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    shapes = [
        f"{k}: file {tuple(state[k].shape)} vs model {tuple(v.shape)}"
        for k, v in expected.items()
        if k in state and state[k].shape != v.shape
    ]
    if missing or unexpected or shapes:
        lines = [f"{path} does not fit the {kind}: it looks like {_guess_kind(state)}."]
        for title, items in (
            ("missing keys", missing),
            ("unexpected keys", unexpected),
            ("shape mismatches", shapes),
        ):
            if items:
                shown = ", ".join(items[:8]) + (f", ... ({len(items) - 8} more)" if len(items) > 8 else "")
                lines.append(f"  {len(items)} {title}: {shown}")
        raise CheckpointError("\n".join(lines))
    model.load_state_dict(state, strict=True)
    return meta


def save_checkpoint(model: nn.Module, path: str | Path, kind: str, **meta) -> None:
    """Write vconductor's own checkpoint format atomically; a failed write is an OSError naming `path`."""
    save_atomically({"format": FORMAT, "kind": kind, **meta, "state_dict": model.state_dict()}, path)


def save_atomically(obj, path: str | Path) -> None:
    """`torch.save(obj)` to `path`, whole or not at all; a failed write is an OSError naming `path`.

    Through a Python file rather than torch's own file writer: a failed write then says why ("No space left on
    device"), where torch's writer only says "unexpected pos 36416 vs 36312"."""
    with written_atomically(path) as tmp, open(tmp, "xb") as f:
        torch.save(obj, f)


@contextmanager
def written_atomically(path: str | Path):
    """`contract.atomic_output(path)`, whose write errors name `path`: an OSError with its errno and `path`
    as the file (a failed write names no file, a failed rename the temp file), or for torch.save's own
    RuntimeError the OSError it ran into, else an OSError whose message says it all."""
    try:
        with atomic_output(path) as tmp:
            yield tmp
    except OSError as exc:
        if exc.errno is None:
            raise
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    except RuntimeError as exc:  # torch.save's writer: "[enforce fail at ...]", raised on a failed write
        cause = exc.__cause__ or exc.__context__
        if isinstance(cause, OSError) and cause.errno is not None:
            raise OSError(cause.errno, cause.strerror, str(path)) from None
        raise OSError(f"{path}: cannot write ({str(exc).splitlines()[0][:200]})") from None
