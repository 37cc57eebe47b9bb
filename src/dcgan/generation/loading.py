"""Rebuilding a generator or discriminator from a checkpoint alone: no flags, no code unpickled.

A run folder, a checkpoint folder or a weights ``.safetensors`` → the module in eval mode and its
metadata (architecture, config, step), via ``checkpoint.resolve_weights`` and the preset table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from .. import checkpoint as ckpt
from ..devices import pick_device
from ..errors import DcganError
from ..models import build_discriminator, build_generator
from . import batchnorm


def load_generator(target: str | Path, device: str = "cpu", bn: str | None = None,
                   ema: bool | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """A run folder, checkpoint folder or generator .safetensors -> (G in eval mode, metadata).

    ``bn``: the BatchNorm statistics to sample with (see batchnorm.py): ``precise`` re-estimates them
    for these weights, ``running`` keeps the stored ones; None: the run's ``sample_bn`` setting.
    ``meta["bn"]`` records which was used. ``ema``: a run trained with --ema samples its EMA
    generator unless this is False (True insists on it).
    """
    path = ckpt.resolve_weights(target, ckpt.G_FILE, ema)
    meta = ckpt.read_meta(path)
    if meta.get("format") != "dcgan-generator" or "arch" not in meta:
        raise DcganError(f"{path} is not a dcgan generator file (no architecture metadata)")
    G = build_generator(meta["arch"])
    ckpt.load_weights(G, path)
    G = G.to(pick_device(device))
    config = meta.get("config") or {}
    bn = batchnorm.check_mode(bn or config.get("sample_bn") or "precise")
    if batchnorm.has_batchnorm(G):
        meta["bn"] = bn
        if bn == "precise":
            batchnorm.recalibrate_(G, int(config.get("batch_size") or 256))
    return G.eval(), meta


def load_discriminator(target: str | Path, device: str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    path = ckpt.resolve_weights(target, ckpt.D_FILE)
    meta = ckpt.read_meta(path)
    if meta.get("format") != "dcgan-discriminator" or "arch" not in meta:
        raise DcganError(f"{path} is not a dcgan discriminator file")
    D = build_discriminator(meta["arch"])
    ckpt.load_weights(D, path)
    return D.to(pick_device(device)).eval(), meta
