"""M2S-GAN discriminator (critic): a 1-D CNN over the 26 coordinates, a per-step MLP, mean over time.

The official ``Discriminator_1DCNN`` (docs/official-model.md#networks). No normalisation (WGAN-GP critic). The official
code releases no discriminator weights.
"""

import torch
from torch import nn

from ..skeleton import NUM_JOINTS


class Discriminator(nn.Module):
    """motion (N, T, 13, 2) -> critic score (N, 1)."""

    def __init__(self, channels: int = 64):
        super().__init__()
        self.conv = nn.Sequential(
            nn.Conv1d(NUM_JOINTS * 2, channels, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool1d(5, stride=3),
            nn.Conv1d(channels, channels, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool1d(5, stride=2),
            nn.Conv1d(channels, channels, 5, padding=2),
            nn.ReLU(),
            nn.MaxPool1d(5, stride=2),
        )
        self.mlp = nn.Sequential(
            nn.Linear(channels, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 1)
        )

    def forward(self, motion: torch.Tensor) -> torch.Tensor:
        h = self.conv(motion.flatten(2).transpose(1, 2))
        return self.mlp(h.transpose(1, 2)).mean(dim=1)
