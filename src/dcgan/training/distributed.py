"""Data-parallel training under torchrun, set up from its environment variables.

``torchrun --nproc_per_node N -m dcgan train ...`` starts N processes with RANK, WORLD_SIZE,
LOCAL_RANK (and MASTER_ADDR/PORT) set; without them everything here is a no-op (world size 1).

The semantics are chosen so a run means the same thing on any number of processes:

* ``--batch-size`` is the *global* batch: each of the N ranks takes every N-th index of each
  global batch of the epoch's permutation (so ``batch_size / N`` images per rank), and DDP averages
  the gradients, which is the gradient of the global batch. The learning rate is therefore the
  single-process one; nothing is rescaled.
* BatchNorm statistics are per rank (each normalises its own ``batch_size / N`` images), as DDP does.
* Rank 0 alone writes files; checkpoints hold the unwrapped modules and rank 0's state, and resume
  on any world size (the data position is a global batch index).
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from ..errors import DcganError

RANK_SEED_STRIDE = 1_000_033  # keeps each rank's noise/dropout stream apart from rank 0's


@dataclass
class Dist:
    rank: int = 0
    world: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")
    backend: str | None = None

    def describe(self) -> str:
        return f" x {self.world} processes ({self.backend})" if self.world > 1 else ""

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()


def setup(device_name: str = "auto") -> Dist:
    """Join the process group torchrun describes (gloo on CPU, nccl on CUDA); idempotent."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    rank, local_rank = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    use_cuda = device_name != "cpu" and torch.cuda.is_available()
    if device_name.startswith("cuda") and not torch.cuda.is_available():
        raise DcganError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu")
    if use_cuda:
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
        # N processes share the cores: give each its part instead of N x all of them.
        local_world = int(os.environ.get("LOCAL_WORLD_SIZE", str(world)))
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // local_world))
    backend = "nccl" if use_cuda else "gloo"
    if not torch.distributed.is_initialized():
        torch.distributed.init_process_group(backend, device_id=device if use_cuda else None)
    return Dist(rank, world, local_rank, device, backend)


def local_batch(batch_size: int, world: int) -> int:
    if batch_size % world:
        raise DcganError(f"--batch-size {batch_size} is the global batch and must divide evenly "
                         f"among the {world} processes; use a multiple of {world}")
    return batch_size // world


def broadcast(obj, dist: Dist):
    """Rank 0's value of a picklable object, on every rank."""
    if dist.world <= 1:
        return obj
    box = [obj]
    torch.distributed.broadcast_object_list(box, src=0)
    return box[0]


def all_gather(obj, dist: Dist) -> list:
    """Every rank's value of a picklable object (tensors come back on the CPU), on every rank."""
    if dist.world <= 1:
        return [obj]
    out = [None] * dist.world
    torch.distributed.all_gather_object(out, obj)
    return [_cpu(o) for o in out]


def _cpu(obj):
    if isinstance(obj, torch.Tensor):
        return obj.cpu()
    if isinstance(obj, dict):
        return {k: _cpu(v) for k, v in obj.items()}
    return obj


def all_mean(t: torch.Tensor, dist: Dist) -> torch.Tensor:
    if dist.world > 1:
        t = t.clone()
        torch.distributed.all_reduce(t)
        t /= dist.world
    return t
