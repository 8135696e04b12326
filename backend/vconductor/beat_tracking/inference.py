"""Activations of a whole piece in overlapping blocks: memory bounded whatever the length.

Each block of `block_frames` output frames is computed with the network's full reach of input on each side
(BeatNetworkConfig.context_frames), so it equals one pass over the whole input up to float rounding: the zero
padding inside a block never reaches the frames kept from it. The same loop runs the numpy network (the
runtime) and the torch one (training, CPU or CUDA).
"""

from collections.abc import Callable

import numpy as np

from ..audio import Spectrogram
from .config import OUTPUTS
from .features import scaled_rows

BLOCK_FRAMES = 16384  # 190 s of output frames per block (plus 2 x 24 s of context: 25 % more work)

RowReader = Callable[[int, int], np.ndarray]
Forward = Callable[[np.ndarray], np.ndarray]  # (m, bands) float32 -> (m, 2) activations


def block_activations(
    forward: Forward, reach: int, rows: RowReader, n_frames: int, block_frames: int = BLOCK_FRAMES, check=None
) -> np.ndarray:
    """(n_frames, 2) float32 beat and downbeat activations; `rows(start, stop)` gives (m, bands) input frames,
    `reach` is the network's context in frames and `check()`, called before each block, may raise to stop."""
    if block_frames < 1:
        raise ValueError(f"block_frames must be at least 1, got {block_frames}")
    out = np.empty((n_frames, len(OUTPUTS)), np.float32)
    for start in range(0, n_frames, block_frames):
        if check is not None:
            check()
        stop = min(n_frames, start + block_frames)
        lo, hi = max(0, start - reach), min(n_frames, stop + reach)
        act = forward(np.ascontiguousarray(rows(lo, hi), dtype=np.float32))
        out[start:stop] = act[start - lo : stop - lo]
    return out


def spectrogram_activations(net, spectrogram: Spectrogram, block_frames: int = BLOCK_FRAMES, check=None):
    """Activations of a Spectrogram with the numpy network, reading its frames block by block (they may wait
    on disk)."""
    return block_activations(
        net.activations,
        net.cfg.context_frames,
        lambda a, b: scaled_rows(spectrogram, a, b),
        spectrogram.num_frames,
        block_frames,
        check,
    )
