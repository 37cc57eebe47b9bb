"""Time to quality: train a preset for a budget of wall seconds, evaluate at fixed intervals with the
shipped metrics, and print when each threshold was first reached, and the final metrics.

    python benchmarks/time_to_quality.py --model lean --budget 600 --every 60 --seeds 0 1 2
    python benchmarks/time_to_quality.py --model tf-tutorial --budget 600 --set batch_size=64 lr=2e-4

Only training steps count against the budget: the clock stops while samples are drawn and
measured (``dcgan eval``'s protocol: the shipped classifier's features, the test split, ``--n``
generated images with noise seed 0, precise BatchNorm statistics, the EMA generator when the
recipe keeps one). Each row is one JSON line; the summary gives, per seed, the training seconds at
which each threshold was first met (None: not within the budget).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

THRESHOLDS = {  # name -> (metric, test)
    "all_modes": ("modes", lambda v, m: v >= m["n_modes"]),
    "recall>=0.5": ("recall", lambda v, m: v >= 0.5),
    "recall>=0.75": ("recall", lambda v, m: v >= 0.75),
    "precision>=0.75": ("precision", lambda v, m: v >= 0.75),
    "kl<=0.01": ("kl_uniform", lambda v, m: v <= 0.01),
    "fid<=5": ("fid", lambda v, m: v <= 5.0),
    "fid<=1": ("fid", lambda v, m: v <= 1.0),
}


def parse_set(items: list[str]) -> dict:
    """KEY=VALUE pairs; VALUE as JSON where it parses (numbers, true/false), else a string."""
    out = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value
    return out


def run(model: str, data: str, seed: int, budget: float, every: float, n: int, extra: dict,
        log=print, steps: int | None = None, every_steps: int | None = None) -> dict:
    from dcgan.generation.batchnorm import inference
    from dcgan.generation.sampling import generate
    from dcgan.metrics import evaluate
    from dcgan.training.config import resolve
    from dcgan.training.trainer import Trainer, epoch_permutation
    from pathlib import Path
    import os

    torch.set_flush_denormal(True)
    cfg = resolve({"model": model, "data": data, "seed": seed, "progress": False, "report": False,
                   "eval_every": 0, "epochs": 10_000, **extra})  # eval_every 0: the clock's own evals only
    tr = Trainer(cfg, Path(os.devnull))
    if steps:  # a budget in steps: the lr/gamma schedules span exactly it
        budget, every = float(steps), float(every_steps or steps)
        tr.schedule_steps = steps
    progress = (lambda: float(tr.step)) if steps else (lambda: trained)
    rows, trained, next_eval = [], 0.0, every
    tr.G.train(), tr.D.train()
    while progress() < budget:
        perm = epoch_permutation(tr.n, cfg.seed, tr.epoch).to(tr.device)
        while tr.batch < tr.batches_per_epoch and progress() < budget:
            t0 = time.perf_counter()
            stats = tr.train_step(*tr.real_batch(perm, tr.batch))
            if tr.device.type == "cuda":
                torch.cuda.synchronize(tr.device)  # the step's time is the GPU's
            del stats
            tr.step += 1
            tr.batch += 1
            trained += time.perf_counter() - t0
            if progress() >= next_eval or progress() >= budget:
                with inference(tr.sampler(), cfg.sample_bn, cfg.batch_size) as G:
                    images = torch.cat(list(generate(G, n, 0)))
                was = (tr.G.training, tr.D.training)
                m = evaluate(images, data=data, n=n)["metrics"]
                tr.G.train(was[0]), tr.D.train(was[1])
                row = {"model": model, "seed": seed, "train_s": round(trained, 1), "step": tr.step,
                       "images": tr.step * cfg.batch_size,
                       **{k: m[k] for k in ("fid", "kid", "precision", "recall", "modes", "n_modes",
                                            "kl_uniform") if k in m}}
                rows.append(row)
                log(json.dumps(row))
                next_eval += every
        if tr.batch >= tr.batches_per_epoch:
            tr.epoch, tr.batch = tr.epoch + 1, 0
    reached = {}
    for name, (key, ok) in THRESHOLDS.items():
        if rows and key in rows[0] and (key != "modes" or "n_modes" in rows[0]):  # Inception: no modes
            reached[name] = next((r["train_s"] for r in rows if ok(r[key], r)), None)
    return {"model": model, "seed": seed, "budget_s": budget, "settings": extra, "reached_s": reached,
            "final": rows[-1] if rows else None}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="lean")
    p.add_argument("--data", default="mnist")
    p.add_argument("--budget", type=float, default=600.0, help="training seconds (default 600)")
    p.add_argument("--every", type=float, default=60.0, help="training seconds between evaluations")
    p.add_argument("--n", type=int, default=10_000, help="generated images per evaluation")
    p.add_argument("--steps", type=int, help="a budget in training steps instead of seconds (the "
                   "lr/gamma schedules span it): compares recipes on a busy machine")
    p.add_argument("--every-steps", type=int, help="steps between evaluations with --steps")
    p.add_argument("--seeds", type=int, nargs="+", default=[0])
    p.add_argument("--set", nargs="*", default=[], metavar="KEY=VALUE", help="config overrides")
    p.add_argument("--threads", type=int, help="torch threads (default: torch's)")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    extra = parse_set(args.set)
    results = [run(args.model, args.data, s, args.budget, args.every, args.n, extra,
                   log=lambda line: print(line, flush=True), steps=args.steps,
                   every_steps=args.every_steps) for s in args.seeds]
    print(json.dumps({"summary": [{k: r[k] for k in ("model", "seed", "reached_s", "final")} for r in results],
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
