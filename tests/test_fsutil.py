"""fsutil: atomic writes that respect the user's umask like any other tool."""

from __future__ import annotations

import os
import stat

import pytest

import dcgan
from dcgan.fsutil import atomic_write

from conftest import TINY_16


@pytest.fixture
def umask_022():
    old = os.umask(0o022)
    yield
    os.umask(old)


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_an_atomic_write_gets_0666_minus_the_umask(tmp_path, umask_022):
    assert _mode(atomic_write(tmp_path / "a.txt", "x")) == 0o644
    os.umask(0o077)
    assert _mode(atomic_write(tmp_path / "b.txt", "x")) == 0o600


def test_every_file_of_a_run_respects_the_umask(tiny_mnist, tmp_path, umask_022):
    run = dcgan.train(out=str(tmp_path / "run"), epochs=1, report=False, **TINY_16)
    assert main_export(run, tmp_path)
    files = [p for p in run.rglob("*") if p.is_file() and not p.name.endswith(".lock")]
    assert {p.name for p in files} >= {"config.json", "stats.jsonl", "epoch_0001.png", "progress.gif",
                                       "generator.safetensors", "training_state.pt", "manifest.json"}
    wrong = {str(p.relative_to(run)): oct(_mode(p)) for p in files if _mode(p) != 0o644}
    assert not wrong
    assert _mode(tmp_path / "g.safetensors") == 0o644


def main_export(run, tmp_path) -> bool:
    from dcgan.cli import main

    return main(["export", str(run), "--out", str(tmp_path / "g.safetensors")]) == 0
