"""Crash-safe file writing and small file helpers.

Every file dcgan writes that a user would miss (config, checkpoints, samples, caches) goes through
``atomic_write``: a temporary file in the same folder, flushed and fsynced, then renamed over the
target. A reader therefore sees either the old complete file or the new complete file, never half.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

from .errors import DcganError

_BLOCK = 1 << 20
# A temporary file of ours is `.<name>.<8 random characters>.tmp` (mkstemp's pattern, below); one
# this old belongs to a write that was killed (SIGKILL, power loss) and is swept at the next write
# into its folder. A live write keeps its mtime fresh, so it is never swept.
TMP_PATTERN = re.compile(r"\..+\.[a-z0-9_]{8}\.tmp")
STALE_TMP_S = 30 * 60
_swept: set[str] = set()  # folders swept by this process (once each: sample --out DIR/ writes many)


def sha256_file(path: str | os.PathLike, algorithm: str = "sha256") -> str:
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):  # not every file system lets a directory be opened
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _umask() -> int:
    mask = os.umask(0)  # reading the umask means setting it: put it straight back
    os.umask(mask)
    return mask


def _last_change(entry: os.DirEntry) -> float:
    """When anything in ``entry`` last changed: a folder's own mtime misses a file growing inside it
    (a live download), so a folder counts its newest file."""
    newest = entry.stat(follow_symlinks=False).st_mtime
    if entry.is_dir(follow_symlinks=False):
        for top, _, files in os.walk(entry.path):
            for name in files:
                with contextlib.suppress(OSError):
                    newest = max(newest, os.lstat(os.path.join(top, name)).st_mtime)
    return newest


def sweep_stale(folder: str | os.PathLike, pattern: re.Pattern[str] = TMP_PATTERN,
                older_than: float = STALE_TMP_S) -> list[Path]:
    """Remove what interrupted writes left in ``folder``: entries named by ``pattern`` (files or
    folders) last modified more than ``older_than`` seconds ago. Returns what it removed."""
    removed, now = [], time.time()
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for entry in entries:
        try:
            if not pattern.fullmatch(entry.name) or now - _last_change(entry) < older_than:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
            removed.append(Path(entry.path))
        except OSError:
            continue  # gone already, or not ours to remove: never a reason to fail a write
    return removed


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO[Any]]:
    """Open a temporary sibling of ``path`` for writing; on success fsync it and rename it into place."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if str(path.parent) not in _swept:
            _swept.add(str(path.parent))
            sweep_stale(path.parent)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise DcganError(f"cannot write {path}: {exc.strerror or exc}; choose a writable folder") from exc
    try:
        # mkstemp makes the file 0600; a file written in place would get 0666 minus the umask
        os.fchmod(fd, 0o666 & ~_umask())
        with os.fdopen(fd, mode) as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise DcganError(f"cannot write {path}: {exc.strerror or exc}; free some space or choose "
                             "another folder (nothing already written was changed)") from exc
        raise
    _fsync_dir(path.parent)


def atomic_write(path: str | os.PathLike, data: bytes | str | Callable[[IO[bytes]], None]) -> Path:
    """Write bytes, text, or whatever ``data(fh)`` writes, atomically to ``path``."""
    with atomic_open(path, "wb") as fh:
        if callable(data):
            data(fh)
        else:
            fh.write(data.encode() if isinstance(data, str) else data)
    return Path(path)


def write_json(path: str | os.PathLike, obj: Any) -> Path:
    return atomic_write(path, json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n")


def append_jsonl(path: str | os.PathLike, rows: list[dict]) -> None:
    """Append whole lines and fsync: a crash leaves at most one torn last line, which readers skip."""
    if not rows:
        return
    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)
    try:
        with open(path, "a", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        raise DcganError(f"cannot append to {path}: {exc.strerror or exc}; free some space") from exc


def read_jsonl(path: str | os.PathLike) -> list[dict]:
    rows = []
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (FileNotFoundError, NotADirectoryError):  # no file (or no folder: os.devnull as a run)
        return rows
    for line in lines:
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError:
            continue  # a torn last line from a crash
    return rows


class RunLock:
    """An exclusive lock file in a run folder, so two trainings never write into the same run.

    Uses ``fcntl.flock``: the kernel drops it when the process dies (even by SIGKILL), so a crashed
    run never leaves a stale lock behind.
    """

    def __init__(self, folder: Path):
        self.path = Path(folder) / ".lock"
        self._fh: IO[str] | None = None

    def acquire(self) -> RunLock:
        import fcntl

        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fh = open(self.path, "a+", encoding="utf-8")
        except OSError as exc:
            raise DcganError(f"cannot create the run folder {self.path.parent}: "
                             f"{exc.strerror or exc}; choose a writable --out") from None
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise DcganError(f"{self.path.parent} is in use by another dcgan process; wait for it to "
                             "finish or choose another --out") from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"{os.getpid()}\n")
        fh.flush()
        self._fh = fh
        return self

    def release(self) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
