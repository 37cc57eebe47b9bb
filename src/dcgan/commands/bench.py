"""``dcgan bench``: steady-state training and sampling throughput for any preset and settings."""

from __future__ import annotations

import argparse
import json

from .options import add_device, add_recipe_speed, examples

ORDER = 60


def add(sub) -> None:
    from ..models import PRESETS
    from ..training.updates import UPDATES

    p = sub.add_parser("bench", help="measure training and sampling images/s",
                       description="Median images/s over timed windows after warm-up (with min/max), "
                       "for training (real images through D per D+G step pair) and for sampling. "
                       "Uses random uint8 data of the preset's shape; writes no files.",
                       epilog=examples("dcgan bench --model lean --device cuda",
                                       "dcgan bench --model dcgan64 --batch-size 256 --precision bf16 --json",
                                       "dcgan bench --only sample --sample-batch 1000"))
    p.add_argument("--model", default="tf-tutorial", choices=list(PRESETS), metavar="PRESET",
                   help=f"preset ({', '.join(PRESETS)}; default tf-tutorial)")
    p.add_argument("--batch-size", type=int, default=None, help="default: the preset's")
    add_device(p, "auto")
    add_recipe_speed(p)
    p.add_argument("--update", choices=list(UPDATES), help="update scheme (default: the preset's)")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps first (default 3)")
    p.add_argument("--windows", type=int, default=5, help="timed windows (default 5)")
    p.add_argument("--steps", type=int, default=5, help="steps per window (default 5)")
    p.add_argument("--sample-batch", type=int, default=500, help="batch for sampling (default 500)")
    p.add_argument("--only", choices=("train", "sample"), help="measure one of the two")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..training import throughput as bench
    from ..errors import DcganError

    for name in ("warmup", "windows", "steps", "sample_batch"):
        if getattr(args, name) < (0 if name == "warmup" else 1):
            raise DcganError(f"--{name.replace('_', '-')} must be at least 1")
    overrides = {k: getattr(args, k) for k in ("model", "batch_size", "device", "precision", "compile",
                                               "adam", "channels_last", "update", "cuda_graphs")
                 if getattr(args, k, None) is not None}
    tr = bench.make_trainer(overrides)
    settings = {"model": tr.cfg.model, "batch_size": tr.cfg.batch_size, "update": tr.cfg.update,
                "precision": tr.cfg.precision, "compile": tr.cfg.compile, "adam": tr.speed.adam,
                "channels_last": tr.speed.channels_last,
                "cuda_graphs": tr.use_graphs, "warmup": args.warmup,
                "windows": args.windows, "steps_per_window": args.steps,
                "sample_batch": args.sample_batch}
    out = {"settings": settings, "hardware": bench.hardware(tr.device)}
    kw = {"warmup": args.warmup, "windows": args.windows, "steps_per_window": args.steps}
    if args.only in (None, "train"):
        out["train_images_per_s"] = bench.measure(*bench.train_stepper(tr), tr.device, **kw).summary()
    if args.only in (None, "sample"):
        out["sample_images_per_s"] = bench.measure(*bench.sample_stepper(tr, args.sample_batch),
                                                   tr.device, **kw).summary()
    if args.json:
        print(json.dumps(out))
        return 0
    for section in ("settings", "hardware"):
        print(f"{section}: " + ", ".join(f"{k}={v}" for k, v in out[section].items()))
    for key in ("train_images_per_s", "sample_images_per_s"):
        if key in out:
            r = out[key]
            print(f"{key.split('_')[0]:>6}: {r['median']:.1f} img/s median "
                  f"(min {r['min']:.1f}, max {r['max']:.1f}, {r['windows']} windows)")
    return 0
