"""Which BatchNorm statistics a generator samples with.

A generator with BatchNorm samples in inference mode with its *running* statistics, exponential
moving averages (Keras momentum 0.99 in the TensorFlow tutorial) of the batch statistics seen while
its weights were changing. Early in training they lag the current weights: after the README's two
epochs the running variance of the first layer still holds 0.99^470 ≈ 0.9 % of its initial 1.0,
50 % more than the true 0.018, and the tutorial's ``generator(seed, training=False)`` draws
near-black grids while the same weights in training mode draw digits.

``precise`` (the default) re-estimates the statistics for the weights as they are now, from a fixed
set of noise batches of the training batch size, on a copy of the generator ("precise BN",
Wu & Johnson, *Rethinking "Batch" in BatchNorm*, 2021), with ``torch.optim.swa_utils.update_bn``.
The training model, its checkpoints and the random streams of training are never touched.
``running`` uses the stored running statistics: the tutorial's inference exactly.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn
from torch.optim.swa_utils import update_bn

BN_MODES = ("precise", "running")
PRECISE_BATCHES = 8        # batches of the training batch size, so 2,048 samples at batch 256
PRECISE_SEED = 0x5EED_B7   # the recalibration noise is the same for every call


def has_batchnorm(G: nn.Module) -> bool:
    return any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in G.modules())


def check_mode(mode: str) -> str:
    if mode not in BN_MODES:
        from ..errors import DcganError
        raise DcganError(f"unknown BatchNorm statistics {mode!r}; choose one of {', '.join(BN_MODES)}")
    return mode


@torch.no_grad()
def recalibrate_(G: nn.Module, batch_size: int = 256, batches: int = PRECISE_BATCHES,
                 seed: int = PRECISE_SEED) -> nn.Module:
    """Replace G's BatchNorm running statistics, in place, by their average over ``batches`` fixed
    noise batches of ``batch_size`` passed through G as it is now. Leaves G in eval mode and the
    global random state as it was (dropout in G draws from it)."""
    if not has_batchnorm(G):
        return G.eval()
    device = next(G.parameters()).device
    g = torch.Generator().manual_seed(seed)
    noise = [torch.randn(batch_size, G.noise_dim, generator=g) for _ in range(batches)]
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices, device_type=device.type if devices else "cuda"):
        update_bn(noise, G, device=device)
    return G.eval()


@contextmanager
def inference(G: nn.Module, bn: str = "precise", batch_size: int = 256) -> Iterator[nn.Module]:
    """G ready to sample, for the length of a ``with``: a recalibrated copy (``precise``) or G itself
    in eval mode (``running``); G's own mode and weights are as they were afterwards."""
    check_mode(bn)
    if bn == "precise" and has_batchnorm(G):
        yield recalibrate_(copy.deepcopy(G), batch_size)
        return
    was = G.training
    G.eval()
    try:
        yield G
    finally:
        G.train(was)
