"""Data-parallel training with PyTorch's own engine: torchrun + DistributedDataParallel + DistributedSampler.

`torchrun --nproc_per_node N -m vconductor train ...` sets WORLD_SIZE/RANK/LOCAL_RANK; every process then
trains on its share of each epoch and DDP averages the gradients. gloo on CPU, nccl on CUDA. Rank 0 alone logs,
evaluates and writes checkpoints. A plain run is world size 1 with the same code path.
"""

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from ..models import resolve_device


@dataclass(frozen=True)
class DistContext:
    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def setup(device: str) -> DistContext:
    """Join the process group started by torchrun (if any) and pick this process's device."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    resolved = resolve_device(device)
    if world <= 1:
        return DistContext(0, 1, resolved)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if resolved.type == "cuda":
        resolved = torch.device("cuda", local_rank)
        torch.cuda.set_device(resolved)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if resolved.type == "cuda" else "gloo")
    return DistContext(dist.get_rank(), dist.get_world_size(), resolved)


def wrap(module: torch.nn.Module, ctx: DistContext) -> torch.nn.Module:
    """DDP around `module` in a distributed run, else the module itself."""
    if not ctx.distributed:
        return module
    ids = [ctx.device.index] if ctx.device.type == "cuda" else None
    return DistributedDataParallel(module, device_ids=ids)


def barrier(ctx: DistContext) -> None:
    if ctx.distributed:
        dist.barrier()


def cleanup(ctx: DistContext) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()


def weight_spread(modules: list[torch.nn.Module], ctx: DistContext) -> float:
    """Largest difference of any parameter between the processes (0.0 when DDP kept them equal).

    Batch-norm running statistics are left out: DDP copies rank 0's at every forward, and after the last step
    each process holds its own batch's update (rank 0's are the ones saved).
    """
    tensors = [p.detach().float().flatten() for m in modules for p in m.parameters()]
    flat = torch.cat(tensors).to(ctx.device)
    if not ctx.distributed:
        return 0.0
    high, low = flat.clone(), flat.clone()
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    return (high - low).max().item()
