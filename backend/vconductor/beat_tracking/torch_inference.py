"""The torch network's activations through the shared block loop (inference.py): training and validation."""

from pathlib import Path

import numpy as np
import torch

from ..audio import audio_spectrogram
from .features import scaled_rows
from .inference import BLOCK_FRAMES, block_activations
from .network import BeatTCN


def _forward(net: BeatTCN):
    device = next(net.parameters()).device

    @torch.no_grad()
    def forward(frames: np.ndarray) -> np.ndarray:
        act = net.activations(torch.from_numpy(frames).to(device)[None])[0]
        return act.T.float().cpu().numpy()

    return forward


def array_activations(net: BeatTCN, frames: np.ndarray, block_frames: int = BLOCK_FRAMES) -> np.ndarray:
    """Activations of (n, bands) input frames held in memory (the network is put in eval mode meanwhile)."""
    was_training = net.training
    net.eval()
    try:
        reach = net.cfg.context_frames
        return block_activations(_forward(net), reach, lambda a, b: frames[a:b], len(frames), block_frames)
    finally:
        net.train(was_training)


def file_activations(net: BeatTCN, path: str | Path, block_frames: int = BLOCK_FRAMES) -> np.ndarray:
    """Activations of an audio file (any length: its spectrogram is computed in bounded memory)."""
    spectrogram = audio_spectrogram(path)
    was_training = net.training
    net.eval()
    try:
        reach = net.cfg.context_frames
        rows = lambda a, b: scaled_rows(spectrogram, a, b)  # noqa: E731
        return block_activations(_forward(net), reach, rows, spectrogram.num_frames, block_frames)
    finally:
        net.train(was_training)
        spectrogram.close()
