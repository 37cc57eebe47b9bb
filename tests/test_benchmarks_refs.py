"""The eager references of benchmarks/references/: for every preset, the same parameter shapes as
dcgan's G and D and the same matmul/conv FLOPs per training step (lazy R1/R2 steps included); the
worker that serves them imports no dcgan."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from dcgan.models import PRESETS
from dcgan.training import throughput as bench
from dcgan.training.config import resolve
from dcgan.training.trainer import Trainer

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from references import REFERENCES  # noqa: E402

BATCH = 2


class Flops(TorchDispatchMode):
    """FLOPs of the matmuls and convolutions run inside it (torch's own formulas), per op name.
    FlopCounterMode itself refuses the penalties' autograd.grad calls, hence this."""

    def __init__(self):
        super().__init__()
        self.total, self.ops = 0, Counter()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        packet = func._overloadpacket
        if packet in flop_registry:
            flops = flop_registry[packet](*args, **kwargs, out_val=out)
            self.total += flops
            self.ops[str(packet)] += flops
        return out


def shapes(model: torch.nn.Module) -> list[tuple[int, ...]]:
    return sorted(tuple(p.shape) for p in model.parameters())


def test_every_preset_has_a_reference():
    assert sorted(REFERENCES) == sorted(PRESETS)


@pytest.mark.parametrize("model", sorted(PRESETS))
def test_reference_is_dcgans_model_and_work(model):
    cfg = resolve({"model": model, "batch_size": BATCH, "device": "cpu", "eval_every": 0, "progress": False})
    preset = PRESETS[model]
    tr = Trainer(cfg, Path(os.devnull), data=bench.synthetic(preset.channels, preset.resolution, n=16))
    step, _ = bench.train_stepper(tr)  # the step dcgan bench times
    ref = REFERENCES[model](tr.images.cpu(), BATCH)
    assert shapes(ref.G) == shapes(tr.G) and shapes(ref.D) == shapes(tr.D)
    for i in range(2 if cfg.reg_every > 1 else 1):  # lazy R1/R2: on step 0, not on step 1
        with Flops() as ours:
            step()
        with Flops() as theirs:
            losses = ref.step()
        assert theirs.total == ours.total > 0, (i, dict(ours.ops), dict(theirs.ops))
        assert all(torch.isfinite(x) for x in losses)


def test_worker_times_windows_without_importing_dcgan(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (8, 1, 28, 28), dtype=np.uint8)
    np.save(tmp_path / "images.npy", images)
    cmd = [sys.executable, str(BENCHMARKS / "reference_worker.py"), "--model", "tf-tutorial",
           "--images", str(tmp_path / "images.npy"), "--batch-size", str(BATCH), "--threads", "1"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}  # dcgan importable: still not imported
    out = subprocess.run(cmd, input=json.dumps({"steps": 1, "warmup": 1}) + "\n", capture_output=True,
                         text=True, env=env, timeout=120, check=True).stdout.splitlines()
    ready, answer = json.loads(out[0]), json.loads(out[1])
    assert ready["ready"] == "tf-tutorial" and ready["dcgan_imported"] is False
    assert ready["threads"] == 1 and ready["images"] == [8, 1, 28, 28]
    assert [tuple(s) for s in ready["G"]] == shapes(REFERENCES["tf-tutorial"](torch.from_numpy(images), BATCH).G)
    assert answer["s"] > 0
