"""The evaluator classifiers: the shipped weights (hash, accuracy), reproducible training, the
Stacked MNIST protocol (1000 modes), and a missing evaluator."""

from __future__ import annotations

import json

import pytest
import torch

from dcgan import data as datasets
from dcgan.cli import main
from dcgan.fsutil import sha256_file
from dcgan.metrics import evaluate, format_table
from dcgan.metrics.classifiers import CLASSIFIERS, WEIGHTS_DIR, load_classifier, train_classifier

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


def test_stacked_mnist_modes_are_counted_out_of_1000(tiny_mnist):
    test = datasets.load("stacked-mnist", "test")
    result = evaluate(test.images[:300], data="stacked-mnist", n=300)
    m = result["metrics"]
    assert m["n_modes"] == 1000 and 1 <= m["modes"] <= 300
    assert result["protocol"]["feature_dim"] == 3 * 128
    assert m["kl_marginals"] + m["kl_combination"] == pytest.approx(m["kl_uniform"])
    assert "in digit shares" in format_table(result)
    one_mode = test.images[:1].expand(50, -1, -1, -1).contiguous()
    assert evaluate(one_mode, data="stacked-mnist", n=50)["metrics"]["modes"] == 1


def test_a_missing_evaluator_says_how_to_train_it(monkeypatch, tmp_path):
    import dcgan.metrics.classifiers as ev
    from dcgan.errors import DcganError

    monkeypatch.setattr(ev, "WEIGHTS_DIR", tmp_path)
    with pytest.raises(DcganError, match="dcgan evaluator train mnist"):
        load_classifier("mnist")


def test_evaluator_train_never_writes_into_the_installed_package(tiny_mnist, capsys):
    shipped = WEIGHTS_DIR / CLASSIFIERS["mnist"].file
    before = shipped.read_bytes()
    assert main(["evaluator", "train", "mnist", "--epochs", "1", "--limit", "64"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["weights"] == str(tiny_mnist / "classifiers" / "mnist-classifier.safetensors")
    assert shipped.read_bytes() == before
    assert main(["evaluator", "train", "mnist", "--epochs", "1", "--limit", "64", "--out", str(shipped)]) == 2
    assert "would replace the shipped mnist classifier" in capsys.readouterr().err
    assert shipped.read_bytes() == before
