"""Resume is bit for bit (mid-epoch and at an epoch boundary, with EMA, compiled, under bf16 and fp16),
and the --on-nan rollback restores, lowers the learning rates and gives up when nothing helps."""

from __future__ import annotations

import json

import pytest
import torch
from safetensors.torch import load_file

import dcgan
from dcgan import checkpoint as ckpt
from dcgan.cli import main
from dcgan.fsutil import read_jsonl
from dcgan.generation.loading import load_generator
from dcgan.training.state import LR_FACTOR as NAN_LR_FACTOR

from conftest import (TINY_16, TINY_32, TINY_8_FLAGS, assert_same_run, last, nan_weights, poison,
                      steps_of, tiny)


@pytest.mark.parametrize("stop_at", [3, 7], ids=["mid-epoch", "epoch-boundary"])
def test_resume_is_bit_exact(tiny_mnist, tmp_path, stop_at):
    whole = dcgan.train(out=str(tmp_path / "whole"), epochs=2, **TINY_32)
    part = dcgan.train(out=str(tmp_path / "part"), epochs=2, max_steps=stop_at, **TINY_32)
    assert ckpt.all_checkpoints(part / "checkpoints")[-1].name == f"step_{stop_at:09d}"
    dcgan.train(resume=part, max_steps=10_000)
    assert_same_run(whole, part)
    # the sample grids of the resumed run are the uninterrupted run's too
    for name in ("epoch_0001.png", "epoch_0002.png"):
        assert (whole / "samples" / name).read_bytes() == (part / "samples" / name).read_bytes()


def fp16_cpu_unsupported() -> str | None:
    """Why fp16 autocast cannot train on this CPU, or None when it can."""
    try:
        conv = torch.nn.Conv2d(1, 2, 3)
        with torch.autocast("cpu", dtype=torch.float16):
            y = conv(torch.randn(1, 1, 5, 5))
        y.float().sum().backward()
    except (RuntimeError, NotImplementedError) as exc:
        return f"fp16 autocast does not run on this CPU: {exc}"
    return None


@pytest.mark.slow  # autocast on CPU is slow: about 10 s per precision on a 2-core machine
@pytest.mark.parametrize("precision", ["bf16", "fp16"])
def test_mixed_precision_resume_mid_epoch_is_bit_exact(tiny_mnist, tmp_path, precision):
    if precision == "fp16" and (why := fp16_cpu_unsupported()):
        pytest.skip(why)
    whole = dcgan.train(out=str(tmp_path / "whole"), epochs=1, precision=precision, **TINY_16)
    part = dcgan.train(out=str(tmp_path / "part"), epochs=1, max_steps=2, precision=precision, **TINY_16)
    assert ckpt.all_checkpoints(part / "checkpoints")[-1].name == "step_000000002"  # mid-epoch 1
    dcgan.train(resume=part, max_steps=10_000)
    sa, sb = assert_same_run(whole, part)
    assert sa["config"]["precision"] == sb["config"]["precision"] == precision
    if precision == "fp16":  # the GradScaler's scale and growth tracker travel with the checkpoint
        assert sa["scaler"] and sa["scaler"] == sb["scaler"]
    else:
        assert not sa["scaler"]
    for name in ("epoch_0001.png",):
        assert (whole / "samples" / name).read_bytes() == (part / "samples" / name).read_bytes()


def test_ema_is_the_average_and_resumes_bit_for_bit(tiny_mnist, tmp_path):
    whole = dcgan.train(out=str(tmp_path / "whole"), epochs=2, ema=0.9, **TINY_16)
    part = dcgan.train(out=str(tmp_path / "part"), epochs=2, max_steps=3, ema=0.9, **TINY_16)
    assert last(part).name == "step_000000003"  # mid-epoch 1
    dcgan.train(resume=part, max_steps=10_000)
    assert last(whole).name == last(part).name == "step_000000008"
    sw, sp = assert_same_run(whole, part)
    assert int(sw["ema_n_averaged"]) == int(sp["ema_n_averaged"]) == 8
    for name in ("epoch_0001.png", "epoch_0002.png"):
        assert (whole / "samples" / name).read_bytes() == (part / "samples" / name).read_bytes()

    # The EMA differs from G, sits between G's trajectory points, and sampling uses it by default.
    g, e = load_file(last(whole) / ckpt.G_FILE), load_file(last(whole) / ckpt.EMA_FILE)
    assert not torch.equal(g["net.0.weight"], e["net.0.weight"])
    G_ema, meta = load_generator(whole, bn="running")
    G_raw, _ = load_generator(whole, bn="running", ema=False)
    assert meta.get("ema") is True
    assert torch.equal(G_ema.net[0].weight, e["net.0.weight"])
    assert torch.equal(G_raw.net[0].weight, g["net.0.weight"])


@pytest.mark.slow  # torch.compile on CPU: about 20 s of compilation per process
def test_compiled_run_resumes_bit_for_bit(tiny_mnist, tmp_path):
    whole = dcgan.train(out=str(tmp_path / "whole"), epochs=1, compile=True, **TINY_16)
    part = dcgan.train(out=str(tmp_path / "part"), epochs=1, max_steps=2, compile=True, **TINY_16)
    dcgan.train(resume=part, max_steps=10_000)
    assert last(whole).name == last(part).name == "step_000000004"
    assert_same_run(whole, part)
    keys = load_file(last(whole) / ckpt.G_FILE).keys()
    assert not any(k.startswith(("_orig_mod.", "module.")) for k in keys)
    # an eager run resumed with --compile (allowed: same math) carries on from its checkpoint
    eager = dcgan.train(out=str(tmp_path / "eager"), epochs=2, max_steps=2, **TINY_16)
    dcgan.train(resume=eager, compile=True, max_steps=10_000)
    assert last(eager).name == "step_000000008"
    assert json.loads((eager / "config.json").read_text())["compile"] is True


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
    code = main(["train", *TINY_8_FLAGS, "--max-steps", "60", "--log-every", "2", "--lr", "1e30",
                 "--on-nan", "rollback", "--out", str(tmp_path / "r")])
    assert code == 2 and "rollbacks did not help" in capsys.readouterr().err
    events = [r for r in read_jsonl(tmp_path / "r" / "stats.jsonl") if r.get("event")]
    assert len(events) == 5 and events[-1]["lr_g"] == pytest.approx(1e30 * NAN_LR_FACTOR ** 5)
