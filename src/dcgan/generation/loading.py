"""Rebuilding a generator or discriminator from a checkpoint alone: no flags, no code unpickled.

A run folder, a checkpoint folder or a weights ``.safetensors`` → the module in eval mode and its
metadata (architecture, config, step), via ``checkpoint.resolve_weights`` and the preset table.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from torch import nn

from .. import checkpoint as ckpt
from ..devices import pick_device
from ..errors import DcganError
from ..models import build_discriminator, build_generator
from ..models.lean import default_labels
from ..models.bounds import check_arch, check_batch, footprint
from . import batchnorm


GENERATOR, EXPORT = "dcgan-generator", "dcgan-generator-export"  # checkpoints' G and `dcgan export`'s
EXTRA_FILE = "dcgan.json"  # TorchScript exports: the metadata, as an extra file of the archive


DISCRIMINATOR = "dcgan-discriminator"


def check_meta(meta: Any, path: Path | str, formats: tuple[str, ...]) -> dict[str, Any]:
    """The one schema of a weights file's (or an export's) metadata, which every loader applies
    before it builds anything: ``format`` one of ``formats``; ``arch`` one the preset table builds
    (``models.bounds.check_arch``: whole numbers in range); ``config`` an object whose
    ``batch_size`` is a positive whole number (its activations are bounded where it is used) and ``sample_bn`` a known mode; ``step`` a whole
    number; ``ema`` true or false; an export's ``noise.dim`` equal to the architecture's, and its
    ``classes``/``label_input`` those of a conditional architecture. Anything
    else is a one-line DcganError naming the field."""
    what = f"{path}'s metadata"
    if not isinstance(meta, dict) or meta.get("format") not in formats or "arch" not in meta:
        raise DcganError(f"{path} is not a dcgan {'discriminator' if DISCRIMINATOR in formats else 'generator'} "
                         "file (no architecture metadata)")
    arch = check_arch(meta["arch"], f"{what} (arch)")
    config = meta.get("config")
    if config is not None and not isinstance(config, dict):
        raise DcganError(f"{what} has a config that is a {type(config).__name__}, not an object")
    config = config or {}
    batch = config.get("batch_size")
    if batch is not None and not (isinstance(batch, int) and not isinstance(batch, bool) and batch >= 1):
        raise DcganError(f"{what} (config): batch size {batch!r} is not a positive whole number")
    if config.get("sample_bn") is not None and config["sample_bn"] not in batchnorm.BN_MODES:
        raise DcganError(f"{what} has sample_bn {config['sample_bn']!r}; it must be one of "
                         f"{', '.join(batchnorm.BN_MODES)}")
    step = meta.get("step")
    if step is not None and not (isinstance(step, int) and not isinstance(step, bool) and step >= 0):
        raise DcganError(f"{what} has step {step!r}; it must be a whole number >= 0")
    if not isinstance(meta.get("ema", False), bool):
        raise DcganError(f"{what} has ema {meta['ema']!r}; it must be true or false")
    noise = meta.get("noise")
    if noise is not None and not (isinstance(noise, dict) and noise.get("dim") == arch["noise_dim"]):
        raise DcganError(f"{what} has noise {noise!r}; it must be an object whose dim is the "
                         f"architecture's noise_dim ({arch['noise_dim']})")
    _check_labels(meta, arch, what)
    return meta


def _check_labels(meta: dict[str, Any], arch: dict[str, Any], what: str) -> None:
    """An export's ``classes`` (the class names, in label order) and ``label_input``: present
    together, and only when the architecture is conditional, naming the same classes."""
    names, label = meta.get("classes"), meta.get("label_input")
    if names is None and label is None:
        return
    if "classes" not in arch:
        raise DcganError(f"{what} has classes or label_input, but its architecture is not conditional")
    if names != arch["class_names"] or label != "y":
        raise DcganError(f"{what} has classes {names!r} and label_input {label!r}; they must be the "
                         "architecture's class_names and \"y\"")


def _build(build: Any, meta: dict[str, Any], path: Path, part: str) -> nn.Module:
    """The module ``meta["arch"]`` describes, with the weights of ``path``: its parameters counted
    and its tensors' shapes compared with the file's header first (on the meta device), so what is
    allocated is what the file holds."""
    expected = footprint(meta["arch"], part).shapes  # refuses over limits.MAX_PARAMETERS
    try:
        with safe_open(str(path), "pt") as fh:
            stored = {k: tuple(fh.get_slice(k).get_shape()) for k in fh.keys()}
    except (SafetensorError, OSError) as exc:
        raise DcganError(f"{path} is not a dcgan weights file ({exc})") from None
    if stored != expected:
        wrong = sorted(set(stored) ^ set(expected)) or [k for k in expected if stored[k] != expected[k]]
        raise DcganError(f"{path}'s tensors do not fit the architecture its metadata names (first: "
                         f"{wrong[0]}); was it edited or saved by another version?")
    module = build(meta["arch"])
    ckpt.load_weights(module, path)
    return module


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
    meta = check_meta(ckpt.read_meta(path), path, (GENERATOR, EXPORT))
    G = _build(build_generator, meta, path, "generator").to(pick_device(device))
    config = meta.get("config") or {}
    # An export carries the statistics chosen when it was written: sample with those by default.
    default = "running" if meta["format"] == EXPORT else (config.get("sample_bn") or "precise")
    bn = batchnorm.check_mode(bn or default)
    if batchnorm.has_batchnorm(G):
        meta["bn"] = bn
        if bn == "precise":
            # the training batch size, so the statistics are the ones training would estimate;
            # its activations are bounded first (a file can claim any batch size)
            batch = check_batch(meta["arch"], config.get("batch_size") or 256, f"{path}'s metadata (config)")
            batchnorm.recalibrate_(G, batch)
    return G.eval(), meta


def load_discriminator(target: str | Path, device: str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    path = ckpt.resolve_weights(target, ckpt.D_FILE)
    meta = check_meta(ckpt.read_meta(path), path, (DISCRIMINATOR,))
    D = _build(build_discriminator, meta, path, "discriminator")
    return D.to(pick_device(device)).eval(), meta


class ExportedGenerator(nn.Module):
    """A TorchScript or ONNX export used as a generator: noise (N, dim) -> images (N, C, H, W);
    a conditional one's (``classes`` > 0) also takes labels (N,); when none, the classes in
    proportion to ``class_prior`` (their shares of the data, as the run's own G draws them), or in
    turn where no shares were saved.

    Its BatchNorm statistics are the ones baked in when it was exported. ONNX runs in onnxruntime
    on the CPU; a TorchScript file is a program, so load only exports you trust (your own)."""

    def __init__(self, noise_dim: int, scripted: nn.Module | None = None, session: Any = None,
                 device: torch.device | None = None, classes: int = 0, class_prior: list[float] | None = None):
        super().__init__()
        self.noise_dim, self.classes, self.class_prior = noise_dim, classes, class_prior or None
        self.scripted, self.session = scripted, session
        # where it runs, for code that asks a generator's parameters (ONNX has none in torch)
        self.anchor = nn.Parameter(torch.zeros(0, device=device), requires_grad=False)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        inputs = (z,)
        if self.classes:
            inputs = (z, default_labels(0, len(z), self.classes, self.class_prior).to(z.device) if y is None else y)
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
            meta = check_meta(json.loads(extra[EXTRA_FILE] or "{}"), path, (EXPORT,))
            G = ExportedGenerator(meta["arch"]["noise_dim"], scripted=scripted, device=dev,
                                  classes=meta["arch"].get("classes", 0), class_prior=meta["arch"].get("class_prior"))
        else:
            import onnx
            import onnxruntime

            model = onnx.load(str(path))
            props = {p.key: p.value for p in model.metadata_props}
            meta = check_meta(json.loads(props.get("dcgan", "{}")), path, (EXPORT,))
            session = onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
            G = ExportedGenerator(meta["arch"]["noise_dim"], session=session, device=torch.device("cpu"),
                                  classes=meta["arch"].get("classes", 0), class_prior=meta["arch"].get("class_prior"))
    except DcganError:
        raise
    except ImportError:
        raise DcganError(f"{path} is an ONNX export; reading it needs onnx and onnxruntime: "
                         "pip install 'dcgan[export]'") from None
    except (KeyError, TypeError, ValueError) as exc:
        raise DcganError(f"{path} is not a dcgan export (no usable metadata: {exc})") from None
    except Exception as exc:  # torch.jit / onnx refuse damaged files with many exception types
        raise DcganError(f"{path} cannot be read as a TorchScript or ONNX export "
                         f"({type(exc).__name__}); export it again with `dcgan export`") from None
    meta["bn"] = meta.get("batchnorm_statistics")
    return G.eval(), meta
