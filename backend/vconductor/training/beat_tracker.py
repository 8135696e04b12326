"""`vconductor train beats DATA --out RUN`: train the beat tracker's network (beat_tracking.BeatTCN).

Random excerpts of `sample_length` seconds from the training works, Adam, binary cross-entropy on the beat
and downbeat targets (beat_samples.py); validation on whole samples of other works: the same loss plus the beat
and downbeat F-measure (+-70 ms) of simple peak picking. The step loop, checkpoints, exact resume and logs
(metrics.csv, TensorBoard) are the shared ones of loop.StageTrainer. The weights go to RUN/beat_tracker.pt.
"""

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ..beat_tracking import FRAME_RATE, BeatNetworkConfig, beats_and_downbeats
from ..beat_tracking.network import BeatTCN
from ..beat_tracking.numpy_network import WeightsError, export_npz, load_npz
from ..beat_tracking.torch_inference import array_activations
from ..beat_tracking.weights import load_beat_tracker, save_beat_tracker
from ..contract import atomic_output
from ..metrics.beats import beat_f_measure
from .beat_config import BeatTrainConfig
from .beat_frame_store import FrameStore, store_batch
from .beat_samples import ExcerptAugment, excerpt_batch, list_samples, load_samples, masked_bce, split_by_work
from .distributed import DistContext, wrap
from .loop import StageTrainer

WEIGHTS_FILE = "beat_tracker.pt"
RUNTIME_WEIGHTS_FILE = (
    "beat_tracker.npz"  # what the package ships (vconductor/data/), run by the numpy network
)
SPLIT_FILE = "split.json"
F_TOLERANCE_S = 0.07  # the usual beat-tracking tolerance (mir_eval's)


class BeatTrainer(StageTrainer):
    stage = "beats"

    def __init__(self, cfg: BeatTrainConfig, ctx: DistContext):
        cfg.validate()
        self.cfg, self.ctx, self.device, self.out = cfg, ctx, ctx.device, Path(cfg.out_dir)
        train_files, val_files = split_by_work(list_samples(cfg.data_root), cfg.val_fraction)
        self.split = {
            "train": sorted({s.work for s in train_files}),
            "val": sorted({s.work for s in val_files}),
        }
        progress = cfg.progress and ctx.is_main
        self.train_set = load_samples(cfg.data_root, train_files[: cfg.limit], progress)
        self.val_set = load_samples(cfg.data_root, val_files[: cfg.val_limit], progress)
        self.excerpt_frames = round(cfg.sample_length * FRAME_RATE)
        self.augment = ExcerptAugment(cfg.max_stretch, cfg.max_band_shift, cfg.noise)
        # On a GPU the excerpts are cut there: numpy's per-excerpt work would leave it waiting.
        self.store = FrameStore(self.train_set, self.device) if self.device.type == "cuda" else None
        self.start_loop_state(f"{cfg.data_root}: {len(self.train_set)} training samples")
        torch.manual_seed(cfg.seed)
        shape = BeatNetworkConfig(
            flux=not cfg.no_flux, channels=cfg.channels, frontend_channels=cfg.frontend_channels
        )
        self.net = BeatTCN(shape)
        if cfg.init:
            self.net.load_state_dict(initial_weights(cfg.init, self.net))
        self.net.to(self.device)
        self.model = wrap(self.net, ctx)
        self.optimizer = torch.optim.Adam(self.net.parameters(), lr=cfg.lr)

    def loader(self, batches: list[list[int]]):
        return batches  # sample indices: train_step cuts the excerpts with the step's own random generator

    def state_parts(self):
        return {"beat_tcn": self.net, "optimizer": self.optimizer}

    def learning_rate(self) -> float:
        """The step's learning rate: cosine decay from lr to 5 % of it over the run (a function of the step, so
        a resumed run continues the same schedule)."""
        if self.cfg.lr_decay == "constant":
            return self.cfg.lr
        total = self.cfg.max_steps or self.cfg.epochs * len(self.batches_of_epoch(0))
        progress = min(1.0, self.step / max(1, total))
        return float(
            self.cfg.lr * (0.05 + 0.95 * 0.5 * (1 + np.cos(np.pi * progress)))
        )  # a plain float: weights_only

    def train_step(self, batch, gen):
        for group in self.optimizer.param_groups:
            group["lr"] = self.learning_rate()
        if self.store is not None:
            frames, targets, mask = store_batch(self.store, batch, self.excerpt_frames, gen, self.augment)
        else:
            frames, targets, mask = excerpt_batch(
                [self.train_set[i] for i in batch], self.excerpt_frames, gen, self.augment
            )
        frames, targets, mask = (t.to(self.device, non_blocking=True) for t in (frames, targets, mask))
        self.net.train()
        with self.autocast():
            logits = self.model(frames)
        loss, per_output = masked_bce(logits.float(), targets, mask, self.cfg.downbeat_weight)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        beat, downbeat = per_output.tolist()
        return {"train/loss": loss.item(), "train/beat_loss": beat, "train/downbeat_loss": downbeat}

    @torch.no_grad()
    def evaluate(self) -> dict[str, float]:
        """Loss over every validation frame, and the mean F-measures of peak-picked beats and downbeats."""
        losses, frames, beat_f, downbeat_f = np.zeros(2), 0, [], []
        for s in self.val_set:
            act = array_activations(self.net, np.asarray(s.frames, np.float32))
            probs = torch.from_numpy(act.T).clamp(1e-7, 1 - 1e-7)
            bce = F.binary_cross_entropy(probs, torch.from_numpy(s.targets), reduction="none").sum(dim=1)
            losses += bce.numpy()
            frames += act.shape[0]
            beats, downbeats = beats_and_downbeats(act)
            beat_f.append(beat_f_measure(beats, s.beats_s, F_TOLERANCE_S)[0])
            downbeat_f.append(beat_f_measure(downbeats, s.downbeats_s, F_TOLERANCE_S)[0])
        if not frames:
            return {}
        beat_loss, downbeat_loss = losses / frames
        return {
            "val/loss": beat_loss + downbeat_loss,
            "val/beat_loss": beat_loss,
            "val/downbeat_loss": downbeat_loss,
            "val/beat_f": float(np.mean(beat_f)),
            "val/downbeat_f": float(np.mean(downbeat_f)),
        }

    def export(self) -> None:
        save_beat_tracker(self.net, self.out / WEIGHTS_FILE, step=self.step, training=self.cfg.to_dict())
        export_npz(self.net.state_dict(), self.net.cfg, self.out / RUNTIME_WEIGHTS_FILE, step=self.step)
        with atomic_output(self.out / SPLIT_FILE) as tmp:
            tmp.write_text(json.dumps(self.split, indent=1) + "\n", encoding="utf-8")


