"""The beat tracker's network: a small non-causal TCN from log-mel frames to beat and downbeat activations.

In the spirit of Böck & Davies' TCN beat trackers (madmom's): a convolutional front end squeezes the 128 mel bands
of each frame into one feature vector; dilated 1-D convolutions (kernel 5, dilations
1, 2, 4 ... 512) with residual connections then look about 24 s to each side; a 1x1 convolution gives two logits
per frame, beat and downbeat. Every layer works frame by frame in time (no pooling, no normalisation over time),
so a long input can be run in overlapping blocks with exactly the result of one pass (inference.py).
"""

import torch
from torch import nn

from .config import OUTPUTS, BeatNetworkConfig


class FrontEnd(nn.Module):
    """(N, T, bands) -> (N, channels, T): a convolution over a few frames of all bands, then a 1x1 one.

    All bands at once rather than 2-D filters sliding over frequency: a handful of matrix products per frame,
    which keeps the numpy runtime (numpy_network.py) fast on a CPU."""

    def __init__(self, cfg: BeatNetworkConfig):
        super().__init__()
        if cfg.frontend_kernel % 2 == 0:
            raise ValueError(f"frontend_kernel must be odd, got {cfg.frontend_kernel}")
        self.layers = nn.Sequential(
            nn.Conv1d(
                cfg.input_channels,
                cfg.frontend_channels,
                cfg.frontend_kernel,
                padding=cfg.frontend_kernel // 2,
            ),
            nn.ELU(),
            nn.Dropout1d(cfg.dropout),
            nn.Conv1d(cfg.frontend_channels, cfg.channels, 1),
            nn.ELU(),
            nn.Dropout1d(cfg.dropout),
        )

        self.flux = cfg.flux

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        x = frames.transpose(1, 2)
        if self.flux:  # each band's rise since the previous frame (0 at the first)
            rise = torch.relu(x[:, :, 1:] - x[:, :, :-1])
            x = torch.cat([x, torch.nn.functional.pad(rise, (1, 0))], dim=1)
        return self.layers(x)


class ResidualBlock(nn.Module):
    """x + 1x1(dropout(ELU(dilated conv(x)))): one non-causal TCN layer."""

    def __init__(self, channels: int, kernel: int, dilation: int, dropout: float):
        super().__init__()
        self.dilated = nn.Conv1d(
            channels, channels, kernel, dilation=dilation, padding=dilation * (kernel - 1) // 2
        )
        self.activation = nn.ELU()
        self.dropout = nn.Dropout1d(dropout)
        self.mix = nn.Conv1d(channels, channels, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.mix(self.dropout(self.activation(self.dilated(x))))


class BeatTCN(nn.Module):
    """Log-mel frames (N, T, bands) -> logits (N, 2, T) of a beat and of a downbeat at each frame.

    ``forward`` gives logits (training uses BCE with logits); ``activations`` the sigmoid probabilities."""

    def __init__(self, cfg: BeatNetworkConfig | None = None):
        super().__init__()
        self.cfg = cfg = cfg or BeatNetworkConfig()
        if cfg.kernel % 2 == 0:
            raise ValueError(f"kernel must be odd (a centred, non-causal convolution), got {cfg.kernel}")
        self.frontend = FrontEnd(cfg)
        self.blocks = nn.Sequential(
            *(ResidualBlock(cfg.channels, cfg.kernel, d, cfg.dropout) for d in cfg.dilations)
        )
        self.head = nn.Conv1d(cfg.channels, len(OUTPUTS), 1)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.head(self.blocks(self.frontend(frames)))

    def activations(self, frames: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.forward(frames))


def parameter_count(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
