"""Smoke test: dcgan train for two steps writes a run folder."""

from dcgan.cli import main


def test_train_two_steps_writes_a_run(tiny_mnist, tmp_path):
    assert main(["train", "--max-steps", "2", "--batch-size", "32", "--out", str(tmp_path / "r"),
                 "--no-progress"]) == 0
    assert (tmp_path / "r" / "config.json").exists()
