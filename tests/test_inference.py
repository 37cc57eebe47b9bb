"""Sampling and the discriminator's decision, from a checkpoint alone."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

import dcgan
from dcgan import checkpoint as ckpt
from dcgan.cli import main


@pytest.fixture
def run(tiny_mnist, tmp_path):
    return dcgan.train(out=str(tmp_path / "run"), max_steps=2, batch_size=32, progress=False)


def test_checkpoint_alone_rebuilds_the_generator(run):
    G, meta = dcgan.load_generator(run)
    assert meta["arch"] == {"model": "tf-tutorial", "channels": 1, "resolution": 28, "noise_dim": 100}
    assert meta["noise"]["dim"] == 100 and meta["output_range"] == [-1.0, 1.0]
    newest = ckpt.newest_good(run)
    G2, _ = dcgan.load_generator(newest / ckpt.G_FILE)  # the weights file alone works as well
    z = torch.randn(3, 100)
    torch.testing.assert_close(G(z), G2(z))
    assert not G.training


def assert_same_up_to_rounding(a, b):
    """The same images from other batch sizes: oneDNN blocks a convolution by batch size, so the
    float sums differ in the last bits and a pixel lying on a rounding boundary may move one level
    (seen: 1 pixel of 5,488, the same one in a single image of 784). Anything more is a real difference."""
    d = np.abs(np.asarray(a, dtype=np.int16) - np.asarray(b, dtype=np.int16))
    assert d.max() <= 1 and (d > 0).mean() <= 0.01


def test_sample_is_reproducible_by_seed_and_batch_size_independent(run):
    a = dcgan.sample(run, n=10, seed=3)
    b = dcgan.sample(run, n=10, seed=3, batch_size=4)
    c = dcgan.sample(run, n=10, seed=4)
    assert a.shape == (10, 1, 28, 28) and a.dtype == torch.uint8
    assert torch.equal(a, dcgan.sample(run, n=10, seed=3))  # same seed, same batches: bit for bit
    assert_same_up_to_rounding(a, b)
    assert (a.int() - c.int()).abs().max() > 1              # another seed: other images


def test_sample_outputs(run, tmp_path):
    assert main(["sample", str(run), "--n", "16", "--seed", "0", "--out", str(tmp_path / "g.png")]) == 0
    with Image.open(tmp_path / "g.png") as img:
        assert img.size == (4 * 30 + 2, 4 * 30 + 2)
    assert main(["sample", str(run), "--n", "5", "--out", str(tmp_path / "each") + "/"]) == 0
    assert sorted(p.name for p in (tmp_path / "each").iterdir()) == [f"{i:06d}.png" for i in range(5)]
    assert main(["sample", str(run), "--n", "7", "--out", str(tmp_path / "x.npz"),
                 "--batch-size", "3"]) == 0
    arr = np.load(tmp_path / "x.npz")["images"]
    assert arr.shape == (7, 1, 28, 28) and arr.dtype == np.uint8
    assert_same_up_to_rounding(arr, dcgan.sample(run, n=7, seed=0).numpy())  # batches of 3 vs 7
    with Image.open(tmp_path / "each" / "000002.png") as img:
        assert_same_up_to_rounding(np.asarray(img), arr[2, 0])  # one batch of 5 vs batches of 3


def test_discriminate_gives_logit_and_probability(run, tmp_path, capsys):
    img = tmp_path / "digit.png"
    Image.fromarray(np.zeros((28, 28), np.uint8)).save(img)
    assert main(["discriminate", str(run), str(img), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert row["p_real"] == pytest.approx(1 / (1 + np.exp(-row["logit"])))
    assert main(["discriminate", str(run), str(img)]) == 0
    assert "P(real)" in capsys.readouterr().out


def test_discriminate_wrong_size_is_a_clear_error(run, tmp_path, capsys):
    img = tmp_path / "big.png"
    Image.fromarray(np.zeros((32, 32, 3), np.uint8)).save(img)
    assert main(["discriminate", str(run), str(img)]) == 2
    err = capsys.readouterr().err
    assert "is 32x32 but this discriminator takes 28x28" in err and err.count("\n") == 1


def test_sample_from_nothing_is_a_clear_error(tmp_path, capsys):
    assert main(["sample", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "g.safetensors").write_bytes(b"not weights")
    assert main(["sample", str(tmp_path / "g.safetensors")]) == 2
    assert "not a dcgan weights file" in capsys.readouterr().err


def test_summary_and_models_commands(capsys):
    assert main(["summary", "tf-tutorial"]) == 0
    out = capsys.readouterr().out
    assert "Total params: 2,330,944" in out and "Total params: 212,865" in out
    assert main(["models"]) == 0
    assert "tf-tutorial" in capsys.readouterr().out


def test_data_show_writes_a_5x5_grid(tiny_mnist, tmp_path):
    assert main(["data", "show", "mnist", "--out", str(tmp_path / "p.png")]) == 0
    with Image.open(tmp_path / "p.png") as img:
        assert img.size == (2 * (5 * 30 + 2),) * 2
