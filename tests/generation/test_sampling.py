"""Sampling and the discriminator's decision, from a checkpoint alone: seeds, batch sizes, output
formats, --no-ema, and a packed discriminator's decisions."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

import dcgan
from dcgan import checkpoint as ckpt
from dcgan.cli import main
from dcgan.errors import DcganError
from dcgan.images import make_grid, save_png

from conftest import TINY_16


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


def test_sample_no_ema(tiny_mnist, tmp_path):
    run = dcgan.train(out=str(tmp_path / "r"), epochs=1, ema=0.9, **TINY_16)
    assert main(["sample", str(run), "--n", "4", "--out", str(tmp_path / "e.npz")]) == 0
    assert main(["sample", str(run), "--n", "4", "--no-ema", "--out", str(tmp_path / "g.npz")]) == 0
    import numpy as np
    assert not np.array_equal(np.load(tmp_path / "e.npz")["images"], np.load(tmp_path / "g.npz")["images"])


def test_packed_run_trains_resumes_samples_and_discriminates(tiny_mnist, tmp_path):
    run = dcgan.train(out=str(tmp_path / "p"), epochs=1, pack=2, **TINY_16)
    dcgan.train(resume=run, epochs=2)
    assert ckpt.all_checkpoints(run / "checkpoints")[-1].name == "step_000000008"
    assert ckpt.load_state(ckpt.newest_good(run))["arch"]["pack"] == 2
    imgs = dcgan.sample(run, n=4)
    paths = []
    for i in range(3):
        save_png(make_grid(imgs[i:i + 1], nrow=1, padding=0), tmp_path / f"{i}.png")
        paths.append(tmp_path / f"{i}.png")
    decisions = dcgan.discriminate(run, paths[:2])
    assert len(decisions) == 1 and 0.0 <= decisions[0]["p_real"] <= 1.0
    assert str(paths[0]) in decisions[0]["image"] and str(paths[1]) in decisions[0]["image"]
    with pytest.raises(DcganError, match="multiple of 2"):
        dcgan.discriminate(run, paths)


def test_sample_and_explore_refuse_impossible_numbers_before_starting(run, capsys):
    assert main(["sample", str(run), "--batch-size", "0", "--out", "x.png"]) == 2
    assert "--batch-size 0: give at least 1 image per batch" in capsys.readouterr().err
    assert main(["explore", str(run), "--port", "70000"]) == 2
    assert "--port 70000: give a TCP port from 1 to 65535" in capsys.readouterr().err


def test_discriminate_takes_tensors_as_well_as_files(run):
    import torch

    from dcgan.errors import DcganError

    x = torch.randint(0, 256, (3, 1, 28, 28), dtype=torch.uint8)
    as_uint8 = dcgan.discriminate(run, x)
    as_float = dcgan.discriminate(run, x.float() / 127.5 - 1)
    assert [d["image"] for d in as_uint8] == ["tensor[0]", "tensor[1]", "tensor[2]"]
    for a, b in zip(as_uint8, as_float):
        assert a["logit"] == pytest.approx(b["logit"], abs=1e-5) and 0 <= a["p_real"] <= 1
    assert len(dcgan.discriminate(run, x[0])) == 1  # one (C, H, W) image
    for bad, message in ((torch.zeros(2, 3, 28, 28), "takes \\(N, 1, 28, 28\\)"),
                         (torch.full((1, 1, 28, 28), 5.0), "must be in \\[-1, 1\\]"),
                         (42, "image files or a tensor of images, not int")):
        with pytest.raises(DcganError, match=message):
            dcgan.discriminate(run, bad)
