"""A run is a folder with everything the tutorial produces, and it resumes bit for bit."""

import json
import os
import signal
import pytest
import torch
from safetensors.torch import load_file

import dcgan
from dcgan import checkpoint as ckpt
from dcgan.cli import main
from dcgan.errors import DcganError

TINY = {"batch_size": 32, "log_every": 2, "progress": False}  # 200 images -> 7 steps per epoch


def final_weights(run):
    last = ckpt.all_checkpoints(run / "checkpoints")[-1]
    return last.name, load_file(last / ckpt.G_FILE), load_file(last / ckpt.D_FILE), \
        ckpt.load_state(last)


def assert_same_run(a, b):
    name_a, ga, da, sa = final_weights(a)
    name_b, gb, db, sb = final_weights(b)
    assert name_a == name_b
    for x, y in ((ga, gb), (da, db)):
        assert x.keys() == y.keys()
        for k in x:
            assert torch.equal(x[k], y[k]), k  # bit for bit, not approximately
    for opt in ("opt_g", "opt_d"):
        for i, st in sa[opt]["state"].items():
            assert torch.equal(st["exp_avg_sq"], sb[opt]["state"][i]["exp_avg_sq"])
    assert torch.equal(sa["rng"], sb["rng"]) and torch.equal(sa["torch_rng"], sb["torch_rng"])


def test_run_folder_holds_what_the_tutorial_produces(tiny_mnist, tmp_path):
    run = dcgan.train(out=str(tmp_path / "run"), epochs=2, **TINY)
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
        dcgan.train(out=str(tmp_path / "run"), epochs=1, **TINY)
    assert seen == [True]


@pytest.mark.parametrize("stop_at", [3, 7], ids=["mid-epoch", "epoch-boundary"])
def test_resume_is_bit_exact(tiny_mnist, tmp_path, stop_at):
    whole = dcgan.train(out=str(tmp_path / "whole"), epochs=2, **TINY)
    part = dcgan.train(out=str(tmp_path / "part"), epochs=2, max_steps=stop_at, **TINY)
    assert ckpt.all_checkpoints(part / "checkpoints")[-1].name == f"step_{stop_at:09d}"
    dcgan.train(resume=part, max_steps=10_000)
    assert_same_run(whole, part)
    # the sample grids of the resumed run are the uninterrupted run's too
    for name in ("epoch_0001.png", "epoch_0002.png"):
        assert (whole / "samples" / name).read_bytes() == (part / "samples" / name).read_bytes()


def test_ctrl_c_saves_a_checkpoint_and_resume_continues(tiny_mnist, tmp_path, monkeypatch):
    from dcgan.training import updates as steps

    real_step = steps.UPDATES["simultaneous"]
    calls = []

    def interrupt_at_4(ctx, real, step):
        calls.append(1)
        if len(calls) == 4:
            os.kill(os.getpid(), signal.SIGINT)  # Ctrl-C during the 4th step
        return real_step.run(ctx, real, step)

    monkeypatch.setitem(steps.UPDATES, "simultaneous", steps.Update(interrupt_at_4))
    assert main(["train", "--out", str(tmp_path / "run"), "--epochs", "1", "--batch-size", "32",
                 "--no-progress"]) == 130
    assert ckpt.all_checkpoints(tmp_path / "run" / "checkpoints")[-1].name == "step_000000004"
    monkeypatch.setitem(steps.UPDATES, "simultaneous", real_step)
    assert main(["train", "--resume", str(tmp_path / "run"), "--no-progress"]) == 0
    assert ckpt.all_checkpoints(tmp_path / "run" / "checkpoints")[-1].name == "step_000000007"


def test_resume_refuses_other_architecture_or_data(tiny_mnist, tmp_path, capsys):
    run = dcgan.train(out=str(tmp_path / "run"), max_steps=2, **TINY)
    assert main(["train", "--resume", str(run), "--batch-size", "64"]) == 2
    assert "cannot resume with a different batch_size" in capsys.readouterr().err
    with pytest.raises(DcganError, match="different model"):
        dcgan.train(resume=run, model="other")
    # allowed: more epochs / steps, other logging
    dcgan.train(resume=run, max_steps=4, log_every=1)
    assert ckpt.all_checkpoints(run / "checkpoints")[-1].name == "step_000000004"


