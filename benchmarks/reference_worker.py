"""Serve one preset's plain eager reference (``benchmarks/references/``) to compare_reference.py,
in a process that never imports dcgan.

    python benchmarks/reference_worker.py --model lean --images /tmp/images.npy --batch-size 64 \\
        --threads 2 --device cpu

A process of its own, so nothing dcgan sets process-wide (glibc's ``mallopt`` in
``devices.keep_freed_memory``, flushing denormals, cuDNN's benchmark mode) can speed up or slow
down its yardstick. It loads the uint8 images (N, C, H, W) the driver wrote, builds the reference
on them with the driver's batch size, thread count and device, and prints one JSON line: the
preset, the parameter shapes of G and D (the driver checks them against dcgan's), the threads, the
torch version and ``"dcgan_imported": false``. Then, for every JSON line ``{"steps": K, "warmup": W}``
on stdin, it runs W untimed steps and K timed ones (a device sync before each clock read) and
answers ``{"s": seconds for the K}``, until stdin closes. The driver alternates these windows with
dcgan's, so load from other processes hits both alike.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch

from references import REFERENCES


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def shapes(model: torch.nn.Module) -> list[list[int]]:
    return sorted(list(p.shape) for p in model.parameters())


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", required=True, choices=sorted(REFERENCES))
    ap.add_argument("--images", required=True, help="a .npy file of uint8 images (N, C, H, W)")
    ap.add_argument("--batch-size", type=int, required=True)
    ap.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)

    if args.threads:
        torch.set_num_threads(args.threads)
    images = torch.from_numpy(np.load(args.images))
    ref = REFERENCES[args.model](images, args.batch_size, seed=args.seed, device=args.device)
    device = ref.device
    print(json.dumps({"ready": args.model, "G": shapes(ref.G), "D": shapes(ref.D),
                      "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
                      "torch": torch.__version__, "images": list(images.shape),
                      "dcgan_imported": any(m == "dcgan" or m.startswith("dcgan.") for m in sys.modules)}),
          flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        for _ in range(int(req.get("warmup", 0))):
            ref.step()
        sync(device)
        t0 = time.perf_counter()
        for _ in range(int(req["steps"])):
            ref.step()
        sync(device)
        print(json.dumps({"s": time.perf_counter() - t0}), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
