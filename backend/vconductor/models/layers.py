"""Small building blocks shared by the networks."""

import torch
import torch.nn.functional as F


def reflect_pad_time(x: torch.Tensor, pad: int) -> torch.Tensor:
    """Reflect-pad the last axis by `pad` on both sides.

    Identical to ``F.pad(x, (pad, pad), mode="reflect")`` whenever that is defined (pad < length). Shorter
    sequences, which PyTorch rejects, are mirrored back and forth (numpy's ``reflect`` semantics) so the
    networks accept pieces of any length; a single frame is repeated.
    """
    length = x.shape[-1]
    if pad == 0:
        return x
    if pad < length:
        return F.pad(x, (pad, pad), mode="reflect")
    if length == 1:
        return x.expand(*x.shape[:-1], 1 + 2 * pad)
    period = 2 * (length - 1)
    idx = torch.arange(-pad, length + pad, device=x.device).remainder(period)
    idx = torch.where(idx < length, idx, period - idx)
    return x.index_select(-1, idx)
