"""Stage 2: M2S-GAN. The generator's music encoder and the sync-loss motion encoder come from stage 1, frozen.

Per step (as the official loop, docs/official-model.md#training): one fake batch G(mel, z); ``n_critic`` critic steps on it (the official reuse of
one fake batch; ``fresh_fakes`` draws new noise per critic step), each minimising
-mean D(real) + mean D(fake) + w_gp * GP; then one generator step minimising
w_adv * -mean D(fake) + w_sync * L1(E_motion(fake), E_motion(real)) + w_mse * MSE(fake, real).
RMSprop(5e-4) for both. The discriminator is saved beside the generator.

"Frozen" means requires_grad False *and* eval mode, so batch-norm statistics do not move; the official code
leaves them in train mode (freezing only turns gradients off), available as ``official_encoder_bn``.
"""

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..models import Discriminator, Generator, load_m2snet, save_checkpoint
from .config import GanConfig
from .distributed import DistContext, wrap
from .loop import StageTrainer, open_pieces
from .pairs import SamplePieces
from .sync_stage import M2SNET_FILE

GENERATOR_FILE = "generator.pt"
DISCRIMINATOR_FILE = "discriminator.pt"


def gradient_penalty(critic: nn.Module, real, fake, alpha, kind: str) -> torch.Tensor:
    """WGAN-GP term at x = alpha * real + (1 - alpha) * fake.

    "official": (||grad||_F - 0)^2 with one Frobenius norm over the whole batch (the official code's);
    "standard": mean over samples of (||grad_n|| - 1)^2 (Gulrajani et al.).
    """
    mixed = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(mixed).sum(), mixed, create_graph=True)
    if kind == "official":
        return grad.pow(2).sum()
    return (grad.flatten(1).norm(dim=1) - 1).pow(2).mean()


class CriticLoss(nn.Module):
    """-mean D(real) + mean D(fake) + w_gp * GP, as one module so DDP sees one forward per backward."""

    def __init__(self, critic: Discriminator, w_gp: float, gp: str):
        super().__init__()
        self.critic, self.w_gp, self.gp = critic, w_gp, gp

    def forward(self, real, fake, alpha):
        d_real, d_fake = self.critic(real).mean(), self.critic(fake).mean()
        gp = gradient_penalty(self.critic, real, fake, alpha, self.gp)
        return d_fake - d_real + self.w_gp * gp, d_real.detach() - d_fake.detach(), gp.detach()


