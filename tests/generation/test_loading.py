"""Rebuilding the generator from a checkpoint alone: a run folder or a weights file, every preset
with no flags, and a clear error for anything else."""

from __future__ import annotations

import pytest
import torch

import dcgan
from dcgan import checkpoint as ckpt
from dcgan.cli import main
from dcgan.models import PRESETS

from conftest import RUN_ARGS, _train


def test_checkpoint_alone_rebuilds_the_generator(run):
    G, meta = dcgan.load_generator(run)
    assert meta["arch"] == {"model": "tf-tutorial", "channels": 1, "resolution": 28, "noise_dim": 100}
    assert meta["noise"]["dim"] == 100 and meta["output_range"] == [-1.0, 1.0]
    newest = ckpt.newest_good(run)
    G2, _ = dcgan.load_generator(newest / ckpt.G_FILE)  # the weights file alone works as well
    z = torch.randn(3, 100)
    torch.testing.assert_close(G(z), G2(z))
    assert not G.training


NATIVE = {"bonsai64": ["--resolution", "64"]}


@pytest.mark.parametrize("model", list(RUN_ARGS))
def test_the_checkpoint_rebuilds_the_generator_with_no_flags(tiny_mnist, tmp_path, model):
    run = _train(tmp_path, model, *NATIVE.get(model, []))
    G, meta = dcgan.load_generator(run)
    assert meta["arch"]["model"] == model
    if model in NATIVE:
        assert G.resolution == PRESETS[model].resolution
    with torch.no_grad():
        x = G(torch.randn(2, G.noise_dim))
    assert x.shape == (2, G.channels, G.resolution, G.resolution)


def test_sample_from_nothing_is_a_clear_error(tmp_path, capsys):
    assert main(["sample", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "g.safetensors").write_bytes(b"not weights")
    assert main(["sample", str(tmp_path / "g.safetensors")]) == 2
    assert "not a dcgan weights file" in capsys.readouterr().err
