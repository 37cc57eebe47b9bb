"""Checkpoints: --keep prunes to the newest but spares the best, mark_best trusts only a good
checkpoint, and a damaged newest checkpoint falls back to the previous one."""

from __future__ import annotations

import pytest

import dcgan
from dcgan import checkpoint as ckpt
from dcgan.cli import main
from dcgan.errors import DcganError

from conftest import TINY_32, steps_of, tiny


def test_keep_prunes_to_k_newest_but_spares_the_best(tiny_mnist, tmp_path):
    run = tiny(tmp_path / "r", max_steps=6, ckpt_every_steps=1, keep=2)
    assert steps_of(run) == [5, 6]
    ckpt.mark_best(run, run / "checkpoints" / "step_000000005", metric="fid", value=12.5)
    assert ckpt.read_best(run) == {"checkpoint": "step_000000005", "metric": "fid", "value": 12.5}
    assert main(["train", "--resume", str(run), "--max-steps", "12"]) == 0
    assert steps_of(run) == [5, 11, 12]      # the newest two, and the best one
    assert ckpt.best(run) == run / "checkpoints" / "step_000000005"
    ckpt.mark_best(run, "step_000000012")
    assert main(["train", "--resume", str(run), "--max-steps", "14"]) == 0
    assert steps_of(run) == [12, 13, 14]     # 5 is no longer protected; 12 is


def test_keep_zero_keeps_everything(tiny_mnist, tmp_path):
    run = tiny(tmp_path / "r", max_steps=5, ckpt_every_steps=1, keep=0)
    assert steps_of(run) == [1, 2, 3, 4, 5]


def test_mark_best_refuses_what_is_not_a_good_checkpoint(tiny_mnist, tmp_path):
    run = tiny(tmp_path / "r", max_steps=2)
    with pytest.raises(DcganError, match="not a checkpoint"):
        ckpt.mark_best(run, "step_000000099")
    good = ckpt.all_checkpoints(run / "checkpoints")[-1]
    (good / ckpt.D_FILE).write_bytes(b"damaged")
    with pytest.raises(DcganError, match="damaged"):
        ckpt.mark_best(run, good)
    (run / "checkpoints" / ckpt.BEST).write_text('{"checkpoint": "../../etc"}')
    assert ckpt.read_best(run) is None and ckpt.best(run) is None


def test_damaged_newest_checkpoint_falls_back_to_the_previous(tiny_mnist, tmp_path, capsys):
    run = dcgan.train(out=str(tmp_path / "run"), max_steps=4, ckpt_every_steps=2, **TINY_32)
    older, newest = ckpt.all_checkpoints(run / "checkpoints")[-2:]
    (newest / ckpt.STATE_FILE).write_bytes(b"\0" * 100)
    assert ckpt.newest_good(run) == older
    assert "falling back" in capsys.readouterr().err
