"""The training configuration: every setting checked once when it resolves (dry run, closed choices,
preset recipes, --ema, --pack), and what a resume may and may not change."""

from __future__ import annotations

import json

import pytest

import dcgan
from dcgan import checkpoint as ckpt
from dcgan.cli import main
from dcgan.errors import DcganError
from dcgan.fsutil import read_jsonl
from dcgan.generation.loading import load_generator

from conftest import TINY_16, TINY_32, last, steps_of, tiny


def test_resume_refuses_other_architecture_or_data(tiny_mnist, tmp_path, capsys):
    run = dcgan.train(out=str(tmp_path / "run"), max_steps=2, **TINY_32)
    assert main(["train", "--resume", str(run), "--batch-size", "64"]) == 2
    assert "cannot resume with a different batch_size" in capsys.readouterr().err
    with pytest.raises(DcganError, match="different model"):
        dcgan.train(resume=run, model="other")
    # allowed: more epochs / steps, other logging
    dcgan.train(resume=run, max_steps=4, log_every=1)
    assert ckpt.all_checkpoints(run / "checkpoints")[-1].name == "step_000000004"


def test_dry_run_prints_the_resolved_config_and_writes_nothing(tmp_path, capsys):
    assert main(["train", "--dry-run", "--epochs", "3", "--lr", "0.001"]) == 0
    cfg = json.loads(capsys.readouterr().out)
    assert cfg["epochs"] == 3 and cfg["lr_g"] == cfg["lr_d"] == 0.001 and cfg["batch_size"] == 256
    assert cfg["loss"] == "bce" and cfg["beta1"] == 0.9 and cfg["ckpt_every"] == 15
    assert not (tmp_path / "runs").exists()


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

    for name, preset in PRESETS.items():
        assert resolve({"model": name}).model == name
        for data in preset.data_recipes:
            assert resolve({"model": name, "data": data}).data == data
    bad = PRESETS["tf-tutorial"]
    monkeypatch.setitem(PRESETS, "tf-tutorial", type(bad)(**{**bad.__dict__, "recipe": {**bad.recipe, "lr_gg": 1.0}}))
    with pytest.raises(DcganError, match="unknown recipe key 'lr_gg'"):
        resolve({"model": "tf-tutorial"})


def test_a_data_sets_own_recipe_fills_in_under_the_flags():
    """lean on Stacked MNIST trains in packs of two, without clusters (its measured recipe); a flag
    still wins, and other data sets keep the preset's recipe."""
    from dcgan.training.config import resolve

    stacked = resolve({"model": "lean", "data": "stacked-mnist"})
    assert (stacked.pack, stacked.clusters, stacked.lr_g) == (2, 0, 8e-4)
    unpacked = resolve({"model": "lean", "data": "stacked-mnist", "pack": 1})
    assert (unpacked.pack, unpacked.clusters) == (1, "auto")
    assert resolve({"model": "lean", "data": "stacked-mnist", "pack": 4}).pack == 4
    mnist = resolve({"model": "lean", "data": "mnist"})
    assert (mnist.pack, mnist.clusters) == (1, "auto")
    assert resolve({"model": "tf-tutorial", "data": "stacked-mnist"}).pack == 1


def test_ema_flags(tiny_mnist, tmp_path, capsys):
    with pytest.raises(DcganError, match=r"\[0, 1\)"):
        dcgan.train(out=str(tmp_path / "bad"), ema=1.0, **TINY_16)
    plain = dcgan.train(out=str(tmp_path / "plain"), epochs=1, **TINY_16)
    assert not (last(plain) / ckpt.EMA_FILE).exists()
    with pytest.raises(DcganError, match="without --ema"):
        load_generator(plain, ema=True)
    # turning EMA on for a resumed run is a change of recipe: refused, nothing written
    before = sorted(p.name for p in (plain / "checkpoints").iterdir())
    assert main(["train", "--resume", str(plain), "--ema", "0.99", "--epochs", "2"]) != 0
    assert "ema" in capsys.readouterr().err
    assert sorted(p.name for p in (plain / "checkpoints").iterdir()) == before
    # an EMA file that the manifest does not vouch for makes the checkpoint untrusted
    (last(plain) / ckpt.EMA_FILE).write_bytes(b"x")
    assert "not in the manifest" in ckpt.verify(last(plain))


