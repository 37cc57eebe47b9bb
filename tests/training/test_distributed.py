"""torchrun with 2 CPU processes (gloo): the run trains, only rank 0 writes, checkpoints hold plain
module keys, and it resumes on a different world size; a class-conditional run trains each rank on
its half of every global batch with exactly those images' labels."""

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


SPY = '''
import json, os, sys
from pathlib import Path

from dcgan.cli import main
from dcgan.training import trainer

seen, real_batch = [], trainer.Trainer.real_batch


def spy(self, perm, b):  # what each rank trains on: its labels, and what its images say of themselves
    real, y = real_batch(self, perm, b)
    px = ((real[:, 0, 0, :3].double() + 1) * 127.5).round().long()       # (n, 3) the marked pixels
    seen.append({"epoch": self.epoch, "batch": b, "perm": perm.tolist(), "labels": y.tolist(),
                 "marked_label": (px[:, 0] // 25).tolist(), "index": (px[:, 1] + 256 * px[:, 2]).tolist()})
    return real, y


trainer.Trainer.real_batch = spy
rc = main(sys.argv[1:])
Path(os.environ["SPY_OUT"] + "." + os.environ.get("RANK", "0") + ".json").write_text(json.dumps(seen))
sys.exit(rc)
'''


def _gloo() -> bool:
    import torch.distributed as dist

    return dist.is_available() and dist.is_gloo_available()


@pytest.mark.slow
@pytest.mark.skipif(not _gloo(), reason="this torch has no gloo backend for CPU processes")
def test_two_gloo_processes_train_a_conditional_run_on_labels_sharded_with_their_images(data_dir, tmp_path):
    import numpy as np
    import torch

    from dcgan.data.cache import ImageSet, cache_path, save_split

    # Every image carries its own label and index in its first three pixels, so a rank can be
    # checked against the data itself, not against the indices it gathered by.
    n, g = 200, np.random.default_rng(0)
    images = g.integers(0, 256, (n, 1, 28, 28), dtype=np.uint8)
    labels = g.integers(0, 10, n)
    images[:, 0, 0, 0], images[:, 0, 0, 1], images[:, 0, 0, 2] = labels * 25, np.arange(n) % 256, np.arange(n) // 256
    save_split(cache_path(data_dir, "mnist", "train"),
               ImageSet(torch.from_numpy(images), torch.from_numpy(labels), [str(d) for d in range(10)], "mnist"))
    worker, out = tmp_path / "spy.py", tmp_path / "cond-ddp"
    worker.write_text(SPY)
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
           "OMP_NUM_THREADS": "1", "SPY_OUT": str(tmp_path / "seen")}
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
                        str(worker), "train", "--model", "lean", "--data", "mnist", "--cond", "projection",
                        "--batch-size", "32", "--max-steps", "3", "--device", "cpu", "--no-progress",
                        "--log-every", "1", "--no-report", "--eval-every", "0", "--out", str(out)],
                       env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    config = json.loads((out / "config.json").read_text())
    assert config["world_size"] == 2 and config["arch"]["cond"] == "projection" and config["arch"]["classes"] == 10
    rows = [json.loads(line) for line in (out / "stats.jsonl").read_text().splitlines()]
    assert [row["step"] for row in rows] == [1, 2, 3] and all(abs(row["d_loss"]) < 1e3 for row in rows)
    seen = [json.loads((tmp_path / f"seen.{rank}.json").read_text()) for rank in (0, 1)]
    assert [len(s) for s in seen] == [3, 3]
    for step in range(3):
        a, b = seen[0][step], seen[1][step]
        assert a["perm"] == b["perm"] and a["batch"] == b["batch"] == step
        batch = a["perm"][step * 32:(step + 1) * 32]           # the global batch of the epoch's order
        for rank, mine in enumerate((a, b)):
            assert mine["index"] == batch[rank::2]           # each rank its half of the global batch
            assert mine["labels"] == mine["marked_label"]    # and the labels of exactly those images
            assert mine["labels"] == labels[mine["index"]].tolist()
        assert not set(a["index"]) & set(b["index"])
    G, _ = dcgan.load_generator(out)
    assert G.classes == 10
