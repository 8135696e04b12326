"""M2S-Net: the contrastive music-motion synchronisation network of the paper's first stage.

Music encoder + motion encoder, concatenated per frame (music first) and fused by 1x1 convs into a per-frame
probability that the motion is in sync with the music (docs/official-model.md#networks).
"""

import torch
from torch import nn

from .motion_encoder import MotionEncoder
from .music_encoder import MusicEncoder


class M2SNet(nn.Module):
    """(mel (N, 3L, 128), motion (N, L, 13, 2)) -> sync probability (N, L, 1)."""

    def __init__(self):
        super().__init__()
        self.music_encoder = MusicEncoder()
        self.motion_encoder = MotionEncoder()
        self.fusion = nn.Sequential(
            nn.Conv1d(128, 64, 1),
            nn.ReLU(),
            nn.Conv1d(64, 64, 1),
            nn.ReLU(),
            nn.Conv1d(64, 1, 1),
            nn.Sigmoid(),
        )

    def forward(self, mel: torch.Tensor, motion: torch.Tensor) -> torch.Tensor:
        music, moves = self.music_encoder(mel), self.motion_encoder(motion)
        if music.shape[1] != moves.shape[1]:
            raise ValueError(f"music gives {music.shape[1]} frames but the motion has {moves.shape[1]}")
        return self.fusion(torch.cat([music, moves], dim=2).transpose(1, 2)).transpose(1, 2)
