"""Lose nothing: --keep and the best checkpoint, the NaN guard, full disks, read-only folders, the run
lock, SIGTERM, and resumes that change what must not change. RELIABILITY.md maps each test here to
the guarantee it proves."""

from __future__ import annotations

import errno
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

from dcgan import checkpoint as ckpt
from dcgan.training import updates as steps
from dcgan.cli import main
from dcgan.errors import DcganError
from dcgan.fsutil import read_jsonl
from dcgan import train
from dcgan.training.state import LR_FACTOR as NAN_LR_FACTOR

# A tiny run: 8x8 images, 64 of them, batches of 8 -> 8 steps per epoch, about 50 ms a step on CPU.
TINY = {"resolution": 8, "batch_size": 8, "limit": 64, "progress": False}
TINY_FLAGS = ["--resolution", "8", "--batch-size", "8", "--limit", "64", "--no-progress"]


def tiny(out: Path, **kw) -> Path:
    return train({**TINY, "out": str(out), **kw})


def steps_of(run: Path) -> list[int]:
    return [int(p.name.removeprefix(ckpt.PREFIX)) for p in ckpt.all_checkpoints(run / "checkpoints")]


def assert_same_weights(a: Path, b: Path) -> None:
    ta, tb = load_file(str(a)), load_file(str(b))
    assert ta.keys() == tb.keys()
    for k in ta:
        assert torch.equal(ta[k], tb[k]), k


def poison(monkeypatch, at_step: int, action):
    """Make the update scheme call ``action(ctx)`` (its StepContext) once, right after step ``at_step``."""
    real = steps.UPDATES["simultaneous"]
    done = []

    def update(ctx, batch, step):
        out = real.run(ctx, batch, step)
        if step + 1 == at_step and not done:
            done.append(True)
            action(ctx)
        return out

    monkeypatch.setitem(steps.UPDATES, "simultaneous", steps.Update(update))
    return real


def nan_weights(tr) -> None:
    with torch.no_grad():
        next(tr.G.parameters()).fill_(float("nan"))


# -- --keep and the best checkpoint ---------------------------------------------------------------
def test_keep_prunes_to_k_newest_but_spares_the_best(tiny_mnist, tmp_path):
    run = tiny(tmp_path / "r", max_steps=6, ckpt_every_steps=1, keep=2)
    assert steps_of(run) == [5, 6]
    ckpt.mark_best(run, run / "checkpoints" / "step_000000005", metric="fid", value=12.5)
    assert ckpt.read_best(run) == {"checkpoint": "step_000000005", "metric": "fid", "value": 12.5}
    assert main(["train", "--resume", str(run), "--max-steps", "12"]) == 0
    assert steps_of(run) == [5, 11, 12]      # the newest two, and the best one
    assert ckpt.best(run) == run / "checkpoints" / "step_000000005"
    ckpt.mark_best(run, "step_000000012")
    assert main(["train", "--resume", str(run), "--max-steps", "14"]) == 0
    assert steps_of(run) == [12, 13, 14]     # 5 is no longer protected; 12 is


def test_keep_zero_keeps_everything(tiny_mnist, tmp_path):
    run = tiny(tmp_path / "r", max_steps=5, ckpt_every_steps=1, keep=0)
    assert steps_of(run) == [1, 2, 3, 4, 5]


def test_mark_best_refuses_what_is_not_a_good_checkpoint(tiny_mnist, tmp_path):
    run = tiny(tmp_path / "r", max_steps=2)
    with pytest.raises(DcganError, match="not a checkpoint"):
        ckpt.mark_best(run, "step_000000099")
    good = ckpt.all_checkpoints(run / "checkpoints")[-1]
    (good / ckpt.D_FILE).write_bytes(b"damaged")
    with pytest.raises(DcganError, match="damaged"):
        ckpt.mark_best(run, good)
    (run / "checkpoints" / ckpt.BEST).write_text('{"checkpoint": "../../etc"}')
    assert ckpt.read_best(run) is None and ckpt.best(run) is None


# -- NaN / Inf guard ----------------------------------------------------------------------------
def test_nan_weights_stop_the_run_within_one_log_interval(tiny_mnist, tmp_path, monkeypatch):
    poison(monkeypatch, 5, nan_weights)
    with pytest.raises(DcganError, match="non-finite at step 8"):
        tiny(tmp_path / "r", max_steps=20, log_every=4, ckpt_every_steps=4)
    run = tmp_path / "r"
    assert steps_of(run) == [4]              # step 8's checkpoint would hold NaNs: never written
    for c in ckpt.all_checkpoints(run / "checkpoints"):
        assert all(torch.isfinite(t).all() for t in load_file(str(c / ckpt.G_FILE)).values())
    last = read_jsonl(run / "stats.jsonl")[-1]
    assert last["step"] == 8 and not math.isfinite(last["g_grad_norm"] + last["d_loss"])


