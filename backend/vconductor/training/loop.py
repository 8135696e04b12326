"""The step loop shared by every stage: epochs of shuffled batches, checkpoints, resume, evaluation, logs.

Reproducibility and exact resume: the model is initialised from ``seed``; the data order of each epoch comes
from DistributedSampler (seeded by ``seed`` and the epoch); every other random draw of a step (pair offsets,
noise, penalty mixing) comes from a generator seeded by (seed, rank, step). A resumed run therefore repeats
exactly what the killed run would have done from its last checkpoint (same weights on CPU, bit for bit).
"""

import json
import time
from pathlib import Path

import torch
from torch.utils.data import DataLoader, DistributedSampler

from ..data.dataset import ConductorMotionDataset
from ..models.checkpoints import written_atomically
from .checkpointing import (
    STATE_FILE,
    ResumeError,
    load_training_state,
    restore_rng_states,
    save_training_state,
)
from .config import RunConfig
from .distributed import DistContext, barrier, weight_spread
from .pairs import SamplePieces
from .runlog import RunLog

CONFIG_FILE = "config.json"
# Settings a resumed run may change: how long it runs, where and how it reports; not what it computes.
RESUMABLE_CHANGES = {
    "max_steps",
    "epochs",
    "checkpoint_every",
    "eval_every",
    "device",
    "workers",
    "tensorboard",
    "progress",
    "data_root",
    "out_dir",
}


def _plain(value):
    return list(value) if isinstance(value, tuple) else value


def step_generator(seed: int, rank: int, step: int) -> torch.Generator:
    """The random source of one optimiser step of one process (independent of how the run got there)."""
    return torch.Generator().manual_seed((seed * 1_000_003 + step * 7919 + rank * 104_729) % (2**63))


def open_pieces(cfg: RunConfig, split: str, limit: int | None) -> SamplePieces:
    return SamplePieces(ConductorMotionDataset(cfg.data_root, split, limit=limit), cfg.sample_length)


