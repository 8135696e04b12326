"""Stage 1: train M2S-Net to tell in-sync music/motion pairs from out-of-sync ones.

Loss: binary cross-entropy on the time-averaged sync probability of the two positives and two negatives per
piece (the official loss). The curriculum uses easy negatives for the first ``easy_epochs`` epochs and then
``mode``. Validation reports the per-frame accuracy for each kind of negative (easy, hard, super-hard).

Speed-up over the official loop, same maths: the four pairs share encoder passes (each encoder runs once on
clip 1 and once on clip 2 instead of four times); batch-norm therefore sees the same batches but updates its
running statistics twice per step instead of four times.
"""

import torch
import torch.nn.functional as F
from torch import nn

from ..models import M2SNet, save_checkpoint
from .config import SyncConfig
from .distributed import DistContext, wrap
from .loop import StageTrainer, open_pieces
from .pairs import MODES, PairSpec, build_pairs

M2SNET_FILE = "m2snet.pt"


class PairScorer(nn.Module):
    """M2S-Net on two clips per piece -> per-frame sync probabilities of (1,1), (2,2), (1,2), (2,1): (4, N, L)."""

    def __init__(self, net: M2SNet):
        super().__init__()
        self.net = net

    def fuse(self, music: torch.Tensor, motion: torch.Tensor) -> torch.Tensor:
        return self.net.fusion(torch.cat([music, motion], dim=2).transpose(1, 2))[:, 0]

    def forward(self, music1, motion1, music2, motion2) -> torch.Tensor:
        mu1, mu2 = self.net.music_encoder(music1), self.net.music_encoder(music2)
        mo1, mo2 = self.net.motion_encoder(motion1), self.net.motion_encoder(motion2)
        if mu1.shape[1] != mo1.shape[1]:
            raise ValueError(f"music gives {mu1.shape[1]} frames but the motion has {mo1.shape[1]}")
        return torch.stack(
            [self.fuse(mu1, mo1), self.fuse(mu2, mo2), self.fuse(mu1, mo2), self.fuse(mu2, mo1)]
        )


POSITIVE = torch.tensor([1.0, 1.0, 0.0, 0.0])


def pair_loss(probs: torch.Tensor) -> torch.Tensor:
    """The official loss: BCE of each pair's time-averaged probability, summed over the four pairs."""
    mean = probs.float().mean(dim=2)  # (4, N)
    target = POSITIVE.to(mean.device)[:, None].expand_as(mean)
    return F.binary_cross_entropy(mean.clamp(1e-7, 1 - 1e-7), target, reduction="none").mean(dim=1).sum()


def frame_accuracy(probs: torch.Tensor) -> float:
    """Share of frames classified right over all four pairs (the official log counts (1,1) and (1,2) only)."""
    positive = POSITIVE.to(probs.device)[:, None, None] > 0.5
    return ((probs > 0.5) == positive).float().mean().item()


class SyncTrainer(StageTrainer):
    stage = "sync"

    def __init__(self, cfg: SyncConfig, ctx: DistContext):
        super().__init__(cfg, ctx)
        self.spec = PairSpec(
            cfg.sample_length,
            cfg.clip_length,
            cfg.hard_gap,
            tuple(cfg.super_hard_shift_s),
            cfg.official_super_hard,
        )
        self.val_set = open_pieces(cfg, cfg.val_split, cfg.val_limit)
        torch.manual_seed(cfg.seed)
        self.net = M2SNet().to(self.device)
        init_official(self.net)
        self.scorer = wrap(PairScorer(self.net), ctx)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)

    def state_parts(self):
        return {"m2snet": self.net, "optimizer": self.optimizer}

    def mode_of_epoch(self, epoch: int) -> str:
        return "easy" if epoch < self.cfg.easy_epochs else self.cfg.mode

    def train_step(self, batch, gen):
        mel, motion, rec = batch
        mode = self.mode_of_epoch(self.epoch)
        pairs = build_pairs(mel, motion, rec, self.spec, mode, gen)
        pairs = [x.to(self.device, non_blocking=True) for x in pairs]
        self.net.train()
        with self.autocast():
            probs = self.scorer(*pairs)
        loss = pair_loss(probs)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return {"train/loss": loss.item(), f"train/acc_{mode}": frame_accuracy(probs.detach())}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Per-frame accuracy on the validation pieces for each kind of negative, with fixed draws."""
        self.net.eval()
        scorer = PairScorer(self.net)
        out = {}
        b = max(2, self.cfg.batch_size)
        for k, mode in enumerate(MODES):
            gen = torch.Generator().manual_seed(self.cfg.seed + 1000 + k)
            correct, losses, count = 0.0, 0.0, 0
            for i in range(0, len(self.val_set), b):
                items = [self.val_set[j] for j in range(i, min(i + b, len(self.val_set)))]
                if len(items) < 2:
                    continue
                mel, motion = torch.stack([x[0] for x in items]), torch.stack([x[1] for x in items])
                rec = torch.tensor([x[2] for x in items])
                pairs = [x.to(self.device) for x in build_pairs(mel, motion, rec, self.spec, mode, gen)]
                with self.autocast():
                    probs = scorer(*pairs).float()
                correct += frame_accuracy(probs) * len(items)
                losses += pair_loss(probs).item() * len(items)
                count += len(items)
            if count:
                out[f"val/acc_{mode}"] = correct / count
                out[f"val/loss_{mode}"] = losses / count
        return out

    def export(self) -> None:
        save_checkpoint(self.net, self.out / M2SNET_FILE, "m2snet", config=self.cfg.to_dict(), step=self.step)


def init_official(net: nn.Module) -> None:
    """The official ``init_weight``: kaiming-normal (fan_out, relu) for every conv and linear weight."""
    for m in net.modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")


def train_sync(cfg: SyncConfig, ctx: DistContext, resume: bool = False) -> dict[str, float]:
    return SyncTrainer(cfg, ctx).run(resume)
