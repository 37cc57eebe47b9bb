"""Speed settings that leave the math alone: Adam's implementation, memory format, torch.compile.

Each default was chosen by measurement (see BENCHMARKS.md and ``dcgan bench``), per device type:

* ``--adam auto``: the fused kernel on CUDA (one launch for all parameters); on the CPU, foreach.
* ``--channels-last``: on by default on CUDA (x1.08 on an H100) and on the CPU (x1.01-1.17 for
  every preset on a 2-core AVX-512 CPU); off elsewhere (MPS: not measured).
* ``--cuda-graphs``: on CUDA by default where the recipe allows (graphs.py; x2.9-3.4 over eager
  for tf-tutorial on an H100).
* ``--compile``: off by default (compiling takes minutes on a small CPU and the step is dominated
  by convolutions, which compilation does not speed up).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn


if TYPE_CHECKING:
    from .config import TrainConfig
    from .distributed import Dist

@dataclass(frozen=True)
class Fast:
    adam: str             # foreach | fused | for-loop
    channels_last: bool

    def adam_kwargs(self, capturable: bool = False) -> dict[str, Any]:
        kw: dict[str, Any] = {"fused": True} if self.adam == "fused" else {"foreach": self.adam == "foreach"}
        if capturable:  # Adam's step count on the device, so a CUDA graph can replay the update
            kw["capturable"] = True
        return kw


def default_adam(device: torch.device) -> str:
    return "fused" if device.type == "cuda" else "foreach"


def default_channels_last(device: torch.device) -> bool:
    # H100, tf-tutorial, batch 256, graphed fp32: x1.08 (cuDNN's tensor-core kernels are NHWC).
    # 2-core AVX-512 CPU, every preset (benchmarks/compare_reference.py --model all): x1.01-1.17
    # over NCHW (oneDNN's NHWC kernels need no reorder per layer) once the "same" transposed
    # conv's crop kept the layout (it had made NHWC x0.57 there). BENCHMARKS.md has both.
    return device.type in ("cuda", "cpu")


def resolve(cfg: TrainConfig, device: torch.device) -> Fast:
    """This device's choice for the ``auto`` settings (the values themselves are checked by config)."""
    adam = default_adam(device) if cfg.adam == "auto" else cfg.adam
    channels_last = cfg.channels_last
    if channels_last is None:
        channels_last = default_channels_last(device)
    return Fast(adam=adam, channels_last=bool(channels_last))


IMPL_FLAGS = ("fused", "foreach", "capturable")


def load_optimizer(opt: torch.optim.Optimizer, saved: dict[str, Any]) -> None:
    """Load a saved optimiser state but keep this optimiser's kernel flags.

    ``Optimizer.load_state_dict`` takes every group setting from the file, so a run saved with fused
    or capturable Adam on a GPU would bring those flags to a CPU resume (where capturable Adam is
    refused). The flags only choose the kernel; the math is the same.
    """
    ours = [{k: g[k] for k in IMPL_FLAGS if k in g} for g in opt.param_groups]
    groups = [{**g, **flags} for g, flags in zip(saved["param_groups"], ours)]
    opt.load_state_dict({**saved, "param_groups": groups})


def wrap(G: nn.Module, D: nn.Module, compile: bool, dist: Dist) -> tuple[nn.Module, nn.Module]:
    """torch.compile, then DistributedDataParallel (``unwrap`` peels both off again)."""
    if compile:
        G, D = torch.compile(G), torch.compile(D)
    if dist.world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [dist.device.index] if dist.device.type == "cuda" else None
        G, D = DDP(G, device_ids=ids), DDP(D, device_ids=ids)
    return G, D


def unwrap(module: nn.Module) -> nn.Module:
    """The plain module under DistributedDataParallel and torch.compile wrappers (what is saved)."""
    while True:
        if hasattr(module, "_orig_mod"):
            module = module._orig_mod
        elif isinstance(module, nn.parallel.DistributedDataParallel):
            module = module.module
        else:
            return module
