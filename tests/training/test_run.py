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


def _dry(capsys, argv):
    capsys.readouterr()
    assert main(["train", *argv, "--dry-run"]) == 0
    return json.loads(capsys.readouterr().out)


def test_train_from_a_config_repeats_the_run_and_only_given_flags_override_it(tiny_mnist, tmp_path, capsys):
    from conftest import assert_same_run, tiny

    first = tiny(tmp_path / "a", max_steps=2, seed=3, lr_g=3e-4, log_every=1, keep=5)
    config = first / "config.json"
    assert main(["train", "--config", str(config), "--out", str(tmp_path / "b")]) == 0
    assert_same_run(first, tmp_path / "b")  # the same settings: the same weights, bit for bit
    again = json.loads((tmp_path / "b" / "config.json").read_text())
    assert {k: v for k, v in again.items() if k != "out"} == \
        {k: v for k, v in json.loads(config.read_text()).items() if k != "out"}
    # flags given on the command line win; argparse's defaults (--no-progress, --device) never do
    got = _dry(capsys, ["--config", str(config), "--seed", "5", "--lr", "1e-3"])
    assert (got["seed"], got["lr_g"], got["lr_d"]) == (5, 1e-3, 1e-3)
    assert (got["max_steps"], got["resolution"], got["log_every"], got["keep"], got["progress"]) == \
        (2, 8, 1, 5, False)
    assert got["out"] is None  # a new numbered folder, never the first run's
    assert _dry(capsys, ["--config", str(first)])["lr_g"] == 3e-4  # the run folder works too
    # a new loss brings its own gradient-penalty weight instead of the config's
    assert _dry(capsys, ["--config", str(config), "--loss", "wgan-gp", "--update", "alternating"])["gp_weight"] == 10
    # the Python API: a path or a dict, keyword arguments override
    assert dcgan.train(config=config, out=str(tmp_path / "c"), max_steps=1) == tmp_path / "c"
    assert json.loads((tmp_path / "c" / "config.json").read_text())["lr_g"] == 3e-4
    dcgan.train(config=json.loads(config.read_text()), seed=7, lr=1e-3, dry_run=True)
    got = json.loads(capsys.readouterr().out)
    assert (got["seed"], got["lr_g"], got["lr_d"]) == (7, 1e-3, 1e-3)


@pytest.mark.parametrize("config, message", [
    ("missing.json", "no such file"), (3, "not int"), ({"epochs": 1, "nope": 2}, "unknown setting"),
])
def test_a_bad_config_is_one_sentence(tiny_mnist, tmp_path, config, message):
    with pytest.raises(dcgan.DcganError, match=message):
        dcgan.train(config=config, dry_run=True)
    (tmp_path / "bad.json").write_text("{not json")
    assert main(["train", "--config", str(tmp_path / "bad.json")]) == 2


def test_resume_with_epochs_goes_past_the_first_runs_max_steps(tiny_mnist, tmp_path, capsys):
    from conftest import steps_of, tiny

    run = tiny(tmp_path / "r", epochs=1, max_steps=3)  # 8 steps per epoch
    assert main(["train", "--resume", str(run), "--no-progress"]) == 0  # nothing left: says why
    assert "nothing left to train" in capsys.readouterr().err and steps_of(run) == [3]
    dcgan.train(resume=run, epochs=2)
    assert steps_of(run)[-1] == 16 and json.loads((run / "config.json").read_text())["max_steps"] is None
    dcgan.train(resume=run, epochs=2)
    err = capsys.readouterr().err
    assert "all 2 epoch(s) are done" in err and "--epochs 12" in err and steps_of(run)[-1] == 16


def test_max_minutes_stops_a_run_on_time_saves_it_and_a_resume_says_what_lifts_it(tiny_mnist, tmp_path,
                                                                                  capsys, monkeypatch):
    import time

    from conftest import steps_of, tiny

    # a fake clock: every reading is 1 s after the last, so 0.05 minutes (3 s) is a few steps
    clock = iter(range(10**6))
    monkeypatch.setattr(time, "perf_counter", lambda: float(next(clock)))
    run = tiny(tmp_path / "t", epochs=50, max_minutes=0.05)
    monkeypatch.undo()
    steps = steps_of(run)[-1]
    assert 1 <= steps < 8  # stopped inside the first epoch (8 steps), not at its end
    err = capsys.readouterr().err
    assert "stopped at --max-minutes 0.05" in err and "--max-minutes 10.05" in err
    assert ckpt.all_checkpoints(run / "checkpoints")  # saved where it stopped
    assert main(["train", "--resume", str(run), "--no-progress"]) == 0
    assert "has trained its --max-minutes 0.05" in capsys.readouterr().err and steps_of(run)[-1] == steps
    dcgan.train(resume=run, epochs=1)  # --epochs lifts the time limit, as it lifts --max-steps
    assert steps_of(run)[-1] == 8


@pytest.mark.parametrize("value", [0, -1, float("nan"), "10"])
def test_max_minutes_out_of_range_is_one_sentence(value):
    with pytest.raises(dcgan.DcganError, match="max.minutes"):
        dcgan.train(max_minutes=value, dry_run=True)
