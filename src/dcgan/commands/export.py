"""``dcgan export``: the generator alone with its metadata (safetensors, TorchScript, ONNX)."""

from __future__ import annotations

import argparse

from .options import output_path

ORDER = 32


def add(sub) -> None:
    p = sub.add_parser("export", help="the generator alone, with its metadata: safetensors, "
                       "torchscript or onnx")
    p.add_argument("target", metavar="RUN_DIR|CHECKPOINT")
    p.add_argument("--format", dest="fmt", choices=("safetensors", "torchscript", "onnx"),
                   help="default: from --out's suffix (.safetensors, .pt, .onnx)")
    p.add_argument("--out", required=True, metavar="FILE", type=output_path)
    p.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from ..generation.export import export

    out = export(args.target, args.fmt, args.out)
    print(f"wrote {out}")
    return 0
