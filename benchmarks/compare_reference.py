"""dcgan beside a plain eager PyTorch port of the TensorFlow tutorial, timed in one run.

    PYTHONPATH=src python benchmarks/compare_reference.py --batch-size 256
    PYTHONPATH=src python benchmarks/compare_reference.py --model dcgan64     # vs pytorch/examples' loop
    PYTHONPATH=src python benchmarks/compare_reference.py --variant bf16:precision=bf16 \\
        --variant fused:adam=fused --variant nhwc:channels_last=1 --variant compiled:compile=1

Every stepper (the reference, dcgan with its defaults, and each ``--variant NAME:key=value,...``)
is timed in alternating windows after warm-up, so load from other processes on a shared machine
hits all of them alike; the figures are medians over windows, and the ratios are of medians.
The TensorFlow figure is the issue's measurement of the tutorial as written (not re-run here).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent))

from reference_eager import EagerDCGAN64Reference, EagerReference  # noqa: E402

from dcgan.training import throughput as bench
from dcgan.training.config import resolve  # noqa: E402

REFERENCES = {"tf-tutorial": EagerReference, "dcgan64": EagerDCGAN64Reference}
TF_TUTORIAL_IMG_S = 555.0  # issue 6: the TF tutorial as written, batch 256, 2-core Xeon (AMX)


def parse_variant(text: str) -> tuple[str, dict]:
    name, _, spec = text.partition(":")
    kv = {}
    for item in filter(None, spec.split(",")):
        k, _, v = item.partition("=")
        kv[k] = {"1": True, "0": False}.get(v, v)
    return name, kv


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="tf-tutorial")
    ap.add_argument("--batch-size", type=int, default=None, help="default: the preset's")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--windows", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--variant", action="append", default=[], type=parse_variant,
                    help="NAME:key=value,... extra dcgan settings to time in the same run")
    ap.add_argument("--no-reference", action="store_true", help="time dcgan variants only")
    ap.add_argument("--json", metavar="FILE", help="also write the results here")
    args = ap.parse_args(argv)

    base = {"model": args.model, "batch_size": args.batch_size, "device": args.device}
    if args.batch_size is None:
        args.batch_size = base["batch_size"] = resolve({"model": args.model}).batch_size
    steppers = {}
    trainers = {}
    for name, extra in [("dcgan", {}), *args.variant]:
        tr = bench.make_trainer({**base, **extra})
        trainers[name] = tr
        steppers[name] = bench.train_stepper(tr)
    device = trainers["dcgan"].device
    if not args.no_reference:
        if args.model not in REFERENCES:
            raise SystemExit(f"eager references exist for {', '.join(REFERENCES)} only; use --no-reference")
        ref = REFERENCES[args.model](trainers["dcgan"].images.cpu(), args.batch_size, device=str(device))
        steppers["eager-reference"] = (ref.step, args.batch_size)
    results = bench.interleaved(steppers, device, args.warmup, args.windows, args.steps,
                                log=lambda line: print(line, file=sys.stderr, flush=True))
    hw = bench.hardware(device)
    print("hardware: " + ", ".join(f"{k}={v}" for k, v in hw.items()))
    print(f"{args.model}, batch {args.batch_size}, {args.windows} windows x {args.steps} steps after "
          f"{args.warmup} warm-up steps, medians (min-max) in img/s:")
    ref_med = results["eager-reference"].median if "eager-reference" in results else None
    rows = {}
    for name, r in results.items():
        s = r.summary()
        row = {**s, "settings": {k: v for k, v in dict(args.variant).get(name, {}).items()}}
        line = f"  {name:<16} {s['median']:8.1f}  ({s['min']:.1f}-{s['max']:.1f})"
        if ref_med:
            row["vs_reference"] = round(r.median / ref_med, 3)
            line += f"  x{row['vs_reference']:.2f} vs eager reference"
        if args.model == "tf-tutorial":
            row["vs_tf_tutorial_figure"] = round(r.median / TF_TUTORIAL_IMG_S, 3)
            line += f"  x{row['vs_tf_tutorial_figure']:.2f} vs TF tutorial figure ({TF_TUTORIAL_IMG_S:.0f})"
        rows[name] = row
        print(line)
    if args.json:
        Path(args.json).write_text(json.dumps({"hardware": hw, "args": vars(args) | {"variant": args.variant},
                                               "results": rows}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
