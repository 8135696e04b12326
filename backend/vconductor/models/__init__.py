"""The paper's networks as four modules (music encoder, motion encoder, generator, discriminator), M2S-Net,
and loaders for the official and vconductor checkpoints."""

from pathlib import Path

import torch

from .checkpoints import CheckpointError, load_into, save_checkpoint
from .discriminator import Discriminator
from .generator import Generator
from .m2snet import M2SNet
from .motion_encoder import MotionEncoder
from .music_encoder import MusicEncoder

__all__ = [
    "CheckpointError",
    "Discriminator",
    "Generator",
    "M2SNet",
    "MotionEncoder",
    "MusicEncoder",
    "load_generator",
    "load_m2snet",
    "load_discriminator",
    "resolve_device",
    "save_checkpoint",
]


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """'auto' -> CUDA when available, else CPU; 'cuda' without a GPU is a clear error."""
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("CUDA was requested but no CUDA device is available (use --device cpu or auto)")
    return device


def _load(model: torch.nn.Module, path: str | Path, kind: str, device) -> torch.nn.Module:
    load_into(model, path, kind)
    model.eval().requires_grad_(False)
    return model.to(resolve_device(device))


def load_generator(path: str | Path, device: str | torch.device = "cpu") -> Generator:
    """The M2S-GAN generator from an official or vconductor checkpoint, in eval mode."""
    return _load(Generator(), path, "generator", device)


def load_m2snet(path: str | Path, device: str | torch.device = "cpu") -> M2SNet:
    """M2S-Net (with ``.music_encoder`` and ``.motion_encoder``) from an official or vconductor checkpoint."""
    return _load(M2SNet(), path, "m2snet", device)


def load_discriminator(path: str | Path, device: str | torch.device = "cpu") -> Discriminator:
    """A discriminator saved by vconductor training (the official code releases none)."""
    return _load(Discriminator(), path, "discriminator", device)
