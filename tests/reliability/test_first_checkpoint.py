"""A run that dies before its first checkpoint has one way out, and every message names it
(issue 15, item 6): the NaN error, resume and a new run in the same folder agree."""

from __future__ import annotations

import json

from dcgan import checkpoint as ckpt
from dcgan.cli import main
from dcgan.fsutil import read_jsonl

from conftest import TINY_8_FLAGS, nan_weights, poison, steps_of


def test_a_run_that_diverges_before_its_first_checkpoint_starts_again(tiny_mnist, tmp_path,
                                                                      monkeypatch, capsys):
    run = tmp_path / "r"
    flags = [*TINY_8_FLAGS, "--max-steps", "4", "--log-every", "1", "--no-report", "--out", str(run)]
    poison(monkeypatch, 2, nan_weights)
    assert main(["train", *flags]) == 2
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert "before the first checkpoint" in err and f"dcgan train --out {run}" in err, err
    assert (run / "config.json").exists() and not ckpt.all_checkpoints(run / "checkpoints")
    assert any(r.get("step") == 2 for r in read_jsonl(run / "stats.jsonl"))

    # resume names the same way out (it used to say "start a new run", which then was refused)
    assert main(["train", "--resume", str(run)]) == 2
    err = capsys.readouterr().err
    assert "stopped before its first checkpoint" in err and f"dcgan train --out {run}" in err, err

    monkeypatch.undo()  # a lower learning rate, say: this time it trains
    assert main(["train", *flags, "--lr", "1e-4"]) == 0
    assert "starting it again from step 0" in capsys.readouterr().err
    assert steps_of(run) == [4]
    rows = read_jsonl(run / "stats.jsonl")
    assert [r["step"] for r in rows] == [1, 2, 3, 4]  # the dead run's lines are gone, not mixed in
    assert json.loads((run / "config.json").read_text())["lr_g"] == 1e-4
    assert main(["train", "--resume", str(run), "--max-steps", "5"]) == 0  # and it resumes
    assert steps_of(run)[-1] == 5


def test_a_run_with_a_checkpoint_is_still_never_replaced(tiny_mnist, tmp_path, capsys):
    run = tmp_path / "r"
    flags = [*TINY_8_FLAGS, "--max-steps", "2", "--no-report", "--out", str(run)]
    assert main(["train", *flags]) == 0
    before = (run / "config.json").read_bytes()
    capsys.readouterr()
    assert main(["train", *flags]) == 2
    assert "already holds a run" in capsys.readouterr().err
    assert (run / "config.json").read_bytes() == before and steps_of(run) == [2]


def test_a_run_still_training_before_its_first_checkpoint_is_not_replaced(tiny_mnist, tmp_path, capsys):
    from dcgan.fsutil import RunLock

    run = tmp_path / "r"
    run.mkdir()
    (run / "config.json").write_text("{}")          # what a run writes before its step 0
    (run / "stats.jsonl").write_text('{"step": 1}\n')
    with RunLock(run):                               # it is training (another process, in effect)
        assert main(["train", *TINY_8_FLAGS, "--max-steps", "2", "--out", str(run)]) == 2
    assert "in use by another dcgan process" in capsys.readouterr().err
    assert (run / "stats.jsonl").read_text() == '{"step": 1}\n' and (run / "config.json").read_text() == "{}"


def test_a_run_that_cannot_be_built_leaves_no_folder_and_keeps_a_users(tiny_mnist, tmp_path,
                                                                        monkeypatch, capsys):
    # --clusters 40 with 64 images is refused only once the data is read, inside the Trainer
    monkeypatch.chdir(tmp_path)
    flags = [*TINY_8_FLAGS, "--model", "lean", "--clusters", "40", "--max-steps", "1", "--no-report"]
    assert main(["train", *flags]) == 2
    assert "--clusters 40 with 64 training images" in capsys.readouterr().err
    assert list((tmp_path / "runs").iterdir()) == []  # no empty 0001-lean-mnist to confuse the next

    mine = tmp_path / "mine"  # a folder the user made stays, with what it holds
    mine.mkdir()
    (mine / "notes.txt").write_text("keep")
    assert main(["train", *flags, "--out", str(mine)]) == 2
    assert (mine / "notes.txt").read_text() == "keep"
    assert main(["train", *TINY_8_FLAGS, "--model", "lean", "--max-steps", "1", "--no-report"]) == 0
    assert [p.name for p in (tmp_path / "runs").iterdir()] == ["0001-lean-mnist"]  # numbered first
