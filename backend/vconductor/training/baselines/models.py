"""The three baseline networks. Outputs are motion (N, F, 13, 2) through a sigmoid, like M2S-GAN's generator."""

import torch
from torch import nn

from ...skeleton import NUM_JOINTS
from .features import N_MFCC

OUT = NUM_JOINTS * 2


def _conv_block(in_channels: int, out_channels: int, pool: tuple[int, int]) -> list[nn.Module]:
    """3x3 conv -> batch norm -> ReLU -> max-pool by `pool` (time, mel)."""
    conv = nn.Conv2d(in_channels, out_channels, 3, padding=1)
    return [conv, nn.BatchNorm2d(out_channels), nn.ReLU(), nn.MaxPool2d(pool)]


def _dilated_block(channels: int, dilation: int) -> list[nn.Module]:
    """A length-preserving dilated conv (kernel 5) -> batch norm -> ReLU."""
    conv = nn.Conv1d(channels, channels, 5, padding=2 * dilation, dilation=dilation)
    return [conv, nn.BatchNorm1d(channels), nn.ReLU()]


class LSTMBaseline(nn.Module):
    """Shlizerman et al.: MFCC (N, F, 20) -> LSTM(200) -> dense layers -> (N, F, 13, 2)."""

    def __init__(self, in_features: int = N_MFCC, hidden: int = 200):
        super().__init__()
        self.lstm = nn.LSTM(in_features, hidden, batch_first=True)
        self.head = nn.Sequential(nn.Linear(hidden, 128), nn.ReLU(), nn.Linear(128, OUT), nn.Sigmoid())

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        out = self.head(self.lstm(features)[0])
        return out.view(*out.shape[:2], NUM_JOINTS, 2)


class CNNLSTMBaseline(nn.Module):
    """Yalta et al.: a CNN over the mel (90 -> 30 Hz) -> LSTM encoder -> LSTM decoder -> (N, F, 13, 2).

    ``encode`` gives the encoder features that the contrastive loss aligns with ``motion_embedding(motion)``.
    """

    def __init__(self, hidden: int = 128):
        super().__init__()
        self.cnn = nn.Sequential(
            *_conv_block(1, 16, (1, 4)), *_conv_block(16, 32, (3, 4)), *_conv_block(32, 32, (1, 4))
        )
        self.encoder = nn.LSTM(32 * 2, hidden, batch_first=True)
        self.decoder = nn.LSTM(hidden, hidden, batch_first=True)
        self.head = nn.Sequential(nn.Linear(hidden, OUT), nn.Sigmoid())
        self.motion_embedding = nn.Sequential(nn.Linear(OUT, hidden), nn.ReLU(), nn.Linear(hidden, hidden))

    def encode(self, mel: torch.Tensor) -> torch.Tensor:
        h = self.cnn(mel.unsqueeze(1))  # (N, 32, F, 2)
        return self.encoder(h.permute(0, 2, 1, 3).flatten(2))[0]

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        out = self.head(self.decoder(self.encode(mel))[0])
        return out.view(*out.shape[:2], NUM_JOINTS, 2)


class FeatureGANGenerator(nn.Module):
    """Ginosar-style generator: pitch/loudness/beat (N, F, 3) + per-frame noise -> 1-D conv encoder-decoder."""

    noise_dim = 4

    def __init__(self, in_features: int = 3, channels: int = 64):
        super().__init__()
        c = channels
        self.net = nn.Sequential(
            nn.Conv1d(in_features + self.noise_dim, c, 5, padding=2),
            nn.ReLU(),
            *_dilated_block(c, 2),
            *_dilated_block(c, 4),
            *_dilated_block(c, 8),
            nn.Conv1d(c, OUT, 1),
            nn.Sigmoid(),
        )

    def forward(self, features: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        out = self.net(torch.cat([features, noise], dim=2).transpose(1, 2)).transpose(1, 2)
        return out.reshape(*out.shape[:2], NUM_JOINTS, 2)


def contrastive_loss(music: torch.Tensor, motion: torch.Tensor, margin: float = 1.0) -> torch.Tensor:
    """Pull each sample's per-frame music features to its motion's, push them from another sample's (margin)."""
    pos = (music - motion).pow(2).mean(dim=2)
    neg = (music - motion.roll(1, dims=0)).pow(2).mean(dim=2)
    return (pos + torch.relu(margin - neg.sqrt()).pow(2)).mean()
