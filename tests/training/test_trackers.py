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
