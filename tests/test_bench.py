"""dcgan bench and the speed settings: the figures come with their settings, and the settings
change how the step is computed, not what it computes."""

from __future__ import annotations

import json

import torch

from dcgan.training import throughput as bench
from dcgan.training.speed import unwrap
from dcgan.cli import main


def test_bench_prints_settings_hardware_and_median_min_max(capsys):
    assert main(["bench", "--batch-size", "8", "--warmup", "0", "--windows", "2", "--steps", "1",
                 "--sample-batch", "8", "--device", "cpu", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["settings"]["model"] == "tf-tutorial" and out["settings"]["batch_size"] == 8
    assert out["settings"]["adam"] == "foreach"  # the CPU default
    assert out["hardware"]["threads"] >= 1 and "cpu" in out["hardware"]
    for key in ("train_images_per_s", "sample_images_per_s"):
        r = out[key]
        assert r["windows"] == 2 and 0 < r["min"] <= r["median"] <= r["max"]


def test_bench_refuses_zero_windows(capsys):
    assert main(["bench", "--windows", "0"]) == 2
    assert "--windows must be at least 1" in capsys.readouterr().err


def _weights_after_two_steps(**overrides) -> torch.Tensor:
    tr = bench.make_trainer({"batch_size": 8, "device": "cpu", **overrides})
    step, _ = bench.train_stepper(tr)
    step()
    step()
    return torch.cat([p.detach().flatten() for m in (tr.G, tr.D) for p in unwrap(m).parameters()])


def test_fused_adam_and_channels_last_train_the_same_weights():
    reference = _weights_after_two_steps()
    torch.testing.assert_close(_weights_after_two_steps(adam="fused"), reference, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(_weights_after_two_steps(adam="for-loop"), reference, rtol=1e-4, atol=1e-5)
    nhwc = _weights_after_two_steps(channels_last=True)
    assert torch.isfinite(nhwc).all() and nhwc.shape == reference.shape
