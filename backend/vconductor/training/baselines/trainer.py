"""Training the Table-2 baselines with the shared loop (checkpoints, resume, DDP, logs)."""

import numpy as np
import torch
import torch.nn.functional as F

from ...models import Discriminator, save_checkpoint
from ..config import BaselineConfig
from ..distributed import DistContext, wrap
from ..gan_stage import CriticLoss
from ..loop import StageTrainer, open_pieces
from .features import khmm_features, mfcc
from .models import CNNLSTMBaseline, FeatureGANGenerator, LSTMBaseline, contrastive_loss


class BaselineTrainer(StageTrainer):
    stage = "baseline"

    def __init__(self, cfg: BaselineConfig, ctx: DistContext):
        super().__init__(cfg, ctx)
        self.val_set = open_pieces(cfg, cfg.val_split, cfg.val_limit)
        torch.manual_seed(cfg.seed)
        model = {"lstm": LSTMBaseline, "cnn_lstm": CNNLSTMBaseline, "gan": FeatureGANGenerator}[cfg.kind]()
        self.model = model.to(self.device)
        self.ddp = wrap(self.model, ctx)
        self.optimizer = torch.optim.Adam(self.model.parameters(), lr=cfg.lr)
        self.critic = None
        if cfg.kind == "gan":
            self.critic = Discriminator().to(self.device)
            self.critic_loss = wrap(CriticLoss(self.critic, cfg.w_gp, "standard"), ctx)
            self.d_opt = torch.optim.Adam(self.critic.parameters(), lr=cfg.lr, betas=(0.5, 0.9))

    def state_parts(self):
        parts = {"model": self.model, "optimizer": self.optimizer}
        if self.critic is not None:
            parts.update(discriminator=self.critic, d_optimizer=self.d_opt)
        return parts

    def inputs(self, mel: torch.Tensor) -> torch.Tensor:
        """What the model reads: the mel itself (cnn_lstm) or features derived from it."""
        if self.cfg.kind == "cnn_lstm":
            return mel.to(self.device)
        fn = mfcc if self.cfg.kind == "lstm" else khmm_features
        return torch.from_numpy(np.stack([fn(m) for m in mel.numpy()])).to(self.device)

    def predict(self, x: torch.Tensor, gen: torch.Generator, module=None) -> torch.Tensor:
        module = module or self.ddp
        if self.cfg.kind == "gan":
            noise = torch.randn(x.shape[0], x.shape[1], FeatureGANGenerator.noise_dim, generator=gen)
            return module(x, noise.to(self.device))
        return module(x)

    def train_step(self, batch, gen):
        mel, real, _ = batch
        x, real = self.inputs(mel), real.to(self.device)
        self.model.train()
        out: dict[str, float] = {}
        if self.cfg.kind == "gan":
            with torch.no_grad():
                fake = self.predict(x, gen, self.model)
            self.critic.requires_grad_(True)
            for _ in range(self.cfg.n_critic):
                alpha = torch.rand(real.shape[0], 1, 1, 1, generator=gen).to(self.device)
                loss_d, w_dist, _ = self.critic_loss(real, fake, alpha)
                self.d_opt.zero_grad(set_to_none=True)
                loss_d.backward()
                self.d_opt.step()
            self.critic.requires_grad_(False)
            out["train/w_dis"] = w_dist.item()
        with self.autocast():
            fake = self.predict(x, gen)
            if self.cfg.kind == "gan":
                l1 = F.l1_loss(fake.float(), real)
                loss = -self.critic(fake).mean() + self.cfg.w_l1 * l1
                out["train/l1"] = l1.item()
            else:
                loss = F.mse_loss(fake.float(), real)
                out["train/mse"] = loss.item()
                if self.cfg.kind == "cnn_lstm":
                    con = contrastive_loss(self.model.encode(x), self.model.motion_embedding(real.flatten(2)))
                    loss = loss + self.cfg.w_contrastive * con
                    out["train/contrastive"] = con.item()
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        return {"train/loss": loss.item(), **out}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        from ...metrics import mse, rde, sdp

        self.model.eval()
        gen = torch.Generator().manual_seed(self.cfg.seed + 3000)
        reals, fakes = [], []
        for i in range(0, min(len(self.val_set), 4 * self.cfg.batch_size), self.cfg.batch_size):
            items = [self.val_set[j] for j in range(i, min(i + self.cfg.batch_size, len(self.val_set)))]
            mel = torch.stack([x[0] for x in items])
            fakes.append(self.predict(self.inputs(mel), gen, self.model).float().cpu().numpy())
            reals.append(torch.stack([x[1] for x in items]).numpy())
        real, fake = np.concatenate(reals), np.concatenate(fakes)
        return {"val/mse": mse(real, fake), "val/rde": rde(real, fake), "val/sdp": sdp(real, fake)}

    def export(self) -> None:
        meta = {"config": self.cfg.to_dict(), "step": self.step}
        save_checkpoint(
            self.model, self.out / f"baseline_{self.cfg.kind}.pt", f"baseline-{self.cfg.kind}", **meta
        )


def train_baseline(cfg: BaselineConfig, ctx: DistContext, resume: bool = False) -> dict[str, float]:
    return BaselineTrainer(cfg, ctx).run(resume)
