"""Per-class metrics of a conditional generator: class accuracy and intra-FID against their
definitions on a tiny example, and `dcgan eval` of a conditional run reporting them beside the
overall numbers (an unconditional run's result has none)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import dcgan
from dcgan import data as datasets
from dcgan.cli import main
from dcgan.metrics import perclass
from dcgan.metrics.registry import frechet_distance, gaussian_stats


def test_class_accuracy_and_intra_fid_follow_their_definitions(monkeypatch):
    monkeypatch.setattr(perclass, "INTRA_FID_MIN", 3)
    rng = np.random.default_rng(0)
    real, real_labels = rng.normal(size=(12, 2)), np.array([0, 1, 2] * 4)
    fake = rng.normal(size=(9, 2))               # image i asked for class i mod 3
    read = np.array([0, 1, 2, 0, 2, 2, 1, 1, 2])  # class 0: 2/3 right, class 1: 2/3, class 2: 3/3
    out = perclass.measure(["a", "b", "c"], real, real_labels, fake, read, 3)
    assert out["class_accuracy"] == pytest.approx(7 / 9)
    assert [r["accuracy"] for r in out["per_class"]] == pytest.approx([2 / 3, 2 / 3, 1.0])
    fids = [frechet_distance(*gaussian_stats(real[real_labels == c]), *gaussian_stats(fake[c::3])) for c in range(3)]
    assert [r["fid"] for r in out["per_class"]] == pytest.approx(fids)
    assert out["intra_fid"] == pytest.approx(np.mean(fids)) and out["intra_fid_max"] == pytest.approx(max(fids))
    # a classifier of other classes gives no accuracy; a reference without labels no intra-FID
    other = perclass.measure(["a", "b", "c"], real, None, fake, read, 10)
    assert "class_accuracy" not in other and "intra_fid" not in other


def test_eval_of_a_conditional_run_reports_class_accuracy_and_intra_fid(tiny_mnist, tmp_path, capsys,
                                                                         monkeypatch):
    monkeypatch.setattr(perclass, "INTRA_FID_MIN", 5)
    run = dcgan.train(model="lean", cond="acgan", out=str(tmp_path / "run"), max_steps=2, batch_size=32,
                      progress=False, eval_every=0, report=False)
    assert main(["eval", str(run), "--n", "100", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    m = r["metrics"]
    assert 0 <= m["class_accuracy"] <= 1 and len(m["per_class"]) == 10 and m["intra_fid"] > 0
    assert [row["class"] for row in m["per_class"]] == [str(d) for d in range(10)]
    # the images' classes follow the training labels' shares (tiny_mnist's are uneven), as recorded
    shares = np.bincount(datasets.load("mnist", "train").labels.numpy(), minlength=10) / 200
    assert r["source"]["class_prior"] == pytest.approx(shares) and shares.max() - shares.min() > 0.04
    asked = perclass.requested(100, 10, r["source"]["class_prior"])
    assert [row["n"] for row in m["per_class"]] == np.bincount(asked, minlength=10).tolist()
    assert np.abs(np.bincount(asked, minlength=10) - 100 * shares).max() <= 2
    assert "fid" in m and "per_class_rule" in r["protocol"] and r["source"]["classes"][7] == "7"
    assert main(["eval", str(run), "--n", "100"]) == 0
    table = capsys.readouterr().out
    assert "class accuracy" in table and "intra-FID" in table


def test_eval_of_an_unconditional_run_has_no_per_class_numbers(tiny_mnist, tiny_run, capsys):
    assert main(["eval", str(tiny_run), "--n", "100", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert not {"class_accuracy", "intra_fid", "per_class"} & set(r["metrics"])
    assert "per_class_rule" not in r["protocol"] and "classes" not in r["source"]
