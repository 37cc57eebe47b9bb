"""Exporting the generator alone, for use without dcgan: safetensors, TorchScript or ONNX.

Every export carries the same metadata, so a consumer needs nothing else to draw images:

    {"format": "dcgan-generator-export", "model": "tf-tutorial", "noise": {"distribution": "normal",
     "mean": 0.0, "std": 1.0, "dim": 100}, "resolution": 28, "channels": 1,
     "output_range": [-1.0, 1.0], "layout": "NCHW", "input": "z", "output": "images", ...}

* safetensors: the weights; the metadata as JSON strings in the file header (``arch`` rebuilds the
  network with ``dcgan.models.build_generator``);
* TorchScript: a traced module (``torch.jit.load`` runs it with torch alone); the metadata in the
  archive's extra file ``dcgan.json``;
* ONNX: input ``z`` (batch, dim), output ``images`` (batch, C, H, W), dynamic batch; the metadata
  in the model's ``metadata_props`` (key ``dcgan``, JSON) — runs in onnxruntime.

A class-conditional generator (``--cond``) takes a second input, ``y`` (batch,) int64 labels
(TorchScript: ``G(z, y)``); its metadata names it (``"label_input": "y"``) and lists the classes
in label order (``"classes"``).
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import torch

from ..errors import DcganError
from ..fsutil import atomic_write
from .loading import EXPORT, EXTRA_FILE

FORMATS = ("safetensors", "torchscript", "onnx")
ONNX_KEY = "dcgan"
ONNX_OPSET = 17
SUFFIX = {".safetensors": "safetensors", ".pt": "torchscript", ".ts": "torchscript",
          ".torchscript": "torchscript", ".onnx": "onnx"}


def export_metadata(meta: dict[str, Any]) -> dict[str, Any]:
    arch = meta["arch"]
    noise = meta.get("noise") or {"distribution": "normal", "mean": 0.0, "std": 1.0,
                                  "dim": arch["noise_dim"]}
    return {"format": EXPORT, "model": arch["model"], "arch": arch, "noise": noise,
            "resolution": arch["resolution"], "channels": arch["channels"],
            "output_range": meta.get("output_range", [-1.0, 1.0]), "layout": "NCHW",
            "input": "z", "output": "images", "step": meta.get("step"),
            "data": (meta.get("config") or {}).get("data"), "dcgan_version": meta.get("dcgan_version"),
            "ema": bool(meta.get("ema")), "batchnorm_statistics": meta.get("bn"),
            **({"label_input": "y", "classes": list(arch["class_names"])}
               if arch.get("cond", "none") != "none" else {})}


def export(target: str | Path, fmt: str | None = None, out: str | Path | None = None,
           card: bool = True) -> Path:
    """Write the generator of ``target`` (run, checkpoint or .safetensors) as ``fmt`` to ``out``,
    and (``card``) its model card beside it (card.py: ``<name>.MODEL_CARD.md``)."""
    path = _export_weights(target, fmt, out)
    if card:
        from .card import write_card
        from .loading import load_generator

        _, meta = load_generator(target, "cpu", bn="running")  # the metadata only: no recalibration
        if meta.get("bn"):  # the statistics the export itself was written with (load_generator's default)
            meta["bn"] = "running" if meta.get("format") == EXPORT else \
                (meta.get("config") or {}).get("sample_bn") or "precise"
        write_card(path, fmt or SUFFIX[path.suffix.lower()], export_metadata(meta), target)
    return path


def _export_weights(target: str | Path, fmt: str | None = None, out: str | Path | None = None) -> Path:
    """Write the generator of ``target`` (run, checkpoint or .safetensors) as ``fmt`` to ``out``."""
    from .loading import load_generator

    if out is None:
        raise DcganError("--out FILE is required, e.g. --out generator.onnx")
    from ..checkpoint import refuse_checkpoint_output

    refuse_checkpoint_output(out)  # an export over a checkpoint's generator would end the run
    out = Path(out)
    implied = SUFFIX.get(out.suffix.lower())
    if fmt is None and implied is None:
        raise DcganError(f"--out {out}: no format is written as {out.suffix or 'a name without a suffix'}; "
                         f"use {', '.join(SUFFIX)}, or name one with --format ({', '.join(FORMATS)})")
    fmt = fmt or implied
    if fmt not in FORMATS:
        raise DcganError(f"unknown --format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if implied not in (None, fmt):
        raise DcganError(f"--out {out} names a {implied} file but --format is {fmt}; use "
                         f"{', '.join(s for s, f in SUFFIX.items() if f == fmt)} for {fmt}")
    G, meta = load_generator(target, "cpu")
    info = export_metadata(meta)
    if fmt == "safetensors":
        from ..checkpoint import weights_blob

        return atomic_write(out, weights_blob(G, info))
    z = torch.randn(2, info["noise"]["dim"], generator=torch.Generator().manual_seed(0))
    inputs = (z, torch.tensor([0, 1])) if "label_input" in info else (z,)  # a conditional G: (z, y)
    if fmt == "torchscript":
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TracerWarnings: padding sizes are fixed per resolution
            traced = torch.jit.trace(G, inputs)
        return atomic_write(out, lambda fh: torch.jit.save(traced, fh,
                                                            _extra_files={EXTRA_FILE: json.dumps(info)}))
    return _export_onnx(G, inputs, info, out)


def _export_onnx(G, inputs: tuple[torch.Tensor, ...], info: dict[str, Any], out: Path) -> Path:
    try:
        import onnx
    except ImportError:
        raise DcganError("ONNX export needs the onnx package: pip install 'dcgan[export]' "
                         "(or pip install onnx)") from None
    import io

    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # The TorchScript-based exporter: it needs only `onnx`; torch's default (dynamo) exporter
        # would also need onnxscript for a graph this simple.
        names = ["z", "y"][:len(inputs)]
        torch.onnx.export(G, inputs, buf, input_names=names, output_names=["images"],
                          dynamic_axes={**{k: {0: "batch"} for k in names}, "images": {0: "batch"}},
                          opset_version=ONNX_OPSET, dynamo=False)
    model = onnx.load_from_string(buf.getvalue())
    entry = model.metadata_props.add()
    entry.key, entry.value = ONNX_KEY, json.dumps(info)
    model.doc_string = (f"dcgan generator ({info['model']}): z ~ N(0, 1) of shape (batch, "
                        f"{info['noise']['dim']}) -> images (batch, {info['channels']}, "
                        f"{info['resolution']}, {info['resolution']}) in [-1, 1]"
                        + (f"; y (batch,) int64 class labels 0-{len(info['classes']) - 1}" if "label_input" in info else ""))
    return atomic_write(out, model.SerializeToString())


__all__ = ["export", "export_metadata", "FORMATS"]
