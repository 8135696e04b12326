"""The beat tracker's network: a small non-causal TCN from log-mel frames to beat and downbeat activations.

In the spirit of Böck & Davies' TCN beat trackers (madmom's): a convolutional front end squeezes the 128 mel bands
of each frame (with +-2 frames of context) into one feature vector; dilated 1-D convolutions (kernel 5, dilations
1, 2, 4 ... 512) with residual connections then look about 24 s to each side; a 1x1 convolution gives two logits
per frame, beat and downbeat. Every layer works frame by frame in time (no pooling, no normalisation over time),
so a long input can be run in overlapping blocks with exactly the result of one pass (inference.py).
"""

from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from .features import N_BANDS

OUTPUTS = ("beat", "downbeat")


@dataclass(frozen=True)
class BeatNetworkConfig:
    """The network's shape (stored in its weights file, so a file rebuilds the network it was trained as)."""

    n_bands: int = N_BANDS
    frontend_channels: int = 8
    channels: int = 32
    kernel: int = 5
    dilations: tuple[int, ...] = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
    dropout: float = 0.1

    def to_dict(self) -> dict:
        out = asdict(self)
        out["dilations"] = list(self.dilations)
        return out

    @classmethod
    def from_dict(cls, values: dict) -> "BeatNetworkConfig":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown beat network settings: {', '.join(unknown)}")
        values = dict(values)
        if "dilations" in values:
            values["dilations"] = tuple(int(d) for d in values["dilations"])
        return cls(**values)

    @property
    def context_frames(self) -> int:
        """Frames each side that can change an output frame: the front end's 2 plus the TCN's reach."""
        return 2 + (self.kernel - 1) // 2 * sum(self.dilations)


class FrontEnd(nn.Module):
    """(N, T, bands) -> (N, channels, T): 3x3 convolutions and max-pooling over frequency only."""

    def __init__(self, cfg: BeatNetworkConfig):
        super().__init__()
        c = cfg.frontend_channels
        bands = ((cfg.n_bands - 2) // 3 - 2) // 3  # left after two (3x3 conv, pool by 3 over frequency)
        if bands < 1:
            raise ValueError(f"n_bands {cfg.n_bands} is too few for the front end (at least 15)")
        self.layers = nn.Sequential(
            nn.Conv2d(1, c, (3, 3), padding=(1, 0)),
            nn.ELU(),
            nn.MaxPool2d((1, 3)),
            nn.Dropout(cfg.dropout),
            nn.Conv2d(c, c, (3, 3), padding=(1, 0)),
            nn.ELU(),
            nn.MaxPool2d((1, 3)),
            nn.Dropout(cfg.dropout),
            nn.Conv2d(c, cfg.channels, (1, bands)),
            nn.ELU(),
            nn.Dropout(cfg.dropout),
        )

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return self.layers(frames.unsqueeze(1)).squeeze(3)


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
