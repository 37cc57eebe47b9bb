"""The run folder: what a run writes, config.json before step 0, a folder never overwritten, and
resume only from a run folder with a usable checkpoint."""

import json

import pytest

import dcgan
from dcgan import checkpoint as ckpt
from dcgan.cli import main

from conftest import TINY_32


def test_run_folder_holds_what_the_tutorial_produces(tiny_mnist, tmp_path):
    run = dcgan.train(out=str(tmp_path / "run"), epochs=2, **TINY_32)
    config = json.loads((run / "config.json").read_text())
    assert config["model"] == "tf-tutorial" and config["batch_size"] == 32
    assert config["lr_g"] == 1e-4 and config["adam_eps"] == 1e-7 and config["arch"]["noise_dim"] == 100
    assert sorted(p.name for p in (run / "samples").iterdir()) == ["epoch_0001.png", "epoch_0002.png"]
    from PIL import Image

    with Image.open(run / "progress.gif") as gif:
        assert gif.n_frames == 2
    with Image.open(run / "samples" / "epoch_0001.png") as grid:  # 4x4 grid of 28px, 2px padding, x2
        assert grid.size == (2 * (4 * 30 + 2),) * 2
    rows = [json.loads(line) for line in (run / "stats.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [2, 4, 6, 8, 10, 12, 14]
    assert set(rows[0]) >= {"epoch", "step", "d_loss", "g_loss", "d_x", "d_g_z", "images_per_s", "elapsed_s"}
    assert all(0 < r["d_x"] < 1 and 0 < r["d_g_z"] < 1 for r in rows)
    (last,) = ckpt.all_checkpoints(run / "checkpoints")
    assert last.name == "step_000000014" and ckpt.verify(last) is None
    assert not (run / ".lock").read_text().strip() == ""  # the lock file records the owner pid


def test_config_is_written_before_step_zero(tiny_mnist, tmp_path, monkeypatch):
    from dcgan.training import updates as steps

    seen = []

    def spy(ctx, real, step):
        seen.append((tmp_path / "run" / "config.json").exists())
        raise KeyboardInterrupt

    monkeypatch.setitem(steps.UPDATES, "simultaneous", steps.Update(spy))
    with pytest.raises(KeyboardInterrupt):
        dcgan.train(out=str(tmp_path / "run"), epochs=1, **TINY_32)
    assert seen == [True]


def test_resume_without_a_checkpoint_is_a_clear_error(tiny_mnist, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["train", "--resume", str(tmp_path / "empty")]) == 2
    assert "not a dcgan run folder" in capsys.readouterr().err
    run = dcgan.train(out=str(tmp_path / "run"), max_steps=1, **TINY_32)
    for c in ckpt.all_checkpoints(run / "checkpoints"):
        (c / ckpt.G_FILE).write_bytes(b"damaged")
    assert main(["train", "--resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert "damaged" in err and "no usable checkpoint" in err


def test_existing_run_folder_is_not_overwritten(tiny_mnist, tmp_path, capsys):
    run = dcgan.train(out=str(tmp_path / "run"), max_steps=1, **TINY_32)
    before = (run / "config.json").read_bytes()
    assert main(["train", "--out", str(run), "--max-steps", "1"]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert (run / "config.json").read_bytes() == before


def test_out_inside_a_file_is_a_clear_error(tiny_mnist, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["train", "--out", str(tmp_path / "file" / "run"), "--max-steps", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_dry_run_refuses_what_the_run_would_refuse(capsys, tmp_path):
    from dcgan.cli import main as cli

    assert cli(["train", "--model", "dcgan64", "--data", "mnist", "--dry-run"]) == 2
    assert "cannot build 28x28 images" in capsys.readouterr().err
    assert cli(["train", "--data", str(tmp_path / "no-such-folder"), "--dry-run"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli(["train", "--model", "dcgan64", "--data", "mnist", "--resolution", "64", "--dry-run"]) == 0
    planned = json.loads(capsys.readouterr().out)["arch"]
    assert planned["resolution"] == 64 and planned["channels"] == 1 and planned["model"] == "dcgan64"
