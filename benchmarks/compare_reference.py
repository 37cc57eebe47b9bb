"""dcgan beside a plain eager PyTorch reference of the same preset, timed in one run.

    PYTHONPATH=src python benchmarks/compare_reference.py --batch-size 256
    PYTHONPATH=src python benchmarks/compare_reference.py --model dcgan64     # vs pytorch/examples' loop
    PYTHONPATH=src python benchmarks/compare_reference.py --model all --json /tmp/refs.json
    PYTHONPATH=src python benchmarks/compare_reference.py --variant bf16:precision=bf16 \\
        --variant fused:adam=fused --variant nhwc:channels_last=1 --variant compiled:compile=1

Every stepper (dcgan with its defaults, each ``--variant NAME:key=value,...``, and the reference)
is timed in alternating windows after warm-up, so load from other processes on a shared machine
hits all of them alike; the figures are medians over windows, and the ratios are of medians.

The reference (``benchmarks/references/``, one per preset: the same layer shapes, parameters and
matmul/conv FLOPs per step as dcgan's, written as a newcomer writes it) runs in a worker process
that never imports dcgan (``benchmarks/reference_worker.py``), so nothing dcgan sets process-wide
helps or hurts it; it trains on the same uint8 images with the same batch size, thread count and
device. At start-up its G and D parameter shapes are checked against dcgan's. ``--model all``
times each preset in turn and ends with one markdown table row per preset. The TensorFlow figure
is the issue's measurement of the tutorial as written (not re-run here).
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

from dcgan.devices import sync
from dcgan.models import PRESETS
from dcgan.training import throughput as bench
from dcgan.training.config import resolve
from dcgan.training.speed import unwrap

HERE = Path(__file__).resolve().parent
REF = "eager-reference"
TF_TUTORIAL_IMG_S = 555.0  # issue 6: the TF tutorial as written, batch 256, 2-core Xeon (AMX)


def parse_variant(text: str) -> tuple[str, dict]:
    name, _, spec = text.partition(":")
    kv = {}
    for item in filter(None, spec.split(",")):
        k, _, v = item.partition("=")
        kv[k] = {"1": True, "0": False}.get(v, v)
    return name, kv


class ReferenceWorker:
    """``benchmarks/reference_worker.py`` for one preset: one JSON line per timed window."""

    def __init__(self, model: str, images: torch.Tensor, batch_size: int, device: torch.device, folder: Path):
        path = folder / "images.npy"
        np.save(path, images.cpu().numpy())
        cmd = [sys.executable, str(HERE / "reference_worker.py"), "--model", model, "--images", str(path),
               "--batch-size", str(batch_size), "--threads", str(torch.get_num_threads()),
               "--device", str(device)]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the reference worker did not start: run {' '.join(cmd)} to see why")
        self.info = json.loads(line)
        if self.info["dcgan_imported"]:
            raise SystemExit("the reference worker imported dcgan; it must not")

    def seconds(self, steps: int, warmup: int = 0) -> float:
        self.proc.stdin.write(json.dumps({"steps": steps, "warmup": warmup}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())["s"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def shapes(model: torch.nn.Module) -> list[list[int]]:
    return sorted(list(p.shape) for p in model.parameters())


def check_same_models(model: str, tr, info: dict) -> dict:
    """The reference's G and D have dcgan's parameter shapes (so the same count), or we stop."""
    counts = {}
    for key, ours in (("G", unwrap(tr.G)), ("D", unwrap(tr.D))):
        mine, theirs = shapes(ours), info[key]
        n_mine, n_theirs = sum(int(np.prod(s)) for s in mine), sum(int(np.prod(s)) for s in theirs)
        if mine != theirs:
            raise SystemExit(f"{model}: the reference's {key} has {n_theirs:,} parameters in shapes "
                             f"{theirs}, dcgan's {n_mine:,} in {mine}; make them the same model")
        counts[key] = n_mine
    return counts


def run_model(model: str, args: argparse.Namespace) -> dict:
    """Time dcgan (defaults and variants) and, unless --no-reference, the reference of ``model``."""
    batch = args.batch_size or resolve({"model": model}).batch_size
    base = {"model": model, "batch_size": batch, "device": args.device}
    steppers, trainers = {}, {}
    for name, extra in [("dcgan", {}), *args.variant]:
        trainers[name] = bench.make_trainer({**base, **extra})
        steppers[name] = bench.train_stepper(trainers[name])
    device = trainers["dcgan"].device
    log = (lambda line: print(f"{model}: {line}", file=sys.stderr, flush=True))
    with tempfile.TemporaryDirectory() as tmp:
        worker = None if args.no_reference else ReferenceWorker(
            model, trainers["dcgan"].images, batch, device, Path(tmp))
        try:
            params = check_same_models(model, trainers["dcgan"], worker.info) if worker else None
            for step, _ in steppers.values():
                for _ in range(args.warmup):
                    step()
            sync(device)
            if worker:
                worker.seconds(0, args.warmup)
            results = {name: bench.Result(name) for name in [*steppers, *([REF] if worker else [])]}
            for _ in range(args.windows):
                for name, (step, per) in steppers.items():
                    results[name].images_per_s.append(bench.window(step, per, device, args.steps))
                    log(f"window {len(results[name].images_per_s)}/{args.windows} {name}: "
                        f"{results[name].images_per_s[-1]:.1f} img/s")
                if worker:
                    results[REF].images_per_s.append(args.steps * batch / worker.seconds(args.steps))
                    log(f"window {len(results[REF].images_per_s)}/{args.windows} {REF}: "
                        f"{results[REF].images_per_s[-1]:.1f} img/s")
        finally:
            if worker:
                worker.close()
    ref_med = results[REF].median if REF in results else None
    rows = {}
    for name, r in results.items():
        row = {**r.summary(), "settings": dict(args.variant).get(name, {})}
        if ref_med:
            row["vs_reference"] = round(r.median / ref_med, 3)
        if model == "tf-tutorial":
            row["vs_tf_tutorial_figure"] = round(r.median / TF_TUTORIAL_IMG_S, 3)
        rows[name] = row
    out = {"batch_size": batch, "device": str(device), "results": rows, "parameters": params,
           "reference": {k: v for k, v in worker.info.items() if k not in ("G", "D")} if worker else None}
    del trainers, steppers
    gc.collect()
    return out


def print_model(model: str, res: dict, args: argparse.Namespace) -> None:
    print(f"{model}, batch {res['batch_size']}, {args.windows} windows x {args.steps} steps after "
          f"{args.warmup} warm-up steps, medians (min-max) in img/s:")
    for name, row in res["results"].items():
        line = f"  {name:<16} {row['median']:8.1f}  ({row['min']:.1f}-{row['max']:.1f})"
        if "vs_reference" in row:
            line += f"  x{row['vs_reference']:.2f} vs eager reference"
        if "vs_tf_tutorial_figure" in row:
            line += f"  x{row['vs_tf_tutorial_figure']:.2f} vs TF tutorial figure ({TF_TUTORIAL_IMG_S:.0f})"
        print(line, flush=True)


def table(presets: dict[str, dict], variants: list[str]) -> list[str]:
    """One markdown row per preset: dcgan, the reference, their ratio, then each variant."""
    def fig(row: dict | None) -> str:
        return "—" if row is None else f"{row['median']:,.1f} ({row['min']:,.1f}–{row['max']:,.1f})"

    def ratio(row: dict | None) -> str:
        return "—" if row is None or "vs_reference" not in row else f"×{row['vs_reference']:.2f}"

    head = ["preset", "batch", "dcgan img/s, median (min–max)", "reference img/s", "dcgan / reference"]
    for v in variants:
        head += [f"{v} img/s", f"{v} / reference"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for model, res in presets.items():
        rows = res["results"]
        cells = [model, str(res["batch_size"]), fig(rows["dcgan"]), fig(rows.get(REF)), ratio(rows["dcgan"])]
        for v in variants:
            cells += [fig(rows.get(v)), ratio(rows.get(v))]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tf-tutorial", choices=[*PRESETS, "all"],
                    help="a preset, or all of them in turn")
    ap.add_argument("--batch-size", type=int, default=None, help="default: each preset's")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--windows", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--variant", action="append", default=[], type=parse_variant,
                    help="NAME:key=value,... extra dcgan settings to time in the same run")
    ap.add_argument("--no-reference", action="store_true", help="time dcgan variants only")
    ap.add_argument("--json", metavar="FILE", help="also write the results here")
    args = ap.parse_args(argv)
    if args.windows < 1 or args.steps < 1 or args.warmup < 0:
        raise SystemExit("--windows and --steps must be at least 1, --warmup at least 0")

    models = list(PRESETS) if args.model == "all" else [args.model]
    presets = {}
    for model in models:
        presets[model] = run_model(model, args)
        print_model(model, presets[model], args)
    hw = bench.hardware(torch.device(presets[models[0]]["device"]))
    print("hardware: " + ", ".join(f"{k}={v}" for k, v in hw.items()))
    print("\n".join(["", *table(presets, [name for name, _ in args.variant])]))
    if args.json:
        out = {"hardware": hw, "args": vars(args) | {"variant": args.variant}, "presets": presets}
        if len(models) == 1:
            out["results"] = presets[models[0]]["results"]  # where a one-model file kept them before
        Path(args.json).write_text(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
