"""Speed settings that leave the math alone: Adam's implementation, memory format, torch.compile.

Each default was chosen by measurement (see BENCHMARKS.md and ``dcgan bench``), per device type:

* ``--adam auto``: the fused kernel on CUDA (one launch for all parameters); on the CPU, foreach.
* ``--channels-last``: off by default (on the 2-core CPU it was no faster; see BENCHMARKS.md).
* ``--compile``: off by default (compiling takes minutes on a small CPU and the step is dominated
  by convolutions, which compilation does not speed up).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from .errors import DcganError

if TYPE_CHECKING:
    from .config import TrainConfig
    from .distributed import Dist

ADAM_IMPLS = ("auto", "foreach", "fused", "for-loop")


@dataclass(frozen=True)
class Fast:
    adam: str             # foreach | fused | for-loop
    channels_last: bool

    def adam_kwargs(self) -> dict[str, Any]:
        if self.adam == "fused":
            return {"fused": True}
        return {"foreach": self.adam == "foreach"}


def default_adam(device: torch.device) -> str:
    return "fused" if device.type == "cuda" else "foreach"


def resolve(cfg: TrainConfig, device: torch.device) -> Fast:
    adam = getattr(cfg, "adam", "auto") or "auto"
    if adam not in ADAM_IMPLS:
        raise DcganError(f"unknown --adam {adam!r}; choose one of {', '.join(ADAM_IMPLS)}")
    if adam == "auto":
        adam = default_adam(device)
    return Fast(adam=adam, channels_last=bool(getattr(cfg, "channels_last", False)))


def wrap(G: nn.Module, D: nn.Module, compile: bool, dist: Dist) -> tuple[nn.Module, nn.Module]:
    """torch.compile, then DistributedDataParallel (checkpoint.unwrap peels both off again)."""
    if compile:
        G, D = torch.compile(G), torch.compile(D)
    if dist.world > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        ids = [dist.device.index] if dist.device.type == "cuda" else None
        G, D = DDP(G, device_ids=ids), DDP(D, device_ids=ids)
    return G, D