class StageTrainer:
    """Subclasses set ``stage`` and implement ``train_step``, ``evaluate``, ``export`` and ``state_parts``."""

    stage = ""

    def __init__(self, cfg: RunConfig, ctx: DistContext):
        cfg.validate()
        self.cfg, self.ctx = cfg, ctx
        self.device = ctx.device
        self.out = Path(cfg.out_dir)
        self.train_set = open_pieces(cfg, cfg.train_split, cfg.limit)
        pieces = f"{len(self.train_set)} pieces of {cfg.sample_length:g} s"
        self.start_loop_state(f"{cfg.data_root}/{cfg.train_split}: {pieces}")

    def start_loop_state(self, training_set: str) -> None:
        """The sampler over self.train_set, the step counters and the precision; `training_set` says what the
        set holds, for the error when it is too small for one step."""
        cfg, ctx = self.cfg, self.ctx
        if len(self.train_set) < cfg.batch_size * ctx.world_size:
            raise ValueError(
                f"{training_set}, fewer than one step needs ({cfg.batch_size} x {ctx.world_size} processes; "
                "lower --batch-size)"
            )
        self.sampler = DistributedSampler(
            self.train_set, ctx.world_size, ctx.rank, shuffle=True, seed=cfg.seed, drop_last=True
        )
        self.step = 0
        self.epoch = 0
        self.batch_in_epoch = 0
        self.amp_dtype = {"off": None, "bf16": torch.bfloat16, "fp16": torch.float16}[cfg.amp]
        if self.amp_dtype is not None and self.device.type != "cuda":
            raise ValueError("--amp needs a CUDA device (mixed precision on CPU is not faster here)")
        self.scaler = torch.amp.GradScaler("cuda", enabled=cfg.amp == "fp16")
        if self.device.type == "cuda":
            torch.backends.cudnn.benchmark = True

    # -- what each stage provides -------------------------------------------------------------------------
    def train_step(self, batch, gen: torch.Generator) -> dict[str, float]:
        raise NotImplementedError

    def evaluate(self) -> dict[str, float]:
        raise NotImplementedError

    def export(self) -> None:
        """Write the loadable weights (m2snet.pt / generator.pt ...) for the current step."""
        raise NotImplementedError

    def state_parts(self) -> dict[str, object]:
        """name -> object with state_dict()/load_state_dict(): models, optimisers."""
        raise NotImplementedError

    # -- shared machinery ----------------------------------------------------------------------------------
    def autocast(self):
        return torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None)

    def batches_of_epoch(self, epoch: int) -> list[list[int]]:
        self.sampler.set_epoch(epoch)
        order = list(self.sampler)
        b = self.cfg.batch_size
        return [order[i : i + b] for i in range(0, len(order) - b + 1, b)]

    def loader(self, batches: list[list[int]]):
        return DataLoader(
            self.train_set,
            batch_sampler=batches,
            num_workers=self.cfg.workers,
            pin_memory=self.device.type == "cuda",
            persistent_workers=False,
        )

    def save(self) -> None:
        if not self.ctx.is_main:
            return
        parts = {name: obj.state_dict() for name, obj in self.state_parts().items()}
        payload = {
            "stage": self.stage,
            "config": self.cfg.to_dict(),
            "step": self.step,
            "epoch": self.epoch,
            "batch_in_epoch": self.batch_in_epoch,
            "parts": parts,
            "scaler": self.scaler.state_dict(),
        }
        save_training_state(self.out / STATE_FILE, payload)
        self.export()

    def resume(self) -> None:
        state = load_training_state(self.out, self.stage)
        changed = [
            f"{k} {state['config'].get(k)!r} -> {v!r}"
            for k, v in self.cfg.to_dict().items()
            if k not in RESUMABLE_CHANGES and _plain(state["config"].get(k)) != _plain(v)
        ]
        if changed:
            raise ResumeError(
                f"{self.out / STATE_FILE}: the run was started with other settings ({'; '.join(changed)}); "
                "resume with the same ones or start a new --out"
            )
        for name, obj in self.state_parts().items():
            if name not in state["parts"]:
                raise ValueError(f"{self.out / STATE_FILE}: has no {name!r}; it was written by another setup")
            obj.load_state_dict(state["parts"][name])
        if state.get("scaler"):
            self.scaler.load_state_dict(state["scaler"])
        self.step, self.epoch, self.batch_in_epoch = state["step"], state["epoch"], state["batch_in_epoch"]
        restore_rng_states(state["rng"])

    def done(self) -> bool:
        return self.epoch >= self.cfg.epochs or (
            self.cfg.max_steps is not None and self.step >= self.cfg.max_steps
        )

    def run(self, resume: bool = False) -> dict[str, float]:
        log = self._open_run(resume)
        progress = self._progress_bar()
        last_eval: dict[str, float] = {}
        eval_step = -1
        start, steps_done = time.perf_counter(), 0
        while not self.done():
            batches = self.batches_of_epoch(self.epoch)
            for batch in self.loader(batches[self.batch_in_epoch :]):
                scalars = self.train_step(batch, step_generator(self.cfg.seed, self.ctx.rank, self.step))
                self.step += 1
                self.batch_in_epoch += 1
                steps_done += 1
                if self.batch_in_epoch == len(batches):
                    self.epoch, self.batch_in_epoch = self.epoch + 1, 0
                epoch_end = self.batch_in_epoch == 0
                self._log_step(log, progress, scalars)
                if self.step % self.cfg.checkpoint_every == 0:
                    self.save()
                if self._evaluation_due(epoch_end):
                    last_eval, eval_step = self.evaluate(), self.step
                    log.scalars(self.step, last_eval)
                    if progress is not None:
                        progress.write(f"step {self.step}: " + _fmt(last_eval))
                if self.done() or epoch_end:
                    break
        elapsed = time.perf_counter() - start
        if progress is not None:
            progress.close()
        steps_per_s = steps_done / elapsed if elapsed > 0 else 0.0
        return self._finish(log, last_eval if eval_step == self.step else None, steps_per_s)

    def _open_run(self, resume: bool) -> RunLog:
        """Resume, write config.json and open the logs; a new run then evaluates its initial weights (step 0).

        Resuming comes first: a refused resume leaves the run folder as it was. The logs keep what was logged
        up to the resumed step; steps after it, logged by the run that was killed, are done again."""
        if resume:
            self.resume()
        if self.ctx.is_main:
            with written_atomically(self.out / CONFIG_FILE) as tmp:
                tmp.write_text(json.dumps(self.cfg.to_dict(), indent=2) + "\n")
        barrier(self.ctx)
        log = RunLog(
            self.out, self.ctx.is_main, self.cfg.tensorboard, resumed_step=self.step if resume else None
        )
        if not resume and self.ctx.is_main:
            log.scalars(0, self.evaluate())
        return log

    def _progress_bar(self):
        if not (self.ctx.is_main and self.cfg.progress):
            return None
        from tqdm import tqdm

        total = self.cfg.max_steps or self.cfg.epochs * len(self.batches_of_epoch(0))
        return tqdm(total=total, initial=self.step, desc=f"train {self.stage}", unit="step")

    def _log_step(self, log: RunLog, progress, scalars: dict[str, float]) -> None:
        if self.ctx.is_main:
            log.scalars(self.step, {**scalars, "train/epoch": self.epoch})
        if progress is not None:
            progress.update(1)
            progress.set_postfix({k.split("/")[-1]: f"{v:.3f}" for k, v in list(scalars.items())[:3]})

    def _evaluation_due(self, epoch_end: bool) -> bool:
        every = self.cfg.eval_every
        return self.ctx.is_main and bool((every and self.step % every == 0) or (every is None and epoch_end))

    def _finish(
        self, log: RunLog, last_eval: dict[str, float] | None, steps_per_s: float
    ) -> dict[str, float]:
        """Final checkpoint, evaluation (unless this step was just evaluated), speed and DDP weight spread."""
        modules = [m for m in self.state_parts().values() if isinstance(m, torch.nn.Module)]
        spread = weight_spread(modules, self.ctx)
        self.save()
        if self.ctx.is_main:
            if self.ctx.distributed:
                log.scalars(self.step, {"ddp/weight_spread": spread})
            if last_eval is None:
                last_eval = self.evaluate()
                log.scalars(self.step, last_eval)
            samples_per_s = steps_per_s * self.cfg.batch_size * self.ctx.world_size
            log.scalars(self.step, {"speed/samples_per_s": samples_per_s})
        log.close()
        barrier(self.ctx)
        return last_eval or {}


def _fmt(values: dict[str, float]) -> str:
    return ", ".join(f"{k}={v:.4g}" for k, v in values.items())