def test_pack_that_does_not_divide_the_batches_is_refused(tiny_mnist, tmp_path):
    with pytest.raises(DcganError, match="--pack 3"):
        dcgan.train(out=str(tmp_path / "a"), pack=3, **TINY_16)
    with pytest.raises(DcganError, match="half batch"):
        dcgan.train(out=str(tmp_path / "b"), model="keras-gan-mnist", data="mnist", pack=16, **TINY_16)
    with pytest.raises(DcganError, match="--limit"):  # 60 images: the last batch holds 12, then...
        dcgan.train(out=str(tmp_path / "c"), pack=8, batch_size=16, limit=60, progress=False)
    assert not (tmp_path / "a" / "checkpoints").exists()


@pytest.mark.parametrize("flags, what", [
    (["--loss", "lsgan"], "loss"),
    (["--resolution", "12"], "resolution"),
    (["--data", "fashion-mnist"], "data"),
    (["--model", "lean"], "model"),
    (["--batch-size", "16"], "batch_size"),
    (["--lr", "0.001"], "lr_d, lr_g"),
])
def test_resume_refuses_a_different_run(tiny_mnist, tmp_path, capsys, flags, what):
    run = tiny(tmp_path / "r", max_steps=2)
    before = sorted(p.name for p in (run / "checkpoints").iterdir())
    assert main(["train", "--resume", str(run), *flags]) == 2
    err = capsys.readouterr().err
    assert f"cannot resume with a different {what}" in err and "start a new run" in err
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == before


def test_resume_allows_epochs_and_logging_changes(tiny_mnist, tmp_path):
    run = tiny(tmp_path / "r", max_steps=2, log_every=50)
    assert main(["train", "--resume", str(run), "--max-steps", "6", "--epochs", "7",
                 "--log-every", "3", "--keep", "5", "--ckpt-every-steps", "2"]) == 0
    saved = json.loads((run / "config.json").read_text())
    assert (saved["epochs"], saved["log_every"], saved["keep"]) == (7, 3, 5)
    assert steps_of(run) == [2, 4, 6]
    assert [r["step"] for r in read_jsonl(run / "stats.jsonl")] == [2, 3, 6]


@pytest.mark.parametrize("flags,message", [
    (["--lr", "nan"], "--lr-g nan: give a positive learning rate"),
    (["--lr-d", "-1"], "--lr-d -1.0: give a positive learning rate"),
    (["--beta1", "2"], "--beta1 2.0: Adam's betas are in [0, 1)"),
    (["--beta2", "1"], "--beta2 1.0: Adam's betas are in [0, 1)"),
    (["--adam-eps=-1e-8"], "--adam-eps -1e-08: give a small positive number"),
    (["--gp-weight", "inf"], "--gp-weight inf: give a weight >= 0"),
    (["--seed", str(10**20)], "--seed 100000000000000000000: give an integer from 0 to"),
    (["--seed", "-1"], "--seed -1: give an integer from 0 to"),
    (["--channels", "-1"], "--channels -1: give 1 (grey) or 3 (RGB)"),
    (["--channels", "2"], "--channels 2: give 1 (grey) or 3 (RGB)"),
    (["--resolution", "0"], "--resolution 0: give a size from 4 to 1024"),
    (["--arch", "ngf=-1"], "--arch ngf=-1: give a whole number from 1 to 4096"),
    (["--keep", "-2"], "--keep -2: give how many checkpoints to keep"),
    (["--r1", "-0.5"], "--r1 -0.5: give a gamma >= 0"),
    (["--lr-end", "2"], "--lr-end 2.0: give the final fraction in [0, 1]"),
    (["--reg-every", "0"], "--reg-every must be at least 1"),
])
def test_every_numeric_flag_out_of_range_is_one_line_at_the_dry_run(flags, message, capsys):
    assert main(["train", *flags, "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1
