"""M2S-GAN generator: music features + upsampled per-second noise -> a dilated temporal CNN -> 13x2 keypoints.

Layer for layer the official ``Generator`` (docs/official-model.md#networks). Two deliberate generalisations, both of which
leave the official behaviour unchanged wherever the official code runs at all:
- the noise may cover more frames than the music (it is cropped), so any mel length works, not only 90*S;
- reflect padding mirrors back and forth on sequences shorter than the padding (the official code needs
  at least 5 s), so pieces down to a fraction of a second work.
"""

import torch
from torch import nn
from torch.nn.utils.parametrizations import weight_norm

from ..skeleton import FPS, NUM_JOINTS
from .layers import reflect_pad_time
from .music_encoder import MusicEncoder

NOISE_DIM = 8
DILATIONS = (1, 2, 4, 8, 16, 32)
KERNEL = 5
# Frames each side that one decoder output depends on: two convs (2d each) and an avg-pool (1) per block.
DECODER_RADIUS = sum(2 * (KERNEL // 2) * d + 1 for d in DILATIONS)  # 258 frames, ~8.6 s


class NoiseUpsampler(nn.Module):
    """Per-second noise (N, S, 8) -> per-frame noise features (N, 30*S, 64) by transposed convolutions."""

    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            nn.ConvTranspose1d(NOISE_DIM, 16, 3, stride=1, padding=1),
            nn.ReLU(),
            nn.ConvTranspose1d(16, 16, 11, stride=5, padding=3),
            nn.ReLU(),
            nn.ConvTranspose1d(16, 32, 5, stride=3, padding=1),
            nn.ReLU(),
            nn.ConvTranspose1d(32, 64, 6, stride=2, padding=2),
            nn.ReLU(),
        )
        self.bn = nn.BatchNorm1d(64)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.bn(self.layers(z.transpose(1, 2))).transpose(1, 2)


class TemporalBlock(nn.Module):
    """Two centred dilated convs (reflect padding, weight norm, BN, ReLU), avg-pool 3, residual, ReLU."""

    def __init__(self, in_channels: int, channels: int, dilation: int):
        super().__init__()
        self.pad = (KERNEL // 2) * dilation
        self.conv1 = weight_norm(nn.Conv1d(in_channels, channels, KERNEL, dilation=dilation))
        self.bn1 = nn.BatchNorm1d(channels)
        self.conv2 = weight_norm(nn.Conv1d(channels, channels, KERNEL, dilation=dilation))
        self.bn2 = nn.BatchNorm1d(channels)
        self.pool = nn.AvgPool1d(3, stride=1, padding=1)  # count_include_pad: edge frames divided by 3
        self.shortcut = nn.Conv1d(in_channels, channels, 1) if in_channels != channels else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.bn1(self.conv1(reflect_pad_time(x, self.pad))))
        h = torch.relu(self.bn2(self.conv2(reflect_pad_time(h, self.pad))))
        h = self.pool(h)
        return torch.relu(h + (x if self.shortcut is None else self.shortcut(x)))


class PoseDecoder(nn.Module):
    """(N, L, 128) music+noise features -> (N, L, 13, 2) keypoints in (0, 1)."""

    def __init__(self, in_channels: int = 128, channels: int = 64):
        super().__init__()
        self.blocks = nn.Sequential(
            *[
                TemporalBlock(in_channels if i == 0 else channels, channels, d)
                for i, d in enumerate(DILATIONS)
            ]
        )
        self.linear = nn.Linear(channels, channels)
        self.head = nn.Sequential(
            nn.Linear(channels, 64),
            nn.ReLU(),
            nn.Linear(64, 64),
            nn.ReLU(),
            nn.Linear(64, NUM_JOINTS * 2),
            nn.Sigmoid(),
        )

    def temporal_features(self, x: torch.Tensor) -> torch.Tensor:
        """The dilated CNN output after its linear layer, (N, L, 64) (the fixture's ``dilated_cnn_out``)."""
        return self.linear(self.blocks(x.transpose(1, 2)).transpose(1, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.head(self.temporal_features(x))
        return out.view(*out.shape[:2], NUM_JOINTS, 2)


class Generator(nn.Module):
    """G(mel (N, T, 128), z (N, S, 8)) -> motion (N, ceil(T/3), 13, 2); with T = 90*S that is (N, 30*S, 13, 2)."""

    def __init__(self):
        super().__init__()
        self.music_encoder = MusicEncoder()
        self.noise_upsampler = NoiseUpsampler()
        self.decoder = PoseDecoder()

    @staticmethod
    def noise_seconds(num_frames: int) -> int:
        """Per-second noise vectors needed to cover `num_frames` motion frames."""
        return -(-num_frames // FPS)

    def decode(self, music_features: torch.Tensor, noise_features: torch.Tensor) -> torch.Tensor:
        """Music features (N, L, 64) and noise features (N, >=L, 64) -> motion (N, L, 13, 2)."""
        length = music_features.shape[1]
        if noise_features.shape[1] < length:
            raise ValueError(
                f"noise covers {noise_features.shape[1]} frames but the music has {length}: "
                f"z needs at least {self.noise_seconds(length)} seconds"
            )
        return self.decoder(torch.cat([music_features, noise_features[:, :length]], dim=2))

    def forward(self, mel: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.decode(self.music_encoder(mel), self.noise_upsampler(z))
