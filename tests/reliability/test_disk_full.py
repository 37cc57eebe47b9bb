"""A really full disk while a checkpoint is written: a small tmpfs mounted by the test (we run as
root in CI; elsewhere the real-filesystem tests skip and the faked one still runs).

torch's zip writer turns ENOSPC into a RuntimeError that no longer says why; checkpoint.save must
still give one line that says space ran out and where, leave no `.tmp-step_*` folder, keep the
earlier checkpoints byte-identical and let the run resume once space is back."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
import torch
from torch import nn

from dcgan import checkpoint as ckpt
from dcgan.cli import main
from dcgan.errors import DcganError

from conftest import steps_of


@contextlib.contextmanager
def small_fs(where: Path, size: str):
    """A tmpfs of ``size`` mounted at ``where`` (skips the test where mounting is not permitted)."""
    where.mkdir(parents=True, exist_ok=True)
    if sys.platform != "linux" or os.geteuid() != 0:
        pytest.skip("mounting a small tmpfs needs root on Linux")
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", f"dcgan-{uuid.uuid4().hex[:8]}",
                           str(where)], capture_output=True, text=True)
    if proc.returncode:
        pytest.skip(f"cannot mount a tmpfs here: {proc.stderr.strip() or proc.returncode}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(folder: Path, leave: int) -> Path:
    """Fill ``folder``'s file system up to ``leave`` free bytes."""
    filler = folder / "filler"
    free = os.statvfs(folder).f_bavail * os.statvfs(folder).f_frsize
    with open(filler, "wb") as fh:
        fh.write(b"\0" * max(0, free - leave))
    return filler


def _nets():
    torch.manual_seed(0)
    return nn.Linear(8, 8), nn.Linear(8, 1)


def test_real_full_disk_in_torch_save_is_one_line_and_no_debris(tmp_path):
    G, D = _nets()
    with small_fs(tmp_path / "fs", "1m") as fs:
        root = fs / "run" / "checkpoints"
        first = ckpt.save(root, 1, G, D, {"epoch": 0, "x": torch.zeros(1000)}, {})
        before = {p.name: p.read_bytes() for p in first.iterdir()}
        # The weights fit, the 4 MB training state cannot: ENOSPC inside torch's zip writer.
        with pytest.raises(DcganError) as err:
            ckpt.save(root, 2, G, D, {"epoch": 0, "x": torch.zeros(1 << 20)}, {})
        msg = str(err.value)
        assert "No space left on device" in msg and str(root) in msg and "--resume" in msg
        assert "\n" not in msg
        assert sorted(p.name for p in root.iterdir()) == ["step_000000001"]  # no .tmp-step_* left
        assert {p.name: p.read_bytes() for p in first.iterdir()} == before
        assert ckpt.verify(first) is None


def test_faked_torch_write_failure_leaves_no_debris(tmp_path, monkeypatch):
    """Where no file system can be mounted: torch's RuntimeError over a failing write, faked."""
    import errno

    G, D = _nets()
    root = tmp_path / "run" / "checkpoints"
    ckpt.save(root, 1, G, D, {"epoch": 0}, {})

    class Full:
        def write(self, data):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def torch_on_a_full_disk(obj, sink):
        sink.fh = Full()  # the disk fills up under torch's writer, which then says only this:
        try:
            sink.write(b"PK")
        except OSError:
            raise RuntimeError("[enforce fail at inline_container.cc:672] . unexpected pos 704 "
                               "vs 598") from None

    monkeypatch.setattr(torch, "save", torch_on_a_full_disk)
    with pytest.raises(DcganError, match="No space left on device for checkpoint step_000000002"):
        ckpt.save(root, 2, G, D, {"epoch": 0}, {})
    assert sorted(p.name for p in root.iterdir()) == ["step_000000001"]
    # A RuntimeError that is no write failure stays what it is, and still leaves nothing behind.
    monkeypatch.undo()
    monkeypatch.setattr(torch, "save", lambda obj, fh: (_ for _ in ()).throw(RuntimeError("a bug")))
    with pytest.raises(RuntimeError, match="a bug"):
        ckpt.save(root, 3, G, D, {"epoch": 0}, {})
    assert sorted(p.name for p in root.iterdir()) == ["step_000000001"]


def test_real_full_disk_during_training_resumes_once_space_is_back(tiny_mnist, tmp_path, capsys):
    flags = ["--resolution", "8", "--batch-size", "8", "--limit", "64", "--no-progress", "--no-report"]
    with small_fs(tmp_path / "fs", "40m") as fs:
        run = fs / "run"
        assert main(["train", *flags, "--max-steps", "2", "--out", str(run)]) == 0
        first = ckpt.all_checkpoints(run / "checkpoints")[-1]
        before = {p.name: p.read_bytes() for p in first.iterdir()}
        weights = sum((first / f).stat().st_size for f in (ckpt.G_FILE, ckpt.D_FILE))
        filler = fill(fs, leave=weights + (1 << 20))  # room for the weights, not the training state
        capsys.readouterr()
        assert main(["train", "--resume", str(run), "--max-steps", "4"]) == 2
        err = capsys.readouterr().err
        assert "No space left on device" in err and str(run / "checkpoints") in err
        assert "Traceback" not in err and len(err.strip().splitlines()[-1]) > 0
        assert err.strip().splitlines()[-1].startswith("error: ")
        assert [p.name for p in (run / "checkpoints").iterdir()] == [first.name]  # no debris
        assert {p.name: p.read_bytes() for p in first.iterdir()} == before
        filler.unlink()  # space is back
        assert main(["train", "--resume", str(run), "--max-steps", "4"]) == 0
        assert steps_of(run)[-1] == 4
