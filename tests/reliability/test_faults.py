"""Faults from outside the process: full disks, read-only folders, a second run on the same folder,
SIGTERM. RELIABILITY.md maps each test here to the guarantee it proves."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from dcgan import train
from dcgan import checkpoint as ckpt
from dcgan.cli import main
from dcgan.errors import DcganError
from dcgan.fsutil import read_jsonl
from dcgan.training import updates as steps

from conftest import TINY_8_FLAGS, _env, assert_same_run, poison, steps_of, tiny


def test_disk_full_during_a_checkpoint_keeps_the_previous_one(tiny_mnist, tmp_path, monkeypatch):
    run = tiny(tmp_path / "r", max_steps=4)
    before = {p.name: p.read_bytes() for p in (run / "checkpoints" / "step_000000004").iterdir()}
    real_fsync = os.fsync

    def full(fd):
        if ".tmp-step_" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(DcganError, match="No space left on device"):
        train({"max_steps": 8}, resume=run)
    monkeypatch.setattr(os, "fsync", real_fsync)
    assert [p.name for p in (run / "checkpoints").iterdir()] == ["step_000000004"]  # no debris
    after = {p.name: p.read_bytes() for p in (run / "checkpoints" / "step_000000004").iterdir()}
    assert after == before
    assert ckpt.newest_good(run).name == "step_000000004"
    assert main(["train", "--resume", str(run), "--max-steps", "8"]) == 0   # space is back
    assert steps_of(run)[-1] == 8


@pytest.mark.skipif(sys.platform != "linux", reason="reads /proc")
def test_disk_full_in_stats_is_a_clear_error(tiny_mnist, tmp_path, monkeypatch, capsys):
    run = tiny(tmp_path / "r", max_steps=2)
    real_fsync = os.fsync

    def full(fd):
        if os.readlink(f"/proc/self/fd/{fd}").endswith("stats.jsonl"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full)
    assert main(["train", "--resume", str(run), "--max-steps", "4", "--log-every", "1"]) == 2
    assert "No space left on device" in capsys.readouterr().err
    assert ckpt.newest_good(run).name == "step_000000002"


def test_read_only_checkpoint_folder_is_a_clear_error(tiny_mnist, tmp_path, monkeypatch, capsys):
    run = tiny(tmp_path / "r", max_steps=2)
    real_mkdir = Path.mkdir

    def read_only(self, *a, **kw):  # what a read-only mount answers (chmod cannot stop root)
        if self.parent == run / "checkpoints":
            raise OSError(errno.EROFS, os.strerror(errno.EROFS))
        return real_mkdir(self, *a, **kw)

    monkeypatch.setattr(Path, "mkdir", read_only)
    assert main(["train", "--resume", str(run), "--max-steps", "4"]) == 2
    err = capsys.readouterr().err
    assert "could not write checkpoint" in err and "Read-only file system" in err
    assert "Traceback" not in err
    monkeypatch.setattr(Path, "mkdir", real_mkdir)
    assert ckpt.newest_good(run).name == "step_000000002"
    ckpt.load_state(ckpt.newest_good(run))


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root ignores permissions")
def test_chmod_read_only_run_folder(tiny_mnist, tmp_path, capsys):
    run = tiny(tmp_path / "r", max_steps=2)
    (run / "checkpoints").chmod(0o555)
    try:
        assert main(["train", "--resume", str(run), "--max-steps", "4"]) == 2
        assert "Traceback" not in capsys.readouterr().err
    finally:
        (run / "checkpoints").chmod(0o755)
    assert ckpt.newest_good(run).name == "step_000000002"


def test_a_second_run_in_the_same_folder_is_refused(tiny_mnist, tmp_path, capsys):
    run = tiny(tmp_path / "r", max_steps=2)
    proc = subprocess.Popen([sys.executable, "-m", "dcgan", "train", "--resume", str(run),
                             "--max-steps", "100000", "--epochs", "100000", "--log-every", "1"],
                            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 120
        while len(read_jsonl(run / "stats.jsonl")) < 2:   # it is training, so it holds the lock
            assert proc.poll() is None and time.monotonic() < deadline
            time.sleep(0.1)
        assert main(["train", "--resume", str(run), "--max-steps", "8"]) == 2
        assert "in use by another dcgan process" in capsys.readouterr().err
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    assert proc.returncode == 130     # SIGTERM: saved and stopped cleanly
    assert main(["train", "--resume", str(run), "--max-steps", str(steps_of(run)[-1] + 1)]) == 0


def test_sigterm_saves_and_resume_is_exact(tiny_mnist, tmp_path, monkeypatch, capsys):
    straight = tiny(tmp_path / "straight", max_steps=20)
    real = poison(monkeypatch, 11, lambda tr: os.kill(os.getpid(), signal.SIGTERM))
    code = main(["train", *TINY_8_FLAGS, "--max-steps", "20", "--out", str(tmp_path / "r")])
    assert code == 130 and "interrupted (SIGTERM)" in capsys.readouterr().err
    assert steps_of(tmp_path / "r") == [11]
    monkeypatch.setitem(steps.UPDATES, "simultaneous", real)
    assert main(["train", "--resume", str(tmp_path / "r")]) == 0
    assert steps_of(tmp_path / "r")[-1] == 20
    assert_same_run(straight, tmp_path / "r")
