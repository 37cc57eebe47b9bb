"""dcgan bench: the figures come with their settings and the hardware; zero windows is refused."""

from __future__ import annotations

import json

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
