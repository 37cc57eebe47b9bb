"""`dcgan eval`, the evaluator classifiers, Stacked MNIST and the training monitor."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from dcgan import data as datasets
from dcgan import checkpoint as ckpt
from dcgan.cli import main
from dcgan.metrics.classifiers import CLASSIFIERS, WEIGHTS_DIR, load_classifier, train_classifier
from dcgan.fsutil import read_jsonl, sha256_file
from dcgan.images import make_grid, save_png
from dcgan.metrics import evaluate

TARGET_ACCURACY = {"mnist": 0.993, "fashion-mnist": 0.92}


@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_shipped_evaluator_matches_its_recorded_hash_and_accuracy(name):
    spec = CLASSIFIERS[name]
    path = WEIGHTS_DIR / spec.file
    assert sha256_file(path) == spec.sha256
    assert path.stat().st_size < 4 * 2 ** 20
    assert spec.test_accuracy >= TARGET_ACCURACY[name]


@pytest.mark.slow
@pytest.mark.parametrize("name", ["mnist", "fashion-mnist"])
def test_shipped_evaluator_reaches_its_accuracy_on_the_real_test_split(name, tmp_path_factory):
    """Measured, not recorded: the shipped weights classify the real test split as claimed."""
    import os

    from dcgan.data.cache import data_root
    from dcgan.errors import DcganError
    from dcgan.metrics.classifiers import _to_input

    root = data_root()
    if not (root / name / "test.safetensors").exists():
        root = tmp_path_factory.mktemp("real-" + name)
        offline = os.environ.pop("DCGAN_OFFLINE", None)
        try:
            datasets.fetch(name, root)
        except DcganError as exc:
            pytest.skip(f"real {name} is neither cached nor fetchable: {exc}")
        finally:
            if offline is not None:
                os.environ["DCGAN_OFFLINE"] = offline
    test = datasets.load(name, "test", root)
    model, _ = load_classifier(name)
    with torch.no_grad():
        pred = torch.cat([model(_to_input(x)).argmax(1) for x in test.images.split(1000)])
    accuracy = (pred == test.labels).float().mean().item()
    assert accuracy >= TARGET_ACCURACY[name]
    assert accuracy == pytest.approx(CLASSIFIERS[name].test_accuracy, abs=5e-4)


def test_evaluator_training_is_reproducible(tiny_mnist, tmp_path):
    a = train_classifier("mnist", out=tmp_path / "a.safetensors", epochs=1, log=lambda s: None)
    b = train_classifier("mnist", out=tmp_path / "b.safetensors", epochs=1, log=lambda s: None)
    assert a["sha256"] == b["sha256"]
    assert a["n_train"] == 200 and a["n_test"] == 100
    model, digest = load_classifier("mnist", path=tmp_path / "a.safetensors")
    assert digest == a["sha256"]
    assert model(torch.zeros(2, 1, 28, 28)).shape == (2, 10)


def test_cli_evaluator_train_reports_accuracy_and_hash(tiny_mnist, tmp_path, capsys):
    assert main(["evaluator", "train", "mnist", "--epochs", "1", "--limit", "64",
                 "--out", str(tmp_path / "c.safetensors")]) == 0
    out = json.loads(capsys.readouterr().out)
    assert 0.0 <= out["test_accuracy"] <= 1.0 and len(out["sha256"]) == 64
    assert out["matches_shipped"] is False


# -- dcgan eval on image files -----------------------------------------------------------------

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
    (["x.npz", "--features", "inception"], "torch-fidelity"),
    (["missing.npz"], "does not exist"),
])
def test_eval_errors_are_one_clear_line(tiny_mnist, tmp_path, capsys, args, message):
    imgs = _test_images(16)
    np.savez(tmp_path / "x.npz", images=imgs.numpy())
    rgb = imgs.expand(-1, 3, -1, -1).clone()
    rgb[:, 1] = 0
    np.savez(tmp_path / "rgb.npz", images=rgb.numpy())
    save_png(make_grid(imgs, nrow=4), tmp_path / "grid.png")
    pytest.importorskip("numpy")
    if "inception" in args:
        try:
            import torch_fidelity  # noqa: F401
            pytest.skip("torch-fidelity is installed here")
        except ImportError:
            pass
    assert main(["eval", str(tmp_path / args[0]), *args[1:], "--n", "16"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and "Traceback" not in err


# -- sanity on the real MNIST -------------------------------------------------------------------

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


# -- Stacked MNIST ------------------------------------------------------------------------------

def test_stacked_mnist_is_deterministic_and_labelled_by_its_digits(tiny_mnist):
    a = datasets.load("stacked-mnist", "test")
    mnist = datasets.load("mnist", "test")
    assert a.images.shape == (10_000, 3, 28, 28) and len(a.classes) == 1000
    from dcgan.data.stacked import SEED, stack

    b = stack(mnist, 10_000, SEED + 1)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    # each channel is an MNIST image and the label spells its three digits
    img, label = a.images[0], int(a.labels[0])
    for c, digit in enumerate(f"{label:03d}"):
        match = (mnist.images[:, 0] == img[c]).flatten(1).all(1)
        assert match.any() and int(digit) in mnist.labels[match].tolist()


def test_stacked_mnist_modes_are_counted_out_of_1000(tiny_mnist):
    test = datasets.load("stacked-mnist", "test")
    result = evaluate(test.images[:300], data="stacked-mnist", n=300)
    m = result["metrics"]
    assert m["n_modes"] == 1000 and 1 <= m["modes"] <= 300
    assert result["protocol"]["feature_dim"] == 3 * 128
    one_mode = test.images[:1].expand(50, -1, -1, -1).contiguous()
    assert evaluate(one_mode, data="stacked-mnist", n=50)["metrics"]["modes"] == 1


# -- during training -----------------------------------------------------------------------------

@pytest.fixture
def small_eval(monkeypatch):
    import dcgan.training.health as mon

    monkeypatch.setattr(mon, "EVAL_N", 200)  # the protocol's 2000 costs seconds per check on CI

def test_eval_every_writes_metrics_and_keeps_the_best_checkpoint(tiny_mnist, tmp_path, small_eval):
    run = tmp_path / "run"
    assert main(["train", "--epochs", "3", "--batch-size", "50", "--eval-every", "1", "--keep", "1",
                 "--ckpt-every", "1", "--out", str(run), "--no-progress"]) == 0
    rows = [r for r in read_jsonl(run / "metrics.jsonl") if "event" not in r]
    assert [r["epoch"] for r in rows] == [1, 2, 3]
    assert all(r["fid2k_classifier"] >= 0 and r["n_modes"] == 10 for r in rows)
    best = ckpt.read_best(run)  # the run's one best record, the one pruning and the report read
    assert best["metric"] == "fid2k_classifier"
    assert best["value"] == min(r["fid2k_classifier"] for r in rows)
    assert ckpt.best(run) == run / "checkpoints" / best["checkpoint"]  # protected from --keep 1
    assert not (run / "best.json").exists()


@pytest.fixture
def d_always_wins(monkeypatch, small_eval):
    import dcgan.training.health as mon

    monkeypatch.setattr(mon, "D_WINS_REAL", -1.0)
    monkeypatch.setattr(mon, "D_WINS_FAKE", 2.0)
    monkeypatch.setattr(mon, "MIN_ROWS", 1)


def test_on_failure_stop_ends_training_with_advice(tiny_mnist, tmp_path, capsys, d_always_wins):
    run = tmp_path / "run"
    assert main(["train", "--epochs", "3", "--batch-size", "50", "--log-every", "1", "--eval-every", "1",
                 "--on-failure", "stop", "--out", str(run), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "discriminator wins" in err and "--soft-labels" in err
    events = [r for r in read_jsonl(run / "metrics.jsonl") if "event" in r]
    assert events == [{**events[0], "event": "d_wins", "action": "stop", "epoch": 1}]


def test_on_failure_rollback_lowers_the_learning_rate(tiny_mnist, tmp_path, capsys, d_always_wins):
    run = tmp_path / "run"
    assert main(["train", "--epochs", "2", "--batch-size", "50", "--log-every", "1", "--eval-every", "1",
                 "--on-failure", "rollback", "--lr", "1e-3", "--out", str(run), "--no-progress"]) == 0
    assert "rolled back" in capsys.readouterr().err
    events = [r for r in read_jsonl(run / "metrics.jsonl") if "event" in r]
    assert [e["action"] for e in events] == ["rollback", "rollback"]
    from dcgan.checkpoint import load_state, newest_good

    state = load_state(newest_good(run))
    assert state["opt_g"]["param_groups"][0]["lr"] == pytest.approx(1e-3 * 0.25)


def test_eval_every_needs_a_data_set_with_an_evaluator(tiny_mnist, tmp_path, capsys, monkeypatch):
    from dcgan.data.cache import ImageSet

    spec = datasets.DataSpec("blobs", "test data", 28, 1, lambda root: {
        split: ImageSet(datasets.load("mnist", split).images) for split in ("train", "test")})
    monkeypatch.setitem(datasets.DATASETS, "blobs", spec)
    code = main(["train", "--data", "blobs", "--eval-every", "1", "--max-steps", "1",
                 "--out", str(tmp_path / "r"), "--no-progress"])
    assert code == 2
    assert "no evaluator classifier for 'blobs'" in capsys.readouterr().err


def test_inception_without_its_weights_is_a_clear_error_not_a_fallback(tiny_mnist, tmp_path, monkeypatch):
    import sys
    import types

    from dcgan.errors import DcganError

    fake = types.ModuleType("torch_fidelity")
    inner = types.ModuleType("torch_fidelity.feature_extractor_inceptionv3")
    inner.FeatureExtractorInceptionV3 = object
    monkeypatch.setitem(sys.modules, "torch_fidelity", fake)
    monkeypatch.setitem(sys.modules, "torch_fidelity.feature_extractor_inceptionv3", inner)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    with pytest.raises(DcganError, match="weights-inception-2015-12-05-6726825d.pth"):
        evaluate(_test_images(8), data="mnist", n=8, features="inception")


def test_a_missing_evaluator_says_how_to_train_it(monkeypatch, tmp_path):
    import dcgan.metrics.classifiers as ev
    from dcgan.errors import DcganError

    monkeypatch.setattr(ev, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(DcganError, match="dcgan evaluator train mnist"):
        load_classifier("mnist")
