"""Motion encoder of the paper: an ST-GCN over the 13-joint skeleton (used inside M2S-Net and the sync loss).

Layer for layer the official ``MotionEncoder_STGCN`` (docs/official-model.md#networks): input batch-norm over the 26
coordinates, ten spatial-temporal graph-convolution units with learned edge importance, then a per-frame
projection to 64 features.
"""

import torch
from torch import nn

from ..skeleton import GRAPH_EDGES, NUM_JOINTS

HIDDEN = 32
NUM_UNITS = 10


def normalized_adjacency() -> torch.Tensor:
    """Column-normalised adjacency with self-loops, (1, V, V): A[v, w] = adj[v, w] / deg(w)."""
    adj = torch.eye(NUM_JOINTS)
    for a, b in GRAPH_EDGES:
        adj[a, b] = adj[b, a] = 1.0
    return (adj / adj.sum(0, keepdim=True)).unsqueeze(0)


class STGCNUnit(nn.Module):
    """Graph convolution (1x1 conv mixed over joints by A) then a temporal conv (kernel 3), with residual."""

    def __init__(self, in_channels: int, out_channels: int, residual: bool):
        super().__init__()
        self.gcn = nn.Conv2d(in_channels, out_channels, 1)
        self.tcn = nn.Sequential(
            nn.BatchNorm2d(out_channels),
            nn.ReLU(),
            nn.Conv2d(out_channels, out_channels, (3, 1), padding=(1, 0)),
            nn.BatchNorm2d(out_channels),
            nn.Dropout(0.0),
        )
        self.residual = residual

    def forward(self, x: torch.Tensor, adjacency: torch.Tensor) -> torch.Tensor:
        h = torch.einsum("nctv,vw->nctw", self.gcn(x), adjacency)
        h = self.tcn(h)
        return torch.relu(h + x if self.residual else h)


class MotionEncoder(nn.Module):
    """motion (N, T, 13, 2) -> motion features (N, T, 64)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("adjacency", normalized_adjacency())
        self.input_bn = nn.BatchNorm1d(NUM_JOINTS * 2)
        self.units = nn.ModuleList(
            [STGCNUnit(2, HIDDEN, residual=False)]
            + [STGCNUnit(HIDDEN, HIDDEN, True) for _ in range(NUM_UNITS - 1)]
        )
        self.edge_importance = nn.ParameterList(
            [nn.Parameter(torch.ones(1, NUM_JOINTS, NUM_JOINTS)) for _ in range(NUM_UNITS)]
        )
        self.projection = nn.Sequential(nn.Conv1d(HIDDEN * NUM_JOINTS, 64, 1), nn.BatchNorm1d(64))

    @staticmethod
    def _frames(h: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V) -> (N, C*V, T), index c*V + v as the official reshape."""
        n, c, t, v = h.shape
        return h.permute(0, 1, 3, 2).reshape(n, c * v, t)

    def features(self, motion: torch.Tensor) -> list[torch.Tensor]:
        """The twelve maps of the official ``features()``: input BN, each unit, and the projection."""
        n, t, v, c = motion.shape
        x = self.input_bn(motion.permute(0, 2, 3, 1).reshape(n, v * c, t))  # channel index v*2 + c
        maps = [x]
        h = x.reshape(n, v, c, t).permute(0, 2, 3, 1)  # (N, C, T, V)
        for unit, importance in zip(self.units, self.edge_importance, strict=True):
            h = unit(h, (self.adjacency * importance)[0])
            maps.append(self._frames(h))
        maps.append(self.projection(maps[-1]))
        return maps

    def forward(self, motion: torch.Tensor) -> torch.Tensor:
        return self.features(motion)[-1].transpose(1, 2)
