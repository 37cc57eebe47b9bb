"""What watches a run: TensorBoard logs the scalars and the sample grid, or says how to install it."""

from __future__ import annotations

import sys

import pytest

from dcgan.cli import main

from conftest import TRAIN


def test_tensorboard_logs_scalars_and_the_grid(tiny_mnist, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "tb"
    assert main(["train", "--max-steps", "2", "--batch-size", "100", "--no-progress", "--log-every", "1",
                 "--no-report", "--tensorboard", "--out", str(run)]) == 0
    acc = EventAccumulator(str(run / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    tags = acc.Tags()
    assert {"loss/d", "loss/g", "D/x", "D/G(z)", "speed/images_per_s"} <= set(tags["scalars"])
    assert [e.step for e in acc.Scalars("loss/d")] == [1, 2]
    assert "samples/fixed_noise" in tags["images"]


def test_tensorboard_missing_is_a_clear_error(tiny_mnist, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import now fails
    assert main([*TRAIN, "--tensorboard", "--out", str(tmp_path / "x")]) == 2
    assert "pip install" in capsys.readouterr().err


# -- --log-to: the observer interface and its wandb / MLflow observers ----------------------------
LOG = ["train", "--max-steps", "2", "--batch-size", "100", "--no-progress", "--log-every", "1",
       "--no-report", "--eval-every", "0"]


def test_every_observer_fits_one_interface():
    from dcgan.training import trackers

    hooks = {"log", "epoch_end", "metrics", "close"}
    for cls in trackers.OBSERVERS.values():
        assert hooks <= set(vars(cls)), cls


def test_log_to_takes_a_closed_set_in_one_spelling(tmp_path):
    from dcgan.errors import DcganError
    from dcgan.training.config import resolve

    cfg = resolve({"log_to": "mlflow, wandb", "tensorboard": True})
    assert cfg.log_to == "tensorboard,wandb,mlflow" and cfg.tensorboard
    assert resolve({"log_to": "tensorboard"}).tensorboard
    with pytest.raises(DcganError, match="comma-separated subset of tensorboard, wandb, mlflow"):
        resolve({"log_to": "tensorbored"})


@pytest.mark.parametrize("name, package", [("wandb", "wandb"), ("mlflow", "mlflow-skinny")])
def test_a_missing_tracker_is_one_line_with_the_pip_line(tiny_mnist, tmp_path, monkeypatch, capsys,
                                                         name, package):
    monkeypatch.setitem(sys.modules, "wandb", None)  # import now fails
    monkeypatch.setitem(sys.modules, "mlflow", None)
    monkeypatch.setitem(sys.modules, "mlflow.tracking", None)
    assert main([*TRAIN, "--log-to", name, "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (f"error: --log-to {name} needs the {package} package: pip install "
                       f"'dcgan[trackers]' (or pip install {package}), or train without {name} in --log-to")


def test_mlflow_gets_params_metrics_and_grids(tiny_mnist, tmp_path, monkeypatch):
    pytest.importorskip("mlflow")
    from mlflow.tracking import MlflowClient

    store = (tmp_path / "mlruns").as_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", store)
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # MLflow 3 deprecates it; it needs no database
    run = tmp_path / "ml"
    assert main([*LOG, "--log-to", "mlflow", "--out", str(run)]) == 0
    import json

    run_id = json.loads((run / "trackers.json").read_text())["mlflow"]
    client = MlflowClient(store)
    got = client.get_run(run_id)
    assert got.data.params["model"] == '"tf-tutorial"' and got.info.status == "FINISHED"
    assert [m.step for m in client.get_metric_history(run_id, "loss/d")] == [1, 2]
    assert "grad_norm/g" in got.data.metrics
    assert [a.path for a in client.list_artifacts(run_id, "samples")] == ["samples/epoch_0001.png"]


def test_wandb_logs_offline_into_the_run_folder(tiny_mnist, tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    run = tmp_path / "wb"
    assert main([*LOG, "--log-to", "wandb", "--out", str(run)]) == 0
    import json

    run_id = json.loads((run / "trackers.json").read_text())["wandb"]
    (offline,) = (run / "wandb").glob(f"offline-run-*-{run_id}")
    assert list(offline.glob("*.wandb"))  # the run's log, for `wandb sync` later


def test_a_tracking_store_that_refuses_is_one_line(tiny_mnist, tmp_path, monkeypatch, capsys):
    pytest.importorskip("mlflow")
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "nosuchscheme://x")
    assert main([*LOG, "--log-to", "mlflow", "--out", str(tmp_path / "m")]) == 2
    err = capsys.readouterr().err
    assert "--log-to mlflow: the tracking store" in err and "MLFLOW_TRACKING_URI" in err
    assert "Traceback" not in err


def test_observers_get_the_new_metrics_lines_at_epoch_ends_and_at_the_close(tmp_path, monkeypatch):
    """metrics.jsonl is written after the epoch's hooks (health.py): its lines reach every observer
    at the next epoch end, and the last ones when training finishes."""
    from types import SimpleNamespace

    import numpy as np

    from dcgan.fsutil import append_jsonl
    from dcgan.training import trackers

    seen = []

    class Recorder:
        def __init__(self, run_dir, config):
            self.config = config

        def log(self, row):
            seen.append(("log", row["step"]))

        def epoch_end(self, step, epoch, seconds, grid):
            seen.append(("epoch", epoch))

        def metrics(self, rows, step):
            seen.append(("metrics", [r.get("event") or r["modes1k_classifier"] for r in rows]))

        def close(self):
            seen.append(("close",))

    monkeypatch.setitem(trackers.OBSERVERS, "recorder", Recorder)
    append_jsonl(tmp_path / "metrics.jsonl", [{"step": 0, "modes1k_classifier": 3}])  # before a resume
    t = trackers.Trackers(tmp_path, ("recorder",), report=False, config={"model": "x"})
    trainer = SimpleNamespace(epoch=1, step=5, n=10)
    t.log({"step": 5, "d_loss": 1.0})
    t.epoch_end(trainer, 1.0, np.zeros((4, 4, 3), np.uint8))
    append_jsonl(tmp_path / "metrics.jsonl", [{"step": 5, "modes1k_classifier": 9},
                                              {"step": 5, "event": "modes", "message": "fell"}])
    trainer.epoch, trainer.step = 2, 10
    t.epoch_end(trainer, 1.0, np.zeros((4, 4, 3), np.uint8))
    append_jsonl(tmp_path / "metrics.jsonl", [{"step": 10, "modes1k_classifier": 10}])
    t.finish(tmp_path)
    assert seen == [("log", 5), ("epoch", 1), ("epoch", 2), ("metrics", [9, "modes"]),
                    ("metrics", [10]), ("close",)]
