"""Rebuilding a generator or discriminator from a checkpoint alone: no flags, no code unpickled.

A run folder, a checkpoint folder or a weights ``.safetensors`` → the module in eval mode and its
metadata (architecture, config, step), via ``checkpoint.resolve_weights`` and the preset table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import checkpoint as ckpt
from ..devices import pick_device
from ..errors import DcganError
from ..models import build_discriminator, build_generator
from . import batchnorm


GENERATOR, EXPORT = "dcgan-generator", "dcgan-generator-export"  # checkpoints' G and `dcgan export`'s
EXTRA_FILE = "dcgan.json"  # TorchScript exports: the metadata, as an extra file of the archive


def load_generator(target: str | Path, device: str = "cpu", bn: str | None = None,
                   ema: bool | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """A run folder, checkpoint folder, generator .safetensors, or an export of ``dcgan export``
(.safetensors, TorchScript .pt, ONNX .onnx) -> (G in eval mode, metadata).

    ``bn``: the BatchNorm statistics to sample with (see batchnorm.py): ``precise`` re-estimates them
    for these weights, ``running`` keeps the stored ones; None: the run's ``sample_bn`` setting.
    ``meta["bn"]`` records which was used. ``ema``: a run trained with --ema samples its EMA
    generator unless this is False (True insists on it).
    """
    if Path(target).suffix.lower() in (".pt", ".onnx") and Path(target).is_file():
        return _load_export(Path(target), device, bn)
    path = ckpt.resolve_weights(target, ckpt.G_FILE, ema)
    meta = ckpt.read_meta(path)
    if meta.get("format") not in (GENERATOR, EXPORT) or "arch" not in meta:
        raise DcganError(f"{path} is not a dcgan generator file (no architecture metadata)")
    G = build_generator(meta["arch"])
    ckpt.load_weights(G, path)
    G = G.to(pick_device(device))
    config = meta.get("config") or {}
    # An export carries the statistics chosen when it was written: sample with those by default.
    default = "running" if meta["format"] == EXPORT else (config.get("sample_bn") or "precise")
    bn = batchnorm.check_mode(bn or default)
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


class ExportedGenerator(nn.Module):
    """A TorchScript or ONNX export used as a generator: noise (N, dim) -> images (N, C, H, W);
    a conditional one's (``classes`` > 0) also takes labels (N,), the classes in turn when none.

    Its BatchNorm statistics are the ones baked in when it was exported. ONNX runs in onnxruntime
    on the CPU; a TorchScript file is a program, so load only exports you trust (your own)."""

    def __init__(self, noise_dim: int, scripted: nn.Module | None = None, session: Any = None,
                 device: torch.device | None = None, classes: int = 0):
        super().__init__()
        self.noise_dim, self.classes = noise_dim, classes
        self.scripted, self.session = scripted, session
        # where it runs, for code that asks a generator's parameters (ONNX has none in torch)
        self.anchor = nn.Parameter(torch.zeros(0, device=device), requires_grad=False)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        inputs = (z,)
        if self.classes:
            inputs = (z, torch.arange(len(z), device=z.device) % self.classes if y is None else y)
        if self.scripted is not None:
            return self.scripted(*inputs)
        feed = {"z": z.detach().float().cpu().numpy()}
        if self.classes:
            feed["y"] = inputs[1].detach().long().cpu().numpy()
        (out,) = self.session.run(["images"], feed)
        return torch.from_numpy(out).to(z.device)


def _load_export(path: Path, device: str, bn: str | None) -> tuple[nn.Module, dict[str, Any]]:
    import json

    if bn == "precise":
        raise DcganError(f"{path} is an export with its BatchNorm statistics baked in; sample it "
                         "without --bn precise, or give the run folder to re-estimate them")
    dev = pick_device(device)
    try:
        if path.suffix.lower() == ".pt":
            extra = {EXTRA_FILE: ""}
            scripted = torch.jit.load(str(path), map_location=dev, _extra_files=extra)
            meta = json.loads(extra[EXTRA_FILE] or "{}")
            G = ExportedGenerator(int(meta["noise"]["dim"]), scripted=scripted, device=dev,
                                  classes=len(meta.get("classes") or []))
        else:
            import onnx
            import onnxruntime

            model = onnx.load(str(path))
            props = {p.key: p.value for p in model.metadata_props}
            meta = json.loads(props.get("dcgan", "{}"))
            session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
            G = ExportedGenerator(int(meta["noise"]["dim"]), session=session, device=torch.device("cpu"),
                                  classes=len(meta.get("classes") or []))
    except ImportError:
        raise DcganError(f"{path} is an ONNX export; reading it needs onnx and onnxruntime: "
                         "pip install 'dcgan[export]'") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise DcganError(f"{path} is not a dcgan export (no usable metadata: {exc})") from None
    except Exception as exc:  # torch.jit / onnx refuse damaged files with many exception types
        raise DcganError(f"{path} cannot be read as a TorchScript or ONNX export "
                         f"({type(exc).__name__}); export it again with `dcgan export`") from None
    if meta.get("format") != EXPORT or "arch" not in meta:
        raise DcganError(f"{path} is not a dcgan export (no architecture metadata)")
    meta["bn"] = meta.get("batchnorm_statistics")
    return G.eval(), meta