class FeatureGenerator(nn.Module):
    """The generator after its music encoder: (music features (N, L, 64), z) -> motion, for cached features."""

    def __init__(self, generator: Generator):
        super().__init__()
        self.generator = generator

    def forward(self, music: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        return self.generator.decode(music, self.generator.noise_upsampler(z))


class IndexedPieces(SamplePieces):
    """Pieces that also give their own index (the key of the music-feature cache)."""

    def __getitem__(self, i: int):
        return (*super().__getitem__(i), i)


def resolve_sync_checkpoint(path: str) -> Path:
    p = Path(path)
    return p / M2SNET_FILE if p.is_dir() else p


class GanTrainer(StageTrainer):
    stage = "gan"

    def __init__(self, cfg: GanConfig, ctx: DistContext):
        super().__init__(cfg, ctx)
        self.val_set = open_pieces(cfg, cfg.val_split, cfg.val_limit)
        m2snet = load_m2snet(resolve_sync_checkpoint(cfg.sync_checkpoint))
        torch.manual_seed(cfg.seed)
        self.generator = Generator()
        init_generator_official(self.generator)
        self.generator.music_encoder.load_state_dict(m2snet.music_encoder.state_dict())
        self.generator.music_encoder.requires_grad_(False)
        self.motion_encoder = m2snet.motion_encoder.requires_grad_(False)
        self.critic = Discriminator()
        self.generator.to(self.device)
        self.critic.to(self.device)
        self.motion_encoder.to(self.device)
        # A frozen encoder in eval mode maps each piece to fixed features: compute them once, one piece at a time
        # (so the values do not depend on batch composition and resumed runs stay exact).
        self.cache_music = cfg.cache_music_features and not cfg.official_encoder_bn
        self.music_cache: dict[int, torch.Tensor] = {}
        if self.cache_music:
            self.train_set = IndexedPieces(self.train_set.dataset, cfg.sample_length)
            self.g_ddp = wrap(FeatureGenerator(self.generator), ctx)
        else:
            self.g_ddp = wrap(self.generator, ctx)
        self.critic_loss = wrap(CriticLoss(self.critic, cfg.w_gp, cfg.gp), ctx)
        trainable = [p for p in self.generator.parameters() if p.requires_grad]
        self.g_opt = torch.optim.RMSprop(trainable, lr=cfg.lr)
        self.d_opt = torch.optim.RMSprop(self.critic.parameters(), lr=cfg.lr)
        self.seconds = int(round(cfg.sample_length))

    def state_parts(self):
        parts = {"generator": self.generator, "discriminator": self.critic, "g_optimizer": self.g_opt}
        parts["d_optimizer"] = self.d_opt
        if self.cfg.official_encoder_bn:  # the sync-loss encoder's statistics move too: keep them
            parts["motion_encoder"] = self.motion_encoder
        return parts

    def train_modes(self) -> None:
        self.generator.train()
        self.critic.train()
        official = self.cfg.official_encoder_bn
        self.generator.music_encoder.train(official)
        self.motion_encoder.train(official)

    @torch.no_grad()
    def cached_music(self, mel: torch.Tensor, pieces: list[int]) -> torch.Tensor:
        """Music features of the batch's pieces, computed on first use (frozen encoder, eval mode)."""
        for row, piece in enumerate(pieces):
            if piece not in self.music_cache:
                self.music_cache[piece] = self.generator.music_encoder(mel[row : row + 1].float())[0]
        return torch.stack([self.music_cache[p] for p in pieces])

    def sync_loss(self, fake, real) -> torch.Tensor:
        with torch.no_grad():
            target = self.motion_encoder.features(real)[-1]
        return F.l1_loss(self.motion_encoder.features(fake)[-1], target)

    def train_step(self, batch, gen):
        cfg = self.cfg
        mel, real = (x.to(self.device, non_blocking=True) for x in batch[:2])
        n = real.shape[0]
        self.train_modes()
        z = torch.randn(n, self.seconds, 8, generator=gen).to(self.device)
        with self.autocast():
            fake = self.g_ddp(self.cached_music(mel, batch[3].tolist()) if self.cache_music else mel, z)
        fake_for_critic = fake.detach().float()
        self.critic.requires_grad_(True)
        for k in range(cfg.n_critic):
            if cfg.fresh_fakes and k > 0:
                z_k = torch.randn(n, self.seconds, 8, generator=gen).to(self.device)
                with torch.no_grad(), self.autocast():
                    fake_for_critic = self.generator(mel, z_k).float()
            alpha = torch.rand(n, 1, 1, 1, generator=gen).to(self.device)
            loss_d, w_dist, gp = self.critic_loss(real, fake_for_critic, alpha)  # fp32: the penalty is touchy
            self.d_opt.zero_grad(set_to_none=True)
            loss_d.backward()
            self.d_opt.step()
        self.critic.requires_grad_(False)
        with self.autocast():
            adv = -self.critic(fake).mean()
            sync = self.sync_loss(fake, real)
            mse = F.mse_loss(fake.float(), real)
            loss_g = cfg.w_adv * adv + cfg.w_sync * sync + cfg.w_mse * mse
        self.g_opt.zero_grad(set_to_none=True)
        self.scaler.scale(loss_g).backward()
        self.scaler.step(self.g_opt)
        self.scaler.update()
        return {
            "train/loss_g": loss_g.item(),
            "train/w_dis": w_dist.item(),
            "train/sync_loss": sync.item(),
            "train/gp": gp.item(),
            "train/loss_d": loss_d.item(),
        }

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """RDE, SDP (vconductor.metrics, official definitions), sync loss and W-dis on validation pieces."""
        from ..metrics import rde, sdp

        self.generator.eval()
        self.critic.eval()
        self.motion_encoder.eval()
        gen = torch.Generator().manual_seed(self.cfg.seed + 2000)
        b = self.cfg.batch_size
        reals, fakes, sync, w = [], [], [], []
        for i in range(0, min(len(self.val_set), b * self.cfg.eval_batches), b):
            items = [self.val_set[j] for j in range(i, min(i + b, len(self.val_set)))]
            mel = torch.stack([x[0] for x in items]).to(self.device)
            real = torch.stack([x[1] for x in items]).to(self.device)
            z = torch.randn(len(items), self.seconds, 8, generator=gen).to(self.device)
            fake = self.generator(mel, z).float()
            sync.append(self.sync_loss(fake, real).item() * len(items))
            w.append((self.critic(real).mean() - self.critic(fake).mean()).item() * len(items))
            reals.append(real.cpu().numpy())
            fakes.append(fake.cpu().numpy())
        real_np, fake_np = np.concatenate(reals), np.concatenate(fakes)
        count = len(real_np)
        return {
            "val/rde": rde(real_np, fake_np),
            "val/sdp": sdp(real_np, fake_np),
            "val/sync_loss": sum(sync) / count,
            "val/w_dis": sum(w) / count,
        }

    def export(self) -> None:
        meta = {"config": self.cfg.to_dict(), "step": self.step}
        save_checkpoint(self.generator, self.out / GENERATOR_FILE, "generator", **meta)
        save_checkpoint(self.critic, self.out / DISCRIMINATOR_FILE, "discriminator", **meta)


def init_generator_official(generator: Generator) -> None:
    """The official extra init: N(0, 0.01) for the TCN's linear layer and block 0's 1x1 shortcut.

    (The official N(0, 0.01) of the weight-normed convs has no effect, since weight norm recomputes the weight
    from g and v, so it is not repeated.)
    """
    with torch.no_grad():
        generator.decoder.linear.weight.normal_(0, 0.01)
        generator.decoder.blocks[0].shortcut.weight.normal_(0, 0.01)


def train_gan(cfg: GanConfig, ctx: DistContext, resume: bool = False) -> dict[str, float]:
    return GanTrainer(cfg, ctx).run(resume)
