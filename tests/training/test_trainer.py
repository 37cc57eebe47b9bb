"""The training loop: Ctrl-C saves and stops, the EMA update after each step, and non-finite values
caught within one log interval and never checkpointed (--on-nan stop)."""

from __future__ import annotations

import math
import os
import signal

import pytest
import torch
from safetensors.torch import load_file

import dcgan
from dcgan import checkpoint as ckpt
from dcgan.cli import main
from dcgan.errors import DcganError
from dcgan.fsutil import read_jsonl

from conftest import TINY_16, TINY_8_FLAGS, last, nan_weights, poison, steps_of, tiny


def test_ctrl_c_saves_a_checkpoint_and_resume_continues(tiny_mnist, tmp_path, monkeypatch):
    from dcgan.training import updates as steps

    real_step = steps.UPDATES["simultaneous"]
    calls = []

    def interrupt_at_4(ctx, real, step):
        calls.append(1)
        if len(calls) == 4:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C during the 4th step
        return real_step.run(ctx, real, step)

    monkeypatch.setitem(steps.UPDATES, "simultaneous", steps.Update(interrupt_at_4))
    assert main(["train", "--out", str(tmp_path / "run"), "--epochs", "1", "--batch-size", "32",
                 "--no-progress"]) == 130
    assert ckpt.all_checkpoints(tmp_path / "run" / "checkpoints")[-1].name == "step_000000004"
    monkeypatch.setitem(steps.UPDATES, "simultaneous", real_step)
    assert main(["train", "--resume", str(tmp_path / "run"), "--no-progress"]) == 0
    assert ckpt.all_checkpoints(tmp_path / "run" / "checkpoints")[-1].name == "step_000000007"


def test_ema_one_step_is_exactly_the_formula(tiny_mnist, tmp_path):
    one = dcgan.train(out=str(tmp_path / "one"), epochs=1, max_steps=1, ema=0.5, **TINY_16)
    two = dcgan.train(out=str(tmp_path / "two"), epochs=1, max_steps=2, ema=0.5, **TINY_16)
    g1, g2 = load_file(last(one) / ckpt.G_FILE), load_file(last(two) / ckpt.G_FILE)
    e2 = load_file(last(two) / ckpt.EMA_FILE)
    for k in ("net.0.weight", "net.4.weight"):  # EMA_2 = 0.5 * G_1 + 0.5 * G_2 (EMA_1 = G_1)
        assert torch.allclose(e2[k], torch.lerp(g1[k], g2[k], 0.5), atol=0, rtol=0)


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
    code = main(["train", *TINY_8_FLAGS, "--max-steps", "30", "--log-every", "5", "--lr", "1e30",
                 "--out", str(tmp_path / "r")])
    err = capsys.readouterr().err
    # it diverges before its first checkpoint: the way out is a new run in the folder, not --resume
    assert code == 2 and "non-finite" in err and "Traceback" not in err
    assert f"dcgan train --out {tmp_path / 'r'}" in err and "--resume" not in err


def test_elapsed_seconds_move_within_an_epoch(tiny_mnist, tmp_path):
    from dcgan.fsutil import read_jsonl

    run = dcgan.train(out=str(tmp_path / "run"), epochs=1, batch_size=25, log_every=2, progress=False,
                      report=False)
    rows = [r for r in read_jsonl(run / "stats.jsonl") if "event" not in r]
    assert len(rows) == 4 and all(r["epoch"] == 1 for r in rows)  # 8 steps, one epoch
    elapsed = [r["elapsed_s"] for r in rows]
    assert elapsed[0] > 0 and elapsed == sorted(elapsed) and elapsed[-1] > elapsed[0]


def test_a_run_stopped_mid_epoch_leaves_a_grid_a_gif_and_says_why_and_what_next(tiny_mnist, tmp_path, capsys):
    run = dcgan.train(out=str(tmp_path / "run"), epochs=2, max_steps=3, batch_size=32, progress=False,
                      report=False, log_every=2)
    assert [p.name for p in (run / "samples").iterdir()] == ["step_000000003.png"]
    assert (run / "progress.gif").is_file()
    err = capsys.readouterr().err
    assert "stopped at --max-steps 3 (epoch 1/2)" in err
    assert "last logged (step 3)" in err and "files: grids samples/, progress GIF progress.gif" in err
    assert f"dcgan sample {run}" in err and f"dcgan train --resume {run}" in err
    dcgan.train(resume=run, max_steps=100)
    err = capsys.readouterr().err
    assert "all 2 epoch(s) done (14 steps)" in err and "--epochs 12  # train on" in err
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["epoch_0001.png", "epoch_0002.png",
                                                                  "step_000000003.png"]
