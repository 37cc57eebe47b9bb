"""Steady-state throughput of training and sampling: what ``dcgan bench`` measures.

A figure here is the median images/s over timed windows taken after warm-up (with min and max), so
one noisy window on a shared machine does not move it. Training runs the exact step ``dcgan train``
runs (``Trainer._real_batch`` + the preset's update scheme) on a device-resident uint8 data set of
random pixels (throughput does not depend on pixel values); an images/s figure counts real images
through D per D+G step pair, as the TensorFlow tutorial's timings do. Each window ends with a
device sync, which is the only sync.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from .. import data as datasets
from .config import resolve
from ..devices import autocast, sync
from ..images import to_uint8
from ..models import get_preset
from .speed import unwrap
from .trainer import Trainer

DATA_SIZE = 8192  # images in the synthetic data set (cycled)


@dataclass
class Result:
    what: str
    images_per_s: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.images_per_s)

    def summary(self) -> dict[str, float]:
        xs = self.images_per_s
        return {"median": round(self.median, 1), "min": round(min(xs), 1), "max": round(max(xs), 1),
                "windows": len(xs)}


def hardware(device: torch.device) -> dict[str, Any]:
    info: dict[str, Any] = {"torch": torch.__version__, "python": platform.python_version(),
                            "device": str(device)}
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info.update({"cpu": cpu, "cpu_count": os.cpu_count(), "threads": torch.get_num_threads(),
                 "cpu_capability": torch.backends.cpu.get_cpu_capability()})
    return info


def synthetic(channels: int, resolution: int, n: int = DATA_SIZE) -> datasets.ImageSet:
    """Random uint8 pixels of one shape: throughput does not depend on pixel values."""
    g = torch.Generator().manual_seed(0)
    imgs = torch.randint(0, 256, (n, channels, resolution, resolution), dtype=torch.uint8, generator=g)
    return datasets.ImageSet(imgs, None, None, "synthetic")


def make_trainer(overrides: dict[str, Any], run_dir: Path | None = None) -> Trainer:
    """A Trainer for benchmarking: any preset/batch/device/precision, synthetic data, no files."""
    cfg = resolve({"eval_every": 0, **overrides, "progress": False})  # no watch: nothing to write
    preset = get_preset(cfg.model)
    data = synthetic(cfg.channels or preset.channels, cfg.resolution or preset.resolution)
    return Trainer(cfg, run_dir or Path(os.devnull), data=data)


def train_stepper(tr: Trainer) -> tuple[Callable[[], None], int]:
    """One training step as ``dcgan train``'s loop runs it; returns (step, images per step)."""
    acc = torch.zeros(4, device=tr.device)
    perm = torch.randperm(tr.n).to(tr.device)
    nb = tr.n // tr.cfg.batch_size
    tr.G.train()
    tr.D.train()

    def step() -> None:
        nonlocal acc
        real, y = tr.real_batch(perm, tr.step % nb)
        acc += tr.train_step(real, y)
        tr.step += 1

    return step, tr.cfg.batch_size


def sample_stepper(tr: Trainer, batch: int) -> tuple[Callable[[], None], int]:
    """Generating one batch of uint8 images in inference mode, as ``dcgan sample`` does."""
    G = unwrap(tr.G).eval()
    g = torch.Generator(tr.device).manual_seed(0)

    @torch.inference_mode()
    def step() -> None:
        z = torch.randn(batch, tr.arch["noise_dim"], device=tr.device, generator=g)
        with autocast(tr.device, tr.cfg.precision):
            to_uint8(G(z))  # includes the copy to host memory, as sampling to a file does

    return step, batch


def measure(step: Callable[[], None], per_step: int, device: torch.device, warmup: int = 3,
            windows: int = 5, steps_per_window: int = 5, what: str = "") -> Result:
    for _ in range(warmup):
        step()
    sync(device)
    res = Result(what)
    for _ in range(windows):
        res.images_per_s.append(window(step, per_step, device, steps_per_window))
    return res


def window(step: Callable[[], None], per_step: int, device: torch.device, n: int) -> float:
    t = time.perf_counter()
    for _ in range(n):
        step()
    sync(device)
    return n * per_step / (time.perf_counter() - t)


def interleaved(steppers: dict[str, tuple[Callable[[], None], int]], device: torch.device,
                warmup: int = 3, windows: int = 5, steps_per_window: int = 5,
                log: Callable[[str], None] | None = None) -> dict[str, Result]:
    """Time several steppers in alternating windows, so machine load hits them all alike."""
    for step, _ in steppers.values():
        for _ in range(warmup):
            step()
    sync(device)
    results = {name: Result(name) for name in steppers}
    for _ in range(windows):
        for name, (step, per) in steppers.items():
            results[name].images_per_s.append(window(step, per, device, steps_per_window))
            if log:
                log(f"window {len(results[name].images_per_s)}/{windows} {name}: "
                    f"{results[name].images_per_s[-1]:.1f} img/s")
    return results
