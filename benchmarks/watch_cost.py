"""What the default watch (training/health.py ``Watch``) costs against an epoch of training.

For each preset: the steady-state training images/s on synthetic data (``dcgan bench``'s
measurement), hence the seconds of one MNIST epoch (60,000 images), against the median seconds of
one watch check (``WATCH_N`` samples through G with precise BatchNorm, then the shipped MNIST
classifier), on the same device.

    python benchmarks/watch_cost.py                  # lean and tf-tutorial on this machine
    python benchmarks/watch_cost.py --device cuda lean
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from dcgan.devices import sync
from dcgan.training import health, throughput

MNIST_TRAIN = 60_000


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("presets", nargs="*", default=["lean", "tf-tutorial"])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--checks", type=int, default=5)
    args = ap.parse_args()
    for name in args.presets:
        with tempfile.TemporaryDirectory() as tmp:
            tr = throughput.make_trainer({"model": name, "device": args.device}, Path(tmp))
            step, per = throughput.train_stepper(tr)
            ips = throughput.measure(step, per, tr.device, warmup=3, windows=3, steps_per_window=5).median
            watch = health.Watch(tr)
            watch.measure(tr.sampler())  # warm-up: classifier load, first-call allocations
            times = []
            for _ in range(args.checks):
                t = time.perf_counter()
                watch.measure(tr.sampler())
                sync(tr.device)
                times.append(time.perf_counter() - t)
            check, epoch = statistics.median(times), MNIST_TRAIN / ips
            print(f"{name:12s} {tr.device}: train {ips:.0f} img/s, epoch {epoch:.1f} s; watch check "
                  f"{check:.3f} s (min {min(times):.3f}) = {100 * check / epoch:.2f} % of an epoch", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