def test_nan_caught_before_an_unlogged_checkpoint(tiny_mnist, tmp_path, monkeypatch):
    poison(monkeypatch, 3, nan_weights)
    with pytest.raises(DcganError, match="weights became non-finite by step 4"):
        tiny(tmp_path / "r", max_steps=20, log_every=50, ckpt_every_steps=2)
    assert steps_of(tmp_path / "r") == [2]


def test_huge_learning_rate_is_refused_with_a_clear_error(tiny_mnist, tmp_path, capsys):
    code = main(["train", *TINY_FLAGS, "--max-steps", "30", "--log-every", "5", "--lr", "1e30",
                 "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    assert code == 2 and "non-finite" in err and "--resume" in err and "Traceback" not in err


def test_nan_rollback_restores_lowers_lr_records_and_continues(tiny_mnist, tmp_path, monkeypatch):
    poison(monkeypatch, 7, nan_weights)
    run = tiny(tmp_path / "r", max_steps=12, log_every=4, ckpt_every_steps=4, on_nan="rollback")
    rows = read_jsonl(run / "stats.jsonl")
    events = [r for r in rows if r.get("event") == "nan_rollback"]
    assert len(events) == 1
    assert events[0]["step"] == 8 and events[0]["restored"] == "step_000000004"
    assert events[0]["lr_g"] == pytest.approx(1e-4 * NAN_LR_FACTOR)
    assert events[0]["lr_d"] == pytest.approx(1e-4 * NAN_LR_FACTOR)
    logged = [r["step"] for r in rows if "event" not in r]
    assert logged == [4, 8, 8, 12]           # step 8 failed, then was trained again from step 4
    assert steps_of(run)[-1] == 12
    final = ckpt.all_checkpoints(run / "checkpoints")[-1]
    assert all(torch.isfinite(t).all() for t in load_file(str(final / ckpt.G_FILE)).values())
    state = ckpt.load_state(final)               # the lower rate is part of the optimiser state,
    assert state["opt_g"]["param_groups"][0]["lr"] == pytest.approx(5e-5)  # so a resume keeps it


def test_nan_rollback_before_any_checkpoint_uses_step_zero(tiny_mnist, tmp_path, monkeypatch):
    poison(monkeypatch, 2, nan_weights)
    run = tiny(tmp_path / "r", max_steps=6, log_every=3, on_nan="rollback")
    events = [r for r in read_jsonl(run / "stats.jsonl") if r.get("event")]
    assert [e["restored_step"] for e in events] == [0]
    assert steps_of(run)[-1] == 6


def test_nan_rollback_gives_up_when_nothing_helps(tiny_mnist, tmp_path, capsys):
    code = main(["train", *TINY_FLAGS, "--max-steps", "60", "--log-every", "2", "--lr", "1e30",
                 "--on-nan", "rollback", "--out", str(tmp_path / "r")])
    assert code == 2 and "rollbacks did not help" in capsys.readouterr().err
    events = [r for r in read_jsonl(tmp_path / "r" / "stats.jsonl") if r.get("event")]
    assert len(events) == 5 and events[-1]["lr_g"] == pytest.approx(1e30 * NAN_LR_FACTOR ** 5)


# -- full disks, read-only folders --------------------------------------------------------------
def test_disk_full_during_a_checkpoint_keeps_the_previous_one(tiny_mnist, tmp_path, monkeypatch):
    run = tiny(tmp_path / "r", max_steps=4)
    before = {p.name: p.read_bytes() for p in (run / "checkpoints" / "step_000000004").iterdir()}
    real_fsync = os.fsync

    def full(fd):
        if ".tmp-step_" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(DcganError, match="No space left on device"):
        train({"max_steps": 8}, resume=run)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["step_000000004"]  # no debris
    after = {p.name: p.read_bytes() for p in (run / "checkpoints" / "step_000000004").iterdir()}
    assert after == before
    assert ckpt.newest_good(run).name == "step_000000004"
    assert main(["train", "--resume", str(run), "--max-steps", "8"]) == 0   # space is back
    assert steps_of(run)[-1] == 8


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_disk_full_in_stats_is_a_clear_error(tiny_mnist, tmp_path, monkeypatch, capsys):
    run = tiny(tmp_path / "r", max_steps=2)
    real_fsync = os.fsync

    def full(fd):
        if os.readlink(f"/proc/self/fd/{fd}").endswith("stats.jsonl"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    assert main(["train", "--resume", str(run), "--max-steps", "4", "--log-every", "1"]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert ckpt.newest_good(run).name == "step_000000002"


def test_read_only_checkpoint_folder_is_a_clear_error(tiny_mnist, tmp_path, monkeypatch, capsys):
    run = tiny(tmp_path / "r", max_steps=2)
    real_mkdir = Path.mkdir

    def read_only(self, *a, **kw):  # what a read-only mount answers (chmod cannot stop root)
        if self.parent == run / "checkpoints":
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_mkdir(self, *a, **kw)

    monkeypatch.setattr(Path, "mkdir", read_only)
    assert main(["train", "--resume", str(run), "--max-steps", "4"]) == 2
    err = capsys.readouterr().err
    assert "could not write checkpoint" in err and "Read-only file system" in err
    assert "Traceback" not in err
    monkeypatch.setattr(Path, "mkdir", real_mkdir)
    assert ckpt.newest_good(run).name == "step_000000002"
    ckpt.load_state(ckpt.newest_good(run))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_chmod_read_only_run_folder(tiny_mnist, tmp_path, capsys):
    run = tiny(tmp_path / "r", max_steps=2)
    (run / "checkpoints").chmod(0o555)
    try:
        assert main(["train", "--resume", str(run), "--max-steps", "4"]) == 2
        assert "Traceback" not in capsys.readouterr().err
    finally:
        (run / "checkpoints").chmod(0o755)
    assert ckpt.newest_good(run).name == "step_000000002"


# -- two runs, one folder -------------------------------------------------------------------------
def _env() -> dict[str, str]:
    src = str(Path(ckpt.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "OMP_NUM_THREADS": "1"}


def test_a_second_run_in_the_same_folder_is_refused(tiny_mnist, tmp_path, capsys):
    run = tiny(tmp_path / "r", max_steps=2)
    proc = subprocess.Popen([sys.executable, "-m", "dcgan", "train", "--resume", str(run),
                             "--max-steps", "100000", "--epochs", "100000", "--log-every", "1"],
                            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while len(read_jsonl(run / "stats.jsonl")) < 2:   # it is training, so it holds the lock
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        assert main(["train", "--resume", str(run), "--max-steps", "8"]) == 2
        assert "in use by another dcgan process" in capsys.readouterr().err
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    assert proc.returncode == 130     # SIGTERM: saved and stopped cleanly
    assert main(["train", "--resume", str(run), "--max-steps", str(steps_of(run)[-1] + 1)]) == 0


# -- SIGTERM saves, resume continues exactly ----------------------------------------------------
def test_sigterm_saves_and_resume_is_exact(tiny_mnist, tmp_path, monkeypatch, capsys):
    straight = tiny(tmp_path / "straight", max_steps=20)
    real = poison(monkeypatch, 11, lambda tr: os.kill(os.getpid(), signal.SIGTERM))
    code = main(["train", *TINY_FLAGS, "--max-steps", "20", "--out", str(tmp_path / "r")])
    assert code == 130 and "interrupted (SIGTERM)" in capsys.readouterr().err
    assert steps_of(tmp_path / "r") == [11]
    monkeypatch.setitem(steps.UPDATES, "simultaneous", real)
    assert main(["train", "--resume", str(tmp_path / "r")]) == 0
    assert steps_of(tmp_path / "r")[-1] == 20
    for f in (ckpt.G_FILE, ckpt.D_FILE):
        assert_same_weights(straight / "checkpoints" / "step_000000020" / f,
                            tmp_path / "r" / "checkpoints" / "step_000000020" / f)


# -- resume refuses changes to what the run is --------------------------------------------------
@pytest.mark.parametrize("flags, what", [
    (["--loss", "lsgan"], "loss"),
    (["--resolution", "12"], "resolution"),
    (["--data", "fashion-mnist"], "data"),
    (["--model", "other"], "model"),
    (["--batch-size", "16"], "batch_size"),
    (["--lr", "0.001"], "lr_d, lr_g"),
])
def test_resume_refuses_a_different_run(tiny_mnist, tmp_path, capsys, flags, what):
    run = tiny(tmp_path / "r", max_steps=2)
    before = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert main(["train", "--resume", str(run), *flags]) == 2
    err = capsys.readouterr().err
    assert f"cannot resume with a different {what}" in err and "start a new run" in err
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == before


def test_resume_allows_epochs_and_logging_changes(tiny_mnist, tmp_path):
    run = tiny(tmp_path / "r", max_steps=2, log_every=50)
    assert main(["train", "--resume", str(run), "--max-steps", "6", "--epochs", "7",
                 "--log-every", "3", "--keep", "5", "--ckpt-every-steps", "2"]) == 0
    saved = json.loads((run / "config.json").read_text())
    assert (saved["epochs"], saved["log_every"], saved["keep"]) == (7, 3, 5)
    assert steps_of(run) == [2, 4, 6]
    assert [r["step"] for r in read_jsonl(run / "stats.jsonl")] == [2, 3, 6]
