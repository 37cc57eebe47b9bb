"""The best arithmetic rate this machine reaches on the tf-tutorial's own work, for the speed limits
quoted in BENCHMARKS.md: G's first layer (256 -> 128 channels, 5x5, on 7x7 maps, batch 256; 55 % of
the step's FLOPs) as a forward convolution, in fp32 and bf16, median GFLOP/s over timed repeats.

    PYTHONPATH=src python benchmarks/conv_ceiling.py [--device cpu|cuda] [--repeats 7]

A step of ~0.41-0.46 GFLOP per image can at best reach this rate / 0.46e9 images per second.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from dcgan.devices import sync

BATCH, C_IN, C_OUT, SIDE, K = 256, 256, 128, 7, 5
FLOP = 2 * BATCH * SIDE * SIDE * C_IN * C_OUT * K * K  # multiply-adds x 2


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--repeats", type=int, default=7)
    args = ap.parse_args()
    dev = torch.device(args.device)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(BATCH, C_IN, SIDE, SIDE, generator=g)
    w = torch.randn(C_OUT, C_IN, K, K, generator=g) * 0.01
    print(f"device={dev}, torch={torch.__version__}, threads={torch.get_num_threads()}, "
          f"cpu_capability={torch.backends.cpu.get_cpu_capability()}")
    for dtype in (torch.float32, torch.bfloat16):
        xx, ww = x.to(dev, dtype), w.to(dev, dtype)
        times = []
        with torch.no_grad():
            for i in range(args.repeats + 2):  # two warm-up calls
                sync(dev)
                t = time.perf_counter()
                F.conv2d(xx, ww, padding=K // 2)
                sync(dev)
                if i >= 2:
                    times.append(time.perf_counter() - t)
        med = statistics.median(times)
        print(f"{str(dtype).split('.')[-1]:>9}: {med * 1e3:7.2f} ms, {FLOP / med / 1e9:7.0f} GFLOP/s median "
              f"(best {FLOP / min(times) / 1e9:.0f}); step ceiling at 0.46 GFLOP/img: "
              f"{FLOP / med / 0.46e9:.0f} img/s")


if __name__ == "__main__":
    main()
