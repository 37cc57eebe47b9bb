"""The command line: one-line errors for bad flags, dcgan summary and models, dcgan data list, fetch
and show."""

from __future__ import annotations

import pytest
from PIL import Image

from dcgan.cli import main


@pytest.mark.parametrize("argv,message", [
    (["--model", "nope"], "argument --model: invalid choice: 'nope'"),
    (["--data", "nope"], "unknown data set 'nope'"),
    (["--batch-size", "0"], "--batch-size must be at least 1"),
    (["--loss", "mse"], "dcgan train: argument --loss: invalid choice: 'mse'"),
    (["--adam", "bogus", "--dry-run"], "argument --adam: invalid choice: 'bogus'"),
])
def test_bad_flags_are_one_line_errors(tiny_mnist, argv, message, capsys):
    assert main(["train", "--max-steps", "1", *argv]) == 2
    lines = capsys.readouterr().err.splitlines()  # one line; a flag error after train's short usage
    assert message in lines[-1] and (len(lines) == 1 or (len(lines) == 2 and lines[0].startswith(
        "usage: dcgan train [options]")))


def test_summary_and_models_commands(capsys):
    assert main(["summary", "tf-tutorial"]) == 0
    out = capsys.readouterr().out
    assert "Total params: 2,330,944" in out and "Total params: 212,865" in out
    assert main(["models"]) == 0
    assert "tf-tutorial" in capsys.readouterr().out


def test_data_show_writes_a_5x5_grid(tiny_mnist, tmp_path):
    assert main(["data", "show", "mnist", "--out", str(tmp_path / "p.png")]) == 0
    with Image.open(tmp_path / "p.png") as img:
        assert img.size == (2 * (5 * 30 + 2),) * 2


def test_cli_lists_and_shows_every_data_set(data_dir, photo_folder, emoji_tarball, tmp_path, capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("mnist", "fashion-mnist", "cifar10", "emoji", "PATH"):
        assert name in out
    assert main(["data", "fetch", "emoji"]) == 0
    assert "4 train images" in capsys.readouterr().out
    assert main(["data", "show", "emoji:black", "--out", str(tmp_path / "e.png")]) == 0
    assert Image.open(tmp_path / "e.png").mode == "RGB"
    assert main(["data", "show", str(photo_folder), "--resolution", "24", "--out", str(tmp_path / "f.png")]) == 0
    assert (tmp_path / "f.png").exists()
    assert main(["data", "fetch", "fashion-mnist"]) == 2  # offline, nothing installed: one-line error
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: could not fetch Fashion-MNIST")
