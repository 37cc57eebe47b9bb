"""BatchNorm statistics for sampling: precise (re-estimated for the weights) or running (stored)."""

import pytest
import torch
from safetensors.torch import load_file

import dcgan
from dcgan import checkpoint as ckpt
from dcgan.cli import main
from dcgan.errors import DcganError
from dcgan.generation import batchnorm as bnstats
from dcgan.generation.loading import load_generator
from dcgan.models import build_generator

from conftest import TINY_16


def garble_running_stats_(G):
    for m in G.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.running_mean.fill_(3.0)
            m.running_var.fill_(50.0)
    return G


def test_precise_statistics_do_not_depend_on_the_stored_ones():
    arch = {"model": "tf-tutorial", "noise_dim": 100, "channels": 1, "resolution": 28}
    torch.manual_seed(0)
    a = build_generator(arch)
    b = build_generator(arch)
    b.load_state_dict(a.state_dict())
    garble_running_stats_(b)
    z = torch.randn(8, 100)
    with torch.no_grad():
        bnstats.recalibrate_(a, batch_size=32)
        bnstats.recalibrate_(b, batch_size=32)
        assert torch.equal(a(z), b(z))
        # and they are the statistics of the current weights: eval output ≈ train-mode output on
        # the same batches that estimated them
        bn = a.net[1]
        g = torch.Generator().manual_seed(bnstats.PRECISE_SEED)
        h = a.net[0](torch.cat([torch.randn(32, 100, generator=g) for _ in range(bnstats.PRECISE_BATCHES)]))
        assert torch.allclose(bn.running_mean, h.mean(0), atol=1e-6)


def test_inference_leaves_the_training_model_untouched():
    arch = {"model": "tf-tutorial", "noise_dim": 100, "channels": 1, "resolution": 28}
    G = build_generator(arch).train()
    before = {k: v.clone() for k, v in G.state_dict().items()}
    rng = torch.get_rng_state()
    with bnstats.inference(G, "precise", 16) as H:
        assert H is not G and not H.training
    with bnstats.inference(G, "running", 16) as H:
        assert H is G and not H.training
    assert G.training
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())
    assert torch.equal(rng, torch.get_rng_state())
    with pytest.raises(DcganError, match="precise, running"):
        with bnstats.inference(G, "batch", 16):
            pass


def test_grids_never_change_training(tiny_mnist, tmp_path):
    # G dropout draws from the global random stream inside the recalibration pass: it must not leak
    a = dcgan.train(out=str(tmp_path / "a"), epochs=2, g_dropout=0.2, sample_bn="precise", **TINY_16)
    b = dcgan.train(out=str(tmp_path / "b"), epochs=2, g_dropout=0.2, sample_bn="running", **TINY_16)
    la, lb = (ckpt.all_checkpoints(r / "checkpoints")[-1] for r in (a, b))
    for f in (ckpt.G_FILE, ckpt.D_FILE):
        x, y = load_file(la / f), load_file(lb / f)
        assert all(torch.equal(x[k], y[k]) for k in x), f
    assert (a / "samples/epoch_0002.png").read_bytes() != (b / "samples/epoch_0002.png").read_bytes()


def test_sample_bn_choice_from_the_run_and_the_command(tiny_mnist, tmp_path, capsys):
    run = dcgan.train(out=str(tmp_path / "r"), epochs=1, **TINY_16)
    G_run, meta = load_generator(run, bn="running")
    assert meta["bn"] == "running"
    stored = load_file(ckpt.all_checkpoints(run / "checkpoints")[-1] / ckpt.G_FILE)
    assert torch.equal(G_run.net[1].running_var, stored["net.1.running_var"])  # the tutorial's exactly
    G_default, meta = load_generator(run)
    assert meta["bn"] == "precise"
    assert not torch.equal(G_default.net[1].running_var, stored["net.1.running_var"])
    assert main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "p.npz"), "--bn", "running"]) == 0
    assert main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "q.npz")]) == 0
    import numpy as np
    p, q = np.load(tmp_path / "p.npz")["images"], np.load(tmp_path / "q.npz")["images"]
    assert p.shape == q.shape == (4, 1, 28, 28) and not np.array_equal(p, q)
    assert main(["sample", str(run), "--bn", "batch"]) == 2
    assert "invalid choice" in capsys.readouterr().err
