"""Music encoder of the paper (shared by M2S-Net and the M2S-GAN generator).

A small residual 2-D CNN over the mel spectrogram (time x mel) that pools time by 3 (90 Hz -> 30 Hz) and the
mel axis down to 16 bands, then projects each frame to a 64-d feature. Layer for layer the official
``MusicEncoder`` (docs/official-model.md#networks).
"""

import torch
from torch import nn


class ResidualConvBlock(nn.Module):
    """ReLU(BN(conv3x3(x))) + shortcut(x). The official ``ResLayer``: no ReLU after the addition."""

    def __init__(self, in_channels: int, out_channels: int, shortcut: str):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 3, padding=1, padding_mode="reflect")
        self.bn = nn.BatchNorm2d(out_channels)
        self.shortcut_kind = shortcut  # "none" | "identity" | "projection"
        if shortcut == "projection":
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = torch.relu(self.bn(self.conv(x)))
        if self.shortcut_kind == "identity":
            out = out + x
        elif self.shortcut_kind == "projection":
            out = out + self.shortcut(x)
        return out


class MusicEncoder(nn.Module):
    """mel (N, T, 128) at 90 Hz -> music features (N, ceil(T/3), 64) at 30 Hz."""

    def __init__(self):
        super().__init__()
        self.stage1 = nn.Sequential(
            ResidualConvBlock(1, 16, "none"),
            ResidualConvBlock(16, 16, "identity"),
            ResidualConvBlock(16, 16, "identity"),
            nn.MaxPool2d((5, 5), stride=(1, 2), padding=(2, 2)),
        )
        self.stage2 = nn.Sequential(
            ResidualConvBlock(16, 32, "projection"),
            ResidualConvBlock(32, 32, "identity"),
            nn.MaxPool2d((5, 5), stride=(3, 2), padding=(2, 2)),  # time 90 Hz -> 30 Hz
        )
        self.stage3 = nn.Sequential(
            ResidualConvBlock(32, 32, "identity"),
            ResidualConvBlock(32, 32, "identity"),
            nn.MaxPool2d((3, 3), stride=(1, 2), padding=(1, 1)),
        )
        # 32 channels x 16 mel bands per frame, flattened channel-major, to 64 features; no activation.
        self.projection = nn.Sequential(nn.Conv1d(512, 64, 1), nn.BatchNorm1d(64))

    @staticmethod
    def _frames(h: torch.Tensor) -> torch.Tensor:
        """(N, C, T, F) -> (N, C*F, T), index c*F + f as the official reshape."""
        n, c, t, f = h.shape
        return h.permute(0, 1, 3, 2).reshape(n, c * f, t)

    def features(self, mel: torch.Tensor) -> list[torch.Tensor]:
        """The five maps of the official ``features()``: input, stage 1, 2, 3 outputs and the projection."""
        h1 = self.stage1(mel.unsqueeze(1))
        h2 = self.stage2(h1)
        h3 = self._frames(self.stage3(h2))
        h4 = self.projection(h3)
        return [mel.transpose(1, 2), self._frames(h1), self._frames(h2), h3, h4]

    def forward(self, mel: torch.Tensor) -> torch.Tensor:
        h = self.stage3(self.stage2(self.stage1(mel.unsqueeze(1))))
        return self.projection(self._frames(h)).transpose(1, 2)
