"""Activations of a whole piece in overlapping blocks: memory bounded whatever the length, CPU or CUDA.

Each block of `block_frames` output frames is computed with the network's full reach of input on each side
(BeatNetworkConfig.context_frames), so it equals one pass over the whole input up to float rounding: the zero
padding inside a block never reaches the frames kept from it.
"""

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..audio import Spectrogram, audio_spectrogram
from .features import scaled_rows
from .network import OUTPUTS, BeatTCN

BLOCK_FRAMES = 8192  # 95 s of output frames per block (plus 2 x 24 s of context)

RowReader = Callable[[int, int], np.ndarray]


@torch.no_grad()
def block_activations(
    net: BeatTCN, rows: RowReader, n_frames: int, block_frames: int = BLOCK_FRAMES, check=None
) -> np.ndarray:
    """(n_frames, 2) float32 beat and downbeat activations; `rows(start, stop)` gives (m, bands) input frames
    and `check()`, called before each block, may raise to stop."""
    if block_frames < 1:
        raise ValueError(f"block_frames must be at least 1, got {block_frames}")
    device = next(net.parameters()).device
    reach = net.cfg.context_frames
    out = np.empty((n_frames, len(OUTPUTS)), np.float32)
    was_training = net.training
    net.eval()
    try:
        for start in range(0, n_frames, block_frames):
            if check is not None:
                check()
            stop = min(n_frames, start + block_frames)
            lo, hi = max(0, start - reach), min(n_frames, stop + reach)
            frames = torch.from_numpy(np.ascontiguousarray(rows(lo, hi), dtype=np.float32))
            act = net.activations(frames.to(device)[None])[0]
            out[start:stop] = act[:, start - lo : stop - lo].T.float().cpu().numpy()
    finally:
        net.train(was_training)
    return out


def array_activations(net: BeatTCN, frames: np.ndarray, block_frames: int = BLOCK_FRAMES) -> np.ndarray:
    """Activations of (n, bands) input frames held in memory."""
    return block_activations(net, lambda a, b: frames[a:b], len(frames), block_frames)


def spectrogram_activations(
    net: BeatTCN, spectrogram: Spectrogram, block_frames: int = BLOCK_FRAMES, check=None
) -> np.ndarray:
    """Activations of a Spectrogram, reading its frames block by block (they may wait on disk)."""
    return block_activations(
        net, lambda a, b: scaled_rows(spectrogram, a, b), spectrogram.num_frames, block_frames, check
    )


def file_activations(net: BeatTCN, path: str | Path, block_frames: int = BLOCK_FRAMES) -> np.ndarray:
    """Activations of an audio file (any length: its spectrogram is computed in bounded memory)."""
    spectrogram = audio_spectrogram(path)
    try:
        return spectrogram_activations(net, spectrogram, block_frames)
    finally:
        spectrogram.close()
