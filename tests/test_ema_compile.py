"""--ema (a moving average of G's weights) and --compile: both resume exactly, and the EMA generator
is what grids, samples and evaluations use."""

import json

import pytest
import torch
from safetensors.torch import load_file

import dcgan
from dcgan import checkpoint as ckpt
from dcgan.cli import main
from dcgan.errors import DcganError
from dcgan.generation.loading import load_generator

TINY = {"batch_size": 16, "limit": 64, "log_every": 1, "progress": False}  # 4 steps per epoch


def last(run):
    return ckpt.all_checkpoints(run / "checkpoints")[-1]


def same_files(a, b, names):
    for name in names:
        x, y = load_file(a / name), load_file(b / name)
        assert x.keys() == y.keys()
        for k in x:
            assert torch.equal(x[k], y[k]), (name, k)


def test_ema_is_the_average_and_resumes_bit_for_bit(tiny_mnist, tmp_path):
    whole = dcgan.train(out=str(tmp_path / "whole"), epochs=2, ema=0.9, **TINY)
    part = dcgan.train(out=str(tmp_path / "part"), epochs=2, max_steps=3, ema=0.9, **TINY)
    assert last(part).name == "step_000000003"  # mid-epoch 1
    dcgan.train(resume=part, max_steps=10_000)
    assert last(whole).name == last(part).name == "step_000000008"
    same_files(last(whole), last(part), (ckpt.G_FILE, ckpt.D_FILE, ckpt.EMA_FILE))
    sw, sp = ckpt.load_state(last(whole)), ckpt.load_state(last(part))
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


def test_ema_one_step_is_exactly_the_formula(tiny_mnist, tmp_path):
    one = dcgan.train(out=str(tmp_path / "one"), epochs=1, max_steps=1, ema=0.5, **TINY)
    two = dcgan.train(out=str(tmp_path / "two"), epochs=1, max_steps=2, ema=0.5, **TINY)
    g1, g2 = load_file(last(one) / ckpt.G_FILE), load_file(last(two) / ckpt.G_FILE)
    e2 = load_file(last(two) / ckpt.EMA_FILE)
    for k in ("net.0.weight", "net.4.weight"):  # EMA_2 = 0.5 * G_1 + 0.5 * G_2 (EMA_1 = G_1)
        assert torch.allclose(e2[k], torch.lerp(g1[k], g2[k], 0.5), atol=0, rtol=0)


def test_ema_flags(tiny_mnist, tmp_path, capsys):
    with pytest.raises(DcganError, match=r"\[0, 1\)"):
        dcgan.train(out=str(tmp_path / "bad"), ema=1.0, **TINY)
    plain = dcgan.train(out=str(tmp_path / "plain"), epochs=1, **TINY)
    assert not (last(plain) / ckpt.EMA_FILE).exists()
    with pytest.raises(DcganError, match="without --ema"):
        load_generator(plain, ema=True)
    # turning EMA on for a resumed run is a change of recipe: refused, nothing written
    before = sorted(p.name for p in (plain / "checkpoints").iterdir())
    assert main(["train", "--resume", str(plain), "--ema", "0.99", "--epochs", "2"]) != 0
    assert "ema" in capsys.readouterr().err
    assert sorted(p.name for p in (plain / "checkpoints").iterdir()) == before
    # an EMA file that the manifest does not vouch for makes the checkpoint untrusted
    (last(plain) / ckpt.EMA_FILE).write_bytes(b"x")
    assert "not in the manifest" in ckpt.verify(last(plain))


def test_sample_no_ema(tiny_mnist, tmp_path):
    run = dcgan.train(out=str(tmp_path / "r"), epochs=1, ema=0.9, **TINY)
    assert main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "e.npz")]) == 0
    assert main(["sample", str(run), "--n", "4", "--no-ema", "--out", str(tmp_path / "g.npz")]) == 0
    import numpy as np
    assert not np.array_equal(np.load(tmp_path / "e.npz")["images"], np.load(tmp_path / "g.npz")["images"])


@pytest.mark.slow  # torch.compile on CPU: about 20 s of compilation per process
def test_compiled_run_resumes_bit_for_bit(tiny_mnist, tmp_path):
    whole = dcgan.train(out=str(tmp_path / "whole"), epochs=1, compile=True, **TINY)
    part = dcgan.train(out=str(tmp_path / "part"), epochs=1, max_steps=2, compile=True, **TINY)
    dcgan.train(resume=part, max_steps=10_000)
    assert last(whole).name == last(part).name == "step_000000004"
    same_files(last(whole), last(part), (ckpt.G_FILE, ckpt.D_FILE))
    keys = load_file(last(whole) / ckpt.G_FILE).keys()
    assert not any(k.startswith(("_orig_mod.", "module.")) for k in keys)
    # an eager run resumed with --compile (allowed: same math) carries on from its checkpoint
    eager = dcgan.train(out=str(tmp_path / "eager"), epochs=2, max_steps=2, **TINY)
    dcgan.train(resume=eager, compile=True, max_steps=10_000)
    assert last(eager).name == "step_000000008"
    assert json.loads((eager / "config.json").read_text())["compile"] is True
