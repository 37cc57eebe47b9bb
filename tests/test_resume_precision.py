"""Exact resume under mixed precision: a bf16 (or fp16 + GradScaler) run stopped mid-epoch and
resumed ends bit for bit where the uninterrupted run of the same precision ends."""

import pytest
import torch
from safetensors.torch import load_file

import dcgan
from dcgan import checkpoint as ckpt

TINY = {"batch_size": 16, "limit": 64, "log_every": 1, "progress": False}  # 4 steps per epoch


def final(run):
    last = ckpt.all_checkpoints(run / "checkpoints")[-1]
    return last.name, load_file(last / ckpt.G_FILE), load_file(last / ckpt.D_FILE), ckpt.load_state(last)


def assert_same_run(a, b):
    name_a, ga, da, sa = final(a)
    name_b, gb, db, sb = final(b)
    assert name_a == name_b
    for x, y in ((ga, gb), (da, db)):
        assert x.keys() == y.keys()
        for k in x:
            assert torch.equal(x[k], y[k]), k  # bit for bit, not approximately
    for opt in ("opt_g", "opt_d"):
        for i, st in sa[opt]["state"].items():
            assert torch.equal(st["exp_avg"], sb[opt]["state"][i]["exp_avg"])
            assert torch.equal(st["exp_avg_sq"], sb[opt]["state"][i]["exp_avg_sq"])
    assert torch.equal(sa["rng"], sb["rng"]) and torch.equal(sa["torch_rng"], sb["torch_rng"])
    return sa, sb


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
    whole = dcgan.train(out=str(tmp_path / "whole"), epochs=1, precision=precision, **TINY)
    part = dcgan.train(out=str(tmp_path / "part"), epochs=1, max_steps=2, precision=precision, **TINY)
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
