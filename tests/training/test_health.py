"""Health checks during training: --eval-every writes metrics and keeps the best checkpoint, and
--on-failure stops or rolls back when D always wins."""

from __future__ import annotations

import pytest

from dcgan import checkpoint as ckpt
from dcgan import data as datasets
from dcgan.cli import main
from dcgan.fsutil import read_jsonl


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
    # the one rollback mechanism: recorded in stats.jsonl as --on-nan's are, counted in the state
    rolled = [r for r in read_jsonl(run / "stats.jsonl") if r.get("event") == "health_rollback"]
    assert [r["rollback"] for r in rolled] == [1, 2] and rolled[-1]["lr_g"] == pytest.approx(2.5e-4)
    assert state["rollbacks"] == 2 and state["lr_scale"] == pytest.approx(0.25)


def test_both_kinds_of_rollback_count_against_one_limit(tiny_mnist, tmp_path, capsys, d_always_wins,
                                                        monkeypatch):
    import dcgan.training.state as run_state

    monkeypatch.setattr(run_state, "MAX_ROLLBACKS", 1)
    run = tmp_path / "run"
    code = main(["train", "--epochs", "3", "--batch-size", "50", "--log-every", "1", "--eval-every", "1",
                 "--on-failure", "rollback", "--out", str(run), "--no-progress"])
    assert code == 2 and "Training stopped" in capsys.readouterr().err  # the 2nd failure: no rollback left
    actions = [r["action"] for r in read_jsonl(run / "metrics.jsonl") if "event" in r]
    assert actions == ["rollback", "stop"]


def test_eval_every_needs_a_data_set_with_an_evaluator(tiny_mnist, tmp_path, capsys, monkeypatch):
    from dcgan.data.cache import ImageSet

    spec = datasets.DataSpec("blobs", "test data", 28, 1, lambda root: {
        split: ImageSet(datasets.load("mnist", split).images) for split in ("train", "test")})
    monkeypatch.setitem(datasets.DATASETS, "blobs", spec)
    code = main(["train", "--data", "blobs", "--eval-every", "1", "--max-steps", "1",
                 "--out", str(tmp_path / "r"), "--no-progress"])
    assert code == 2
    assert "no evaluator classifier for 'blobs'" in capsys.readouterr().err


# -- the default watch: no --eval-every, a data set with a shipped evaluator ---------------------
WATCH = ["train", "--batch-size", "50", "--limit", "100", "--log-every", "1", "--no-progress", "--no-report"]


def test_the_watch_records_modes_and_leaves_the_training_alone(tiny_mnist, tmp_path):
    from conftest import assert_same_run

    watched, plain = tmp_path / "watched", tmp_path / "plain"
    extra = ["--epochs", "2", "--ema", "0.9", "--g-dropout", "0.2"]  # EMA and dropout's global stream too
    assert main([*WATCH, *extra, "--out", str(watched)]) == 0
    assert main([*WATCH, *extra, "--eval-every", "0", "--out", str(plain)]) == 0
    rows = read_jsonl(watched / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [1, 2]
    assert all(0 <= r["modes1k_classifier"] <= r["n_modes"] == 10 and r["kl1k_classifier"] >= 0
               for r in rows)
    assert ckpt.read_best(watched) is None  # a watch keeps no best checkpoint: --eval-every does
    assert not (plain / "metrics.jsonl").exists()  # --eval-every 0: no watch
    assert_same_run(watched, plain)
    grids = sorted((watched / "samples").glob("*.png"))
    assert len(grids) == 2
    assert [p.read_bytes() for p in grids] == [(plain / "samples" / p.name).read_bytes() for p in grids]


def test_the_watch_on_stacked_mnist_records_the_kl_in_each_channels_digit_shares(tiny_mnist, tmp_path):
    from dcgan.plots import title

    run = tmp_path / "stacked"
    assert main([*WATCH, "--data", "stacked-mnist", "--epochs", "1", "--out", str(run)]) == 0
    (row,) = read_jsonl(run / "metrics.jsonl")
    assert row["n_modes"] == 1000
    assert 0 <= row["kl_marginals1k_classifier"] <= row["kl1k_classifier"]
    assert title("kl_marginals1k_classifier") == "KL in digit shares, 1,000 samples (classifier features)"


def test_a_collapse_is_said_once_in_the_console_and_the_report(tiny_mnist, tmp_path, capsys, monkeypatch):
    pytest.importorskip("matplotlib")
    import dcgan.training.health as mon

    seen = iter([10, 6, 6, 10, 5])  # collapse, still collapsed (no second warning), recovery, again
    monkeypatch.setattr(mon.Watch, "measure", lambda self, G: {mon.WATCH_MODES: next(seen), "n_modes": 10,
                                                               mon.WATCH_KL: 0.1})
    run = tmp_path / "run"
    args = [a for a in WATCH if a != "--no-report"]
    assert main([*args, "--epochs", "5", "--limit", "50", "--sample-bn", "running", "--out", str(run)]) == 0
    err = capsys.readouterr().err
    assert "warning: modes covered fell from 10 to 6 of 10" in err and "mode collapse" in err
    events = [r for r in read_jsonl(run / "metrics.jsonl") if "event" in r]
    assert [(e["event"], e["epoch"], e["action"]) for e in events] == [("modes", 2, "warn"), ("modes", 5, "warn")]
    page = (run / "report.html").read_text()
    assert "none recorded" not in page and "modes covered fell from 10 to 6" in page


def test_the_watch_scales_its_collapse_rule_with_the_modes():
    """Stacked MNIST's 1000 modes from 1000 samples wobble by ~10: a fall of 2 is noise there."""
    import math

    import dcgan.training.health as mon

    def drop(peak: int) -> int:
        return max(mon.MODES_DROP, math.ceil(mon.WATCH_DROP_SHARE * peak))

    assert drop(10) == 2 and drop(630) == 63


def test_a_data_set_without_an_evaluator_is_not_watched(tiny_mnist, tmp_path, monkeypatch):
    from dcgan.data.cache import ImageSet

    spec = datasets.DataSpec("blobs", "test data", 28, 1, lambda root: {
        split: ImageSet(datasets.load("mnist", split).images) for split in ("train", "test")})
    monkeypatch.setitem(datasets.DATASETS, "blobs", spec)
    run = tmp_path / "r"
    assert main([*WATCH, "--data", "blobs", "--epochs", "1", "--limit", "50", "--out", str(run)]) == 0
    assert not (run / "metrics.jsonl").exists()
