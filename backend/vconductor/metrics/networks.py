"""Table 2 metrics that need a network: sync error (an M2S-Net motion encoder) and W-dis (a critic).

torch is imported here only, so ``vconductor.metrics`` stays light until these are called.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from torch import nn

from .common import MetricError, as_pair, check_definition

DEFAULT_SYNC_MODEL = "m2snet-test-official"  # the paper's SE: an M2S-Net trained on the test split
_HOW_TO_REGISTER = (
    f"register it with `vconductor models add {DEFAULT_SYNC_MODEL} PATH/M2SNet_test_official_pretrained.pt` "
    f"(or `vconductor models pull {DEFAULT_SYNC_MODEL}`), or pass another M2S-Net checkpoint / motion encoder"
)


@lru_cache(maxsize=4)
def _load_m2snet_encoder(path: str, md5: str, device: str) -> nn.Module:
    from ..models import load_m2snet

    return load_m2snet(path, device).motion_encoder  # md5 in the key: a replaced file is reloaded


def load_motion_encoder(model=None, device: str | torch.device = "cpu") -> nn.Module:
    """The motion encoder of an M2S-Net: a registered name or checkpoint path (None: the paper's test-split
    M2S-Net, ``"m2snet-test-official"``), an ``M2SNet`` or a ``MotionEncoder``; in eval mode."""
    from ..models import M2SNet, resolve_device
    from ..registry import RegistryError, resolve_model

    device = resolve_device(device)
    if isinstance(model, M2SNet):
        return model.motion_encoder.eval().to(device)
    if isinstance(model, nn.Module):
        return model.eval().to(device)
    name = DEFAULT_SYNC_MODEL if model is None else model
    try:
        entry = resolve_model(name, kind="m2snet")
    except RegistryError as exc:
        if str(name) == DEFAULT_SYNC_MODEL:
            raise MetricError(
                f"the sync error needs the test-split M2S-Net {DEFAULT_SYNC_MODEL!r}, which is not registered: "
                + _HOW_TO_REGISTER
            ) from None
        raise MetricError(f"sync error model: {exc}") from None
    try:
        return _load_m2snet_encoder(str(entry.path), entry.md5, str(device))
    except ValueError as exc:  # CheckpointError: a file that is not a loadable M2S-Net
        raise MetricError(f"sync error model: {str(exc).splitlines()[0]}") from None


def load_critic(model, device: str | torch.device = "cpu") -> nn.Module:
    """A discriminator for W-dis: a ``Discriminator`` module, a registered name or a checkpoint path."""
    from ..models import load_discriminator, resolve_device
    from ..registry import RegistryError, resolve_model

    device = resolve_device(device)
    if isinstance(model, nn.Module):
        return model.eval().to(device)
    if model is None:
        raise MetricError("W-dis needs a discriminator (the official code releases none): pass a checkpoint")
    try:
        entry = resolve_model(model, kind="discriminator")
    except RegistryError as exc:
        raise MetricError(f"W-dis discriminator: {exc}") from None
    try:
        return load_discriminator(entry.path, device)
    except ValueError as exc:  # CheckpointError
        raise MetricError(f"W-dis discriminator: {str(exc).splitlines()[0]}") from None


def _batches(x: np.ndarray, batch_size: int, device: torch.device):
    for i in range(0, len(x), batch_size):
        yield torch.from_numpy(np.ascontiguousarray(x[i : i + batch_size], dtype=np.float32)).to(device)


def _device_of(module: nn.Module) -> torch.device:
    p = next(module.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@torch.inference_mode()
def sync_error(
    real,
    fake,
    encoder=None,
    definition: str = "official",
    per_sample: bool = False,
    device: str | torch.device = "cpu",
    batch_size: int = 16,
):
    """Sync error between the motion-encoder features of real and fake motion.

    official: the SyncLoss as coded, ``L1Loss(F(real), F(fake))`` with F the final 64-d features
    ``motion_encoder.features(x)[-1]`` in eval mode (BN running statistics), a mean over every element.
    paper (eq. 5): ``||E(Y) - E(Y_hat)||_2^2``, the per-sample sum of squared feature differences, averaged.
    `encoder` defaults to the paper's test-split M2S-Net; the official ``M2SGAN_eval.py`` uses the *training*
    M2S-Net instead (its test-split option is never used): pass ``"m2snet-official"`` to reproduce its numbers.
    """
    r, f = as_pair(real, fake)
    definition = check_definition(definition)
    enc = load_motion_encoder(encoder, device)
    dev = _device_of(enc)
    values = []
    for a, b in zip(_batches(r, batch_size, dev), _batches(f, batch_size, dev), strict=True):
        diff = (enc.features(a)[-1] - enc.features(b)[-1]).double()
        values.append(diff.abs().mean(dim=(1, 2)) if definition == "official" else (diff**2).sum(dim=(1, 2)))
    values = torch.cat(values).cpu().numpy()
    return values if per_sample else float(values.mean())


@torch.inference_mode()
def w_dis(
    real,
    fake,
    discriminator,
    definition: str = "official",
    per_sample: bool = False,
    device: str | torch.device = "cpu",
    batch_size: int = 16,
):
    """Wasserstein distance estimate D(real) - D(fake), averaged over the samples (paper eq. 6 and the official
    ``M2SGAN_eval.py`` agree; `definition` is accepted for symmetry). Needs a trained critic: the official code
    releases none, so Table 2's W-dis cannot be reproduced from released files."""
    r, f = as_pair(real, fake)
    check_definition(definition)
    critic = load_critic(discriminator, device)
    dev = _device_of(critic)
    values = []
    for a, b in zip(_batches(r, batch_size, dev), _batches(f, batch_size, dev), strict=True):
        values.append((critic(a) - critic(b)).double().reshape(len(a)))
    values = torch.cat(values).cpu().numpy()
    return values if per_sample else float(values.mean())


def describe_model(model) -> str:
    """A short label for a model argument (for reports)."""
    if model is None:
        return DEFAULT_SYNC_MODEL
    if isinstance(model, nn.Module):
        return type(model).__name__
    return Path(str(model)).name if Path(str(model)).suffix else str(model)
