"""``dcgan export``: the generator alone with its metadata (safetensors, TorchScript, ONNX)."""

from __future__ import annotations

import argparse

from .options import examples, output_path

ORDER = 32


def add(sub) -> None:
    p = sub.add_parser("export", help="the generator alone, with its metadata: safetensors, "
                       "torchscript or onnx",
                       epilog=examples("dcgan export runs/0001-lean-mnist --out generator.safetensors",
                                       "dcgan export runs/0001-lean-mnist --out generator.onnx",
                                       "dcgan export runs/0001-lean-mnist/checkpoints/step_000000400 "
                                       "--format torchscript --out g.pt"))
    from ..generation.export import FORMATS, SUFFIX

    p.add_argument("target", metavar="RUN_DIR|CHECKPOINT", help="run folder, checkpoint folder or "
                   "generator .safetensors")
    p.add_argument("--format", dest="fmt", choices=FORMATS,
                   help=f"default: from --out's suffix ({', '.join(SUFFIX)})")
    p.add_argument("--out", required=True, metavar="FILE", type=output_path, help="the file to write")
    p.set_defaults(func=run_export)


def run_export(args: argparse.Namespace) -> int:
    from ..generation.export import export

    out = export(args.target, args.fmt, args.out)
    print(f"wrote {out}")
    return 0
