"""torchrun with 2 CPU processes (gloo): the run trains, only rank 0 writes, checkpoints hold plain
module keys, and it resumes on a different world size."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors import safe_open

import dcgan

from conftest import assert_same_run

SRC = str(Path(dcgan.__file__).resolve().parents[1])


def _run(args: list[str], nproc: int | None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1"}
    launcher = ([sys.executable, "-m", "torch.distributed.run", "--standalone",
                 f"--nproc_per_node={nproc}", "-m", "dcgan"] if nproc else [sys.executable, "-m", "dcgan"])
    return subprocess.run(launcher + args, env=env, capture_output=True, text=True, timeout=600)


@pytest.mark.slow
def test_two_gloo_processes_train_checkpoint_and_resume(tiny_mnist, tmp_path):
    out = tmp_path / "ddp"
    common = ["--no-progress", "--batch-size", "64", "--log-every", "1"]
    r = _run(["train", "--out", str(out), "--epochs", "1", "--device", "cpu", *common], nproc=2)
    assert r.returncode == 0, r.stderr[-3000:]
    config = json.loads((out / "config.json").read_text())
    assert config["world_size"] == 2
    ckpts = sorted((out / "checkpoints").iterdir())
    assert [c.name for c in ckpts] == ["step_000000004"]  # 200 images / global batch 64 -> 4 steps
    with safe_open(str(ckpts[0] / "generator.safetensors"), "pt") as fh:
        keys = list(fh.keys())
    assert keys and not any(k.startswith(("module.", "_orig_mod.")) for k in keys)
    rows = [json.loads(line) for line in (out / "stats.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [1, 2, 3, 4]  # one writer: each step logged once
    assert all(abs(row["d_loss"]) < 1e3 for row in rows)

    # Resume the same run on one process: it continues at the global batch position.
    r = _run(["train", "--resume", str(out), "--epochs", "2", "--device", "cpu", "--no-progress"], nproc=None)
    assert r.returncode == 0, r.stderr[-3000:]
    assert (out / "checkpoints" / "step_000000008").is_dir()
    assert json.loads((out / "config.json").read_text())["world_size"] == 1
    G, _ = dcgan.load_generator(out)
    assert G(__import__("torch").zeros(2, 100)).shape == (2, 1, 28, 28)


@pytest.mark.slow
def test_two_process_run_resumed_on_two_processes_is_bit_exact(tiny_mnist, tmp_path):
    # Every rank's noise and dropout streams travel in the checkpoint, so stopping mid-epoch and
    # resuming on the same world size ends where the uninterrupted run ends, bit for bit.
    common = ["--no-progress", "--batch-size", "32", "--log-every", "1", "--device", "cpu",
              "--epochs", "1", "--limit", "128"]  # 4 steps, 16 images per rank per step
    whole, part = tmp_path / "whole", tmp_path / "part"
    assert _run(["train", "--out", str(whole), *common], nproc=2).returncode == 0
    r = _run(["train", "--out", str(part), "--max-steps", "2", *common], nproc=2)
    assert r.returncode == 0, r.stderr[-3000:]
    r = _run(["train", "--resume", str(part), "--max-steps", "100", "--no-progress", "--device", "cpu"], nproc=2)
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = (sorted((run / "checkpoints").iterdir())[-1] for run in (whole, part))
    assert a.name == b.name == "step_000000004"
    assert_same_run(whole, part)
