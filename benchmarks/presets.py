"""Seconds per training step of every preset at its recipe's batch size, on this machine.

    PYTHONPATH=src python benchmarks/presets.py [--steps 5] [--warmup 2] [--models a,b] [--threads N]

Builds the Trainer as `dcgan train` does (on the `fake` data set, resized to the preset's native
shape), runs ``warmup`` update steps, then times ``steps`` single steps and prints the median and
the spread as one JSON line per preset. Each step is the preset's own update scheme (keras-gan:
two D steps on half batches and a G step). Seconds per epoch = median x steps per epoch.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch

from dcgan.training.config import resolve
from dcgan.images import to_unit
from dcgan.models import PRESETS
from dcgan.training.trainer import Trainer, epoch_permutation

EPOCH_SIZES = {"mnist": 60_000, "cifar10": 50_000, "emoji": 3_786}


def bench(name: str, steps: int, warmup: int) -> dict:
    preset = PRESETS[name]
    cfg = resolve({"model": name, "data": "fake", "resolution": preset.resolution,
                   "channels": preset.channels, "progress": False, "device": "cpu"})
    with tempfile.TemporaryDirectory() as tmp:
        tr = Trainer(cfg, Path(tmp))
        perm = epoch_permutation(tr.n, cfg.seed, 0)
        times = []
        for i in range(warmup + steps):
            b = i % tr.batches_per_epoch
            real = to_unit(tr.images[perm[b * cfg.batch_size:(b + 1) * cfg.batch_size]])
            if len(real) < cfg.batch_size:
                real = to_unit(tr.images[perm[: cfg.batch_size]])
            t0 = time.perf_counter()
            tr.train_step(real).tolist()  # the step dcgan train runs; .tolist() waits for it
            tr.step += 1
            if i >= warmup:
                times.append(time.perf_counter() - t0)
    med = statistics.median(times)
    n = EPOCH_SIZES.get(preset.data)
    return {"model": name, "batch_size": cfg.batch_size, "update": cfg.update,
            "shape": f"{preset.resolution}x{preset.resolution}x{preset.channels}",
            "s_per_step_median": round(med, 4), "s_min": round(min(times), 4),
            "s_max": round(max(times), 4), "steps": steps, "warmup": warmup,
            "epoch_of": preset.data,
            "s_per_epoch_est": round(med * math.ceil(n / cfg.batch_size), 1) if n else None,
            "threads": torch.get_num_threads(), "torch": torch.__version__}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=5)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--models", default=",".join(PRESETS))
    ap.add_argument("--threads", type=int)
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    for name in args.models.split(","):
        print(json.dumps(bench(name, args.steps, args.warmup)), flush=True)
        print(f"done {name}", file=sys.stderr)


if __name__ == "__main__":
    main()