WIDENED = ("channels", "frontend_channels")  # what --init may grow; every other setting must match


def initial_weights(path: str | Path, net: BeatTCN) -> dict[str, torch.Tensor]:
    """The state dict of a weights file to fine-tune `net` from: our .pt (weights_only) or a runtime .npz
    (allow_pickle=False), widened when its network is narrower (`widened`); ValueError in one line when it is
    unreadable or another network."""
    path = Path(path)
    if path.suffix == ".npz":
        try:
            numpy_net, _ = load_npz(path)
        except WeightsError as exc:
            raise ValueError(f"--init: {exc}") from None
        found, state = numpy_net.cfg, {k: torch.from_numpy(v.copy()) for k, v in numpy_net.w.items()}
    else:
        loaded, _ = load_beat_tracker(path)  # a CheckpointError (ValueError) names the file
        found, state = loaded.cfg, loaded.state_dict()
    wanted, had = net.cfg.to_dict(), found.to_dict()
    differ = [f"{k} {v} (this run: {wanted[k]})" for k, v in had.items() if v != wanted[k]]
    if any(k not in WIDENED or had[k] > wanted[k] for k, v in had.items() if v != wanted[k]):
        raise ValueError(f"--init {path}: another network: {'; '.join(differ)}")
    return widened(state, net.state_dict()) if differ else state


def widened(narrow: dict[str, torch.Tensor], wide: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """A wider network computing what the narrow one did (net2net-style): each narrow tensor in the top-left
    corner of the wide one; new units keep their fresh random weights from every input, and old units and the
    outputs read nothing from new units (zeros), so the new units change nothing until training uses them."""
    out = {}
    for name, fresh in wide.items():
        old = narrow[name]
        grown = fresh.clone()
        corner = tuple(slice(0, n) for n in old.shape)
        if grown.dim() > 1:
            grown[: old.shape[0], old.shape[1] :] = 0.0
        grown[corner] = old
        out[name] = grown
    return out


def train_beats(cfg: BeatTrainConfig, ctx: DistContext, resume: bool = False) -> dict[str, float]:
    return BeatTrainer(cfg, ctx).run(resume)