def test_resume_without_a_checkpoint_is_a_clear_error(tiny_mnist, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["train", "--resume", str(tmp_path / "empty")]) == 2
    assert "not a dcgan run folder" in capsys.readouterr().err
    run = dcgan.train(out=str(tmp_path / "run"), max_steps=1, **TINY)
    for c in ckpt.all_checkpoints(run / "checkpoints"):
        (c / ckpt.G_FILE).write_bytes(b"damaged")
    assert main(["train", "--resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert "damaged" in err and "no usable checkpoint" in err


def test_damaged_newest_checkpoint_falls_back_to_the_previous(tiny_mnist, tmp_path, capsys):
    run = dcgan.train(out=str(tmp_path / "run"), max_steps=4, ckpt_every_steps=2, **TINY)
    older, newest = ckpt.all_checkpoints(run / "checkpoints")[-2:]
    (newest / ckpt.STATE_FILE).write_bytes(b"\0" * 100)
    assert ckpt.newest_good(run) == older
    assert "falling back" in capsys.readouterr().err


def test_existing_run_folder_is_not_overwritten(tiny_mnist, tmp_path, capsys):
    run = dcgan.train(out=str(tmp_path / "run"), max_steps=1, **TINY)
    before = (run / "config.json").read_bytes()
    assert main(["train", "--out", str(run), "--max-steps", "1"]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert (run / "config.json").read_bytes() == before


def test_out_inside_a_file_is_a_clear_error(tiny_mnist, tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert main(["train", "--out", str(tmp_path / "file" / "run"), "--max-steps", "1"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and err.count("\n") == 1


def test_dry_run_prints_the_resolved_config_and_writes_nothing(tmp_path, capsys):
    assert main(["train", "--dry-run", "--epochs", "3", "--lr", "0.001"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["epochs"] == 3 and cfg["lr_g"] == cfg["lr_d"] == 0.001 and cfg["batch_size"] == 256
    assert cfg["loss"] == "bce" and cfg["beta1"] == 0.9 and cfg["ckpt_every"] == 15
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize("argv,message", [
    (["--model", "nope"], "unknown model 'nope'"),
    (["--data", "nope"], "unknown data set 'nope'"),
    (["--batch-size", "0"], "--batch-size must be at least 1"),
    (["--loss", "mse"], "dcgan train: argument --loss: invalid choice: 'mse'"),
    (["--adam", "bogus", "--dry-run"], "argument --adam: invalid choice: 'bogus'"),
])
def test_bad_flags_are_one_line_errors(tiny_mnist, argv, message, capsys):
    assert main(["train", "--max-steps", "1", *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


@pytest.mark.parametrize("setting,value", [("adam", "bogus"), ("cuda_graphs", "sometimes"), ("loss", "mse"),
                                           ("update", "nope"), ("precision", "fp8"), ("on_nan", "ignore"),
                                           ("on_failure", "panic"), ("sample_bn", "batch")])
def test_every_closed_setting_is_checked_when_the_config_resolves(setting, value, tmp_path):
    """The Python API's dry run refuses what the run would refuse, with the same one line."""
    with pytest.raises(DcganError, match=f"unknown --{setting.replace('_', '-')} '{value}'"):
        dcgan.train(dry_run=True, **{setting: value})


def test_every_preset_recipe_names_only_real_settings(monkeypatch):
    from dcgan.models import PRESETS
    from dcgan.training.config import resolve

    for name in PRESETS:
        assert resolve({"model": name}).model == name
    bad = PRESETS["tf-tutorial"]
    monkeypatch.setitem(PRESETS, "tf-tutorial", type(bad)(**{**bad.__dict__, "recipe": {**bad.recipe, "lr_gg": 1.0}}))
    with pytest.raises(DcganError, match="unknown recipe key 'lr_gg'"):
        resolve({"model": "tf-tutorial"})
