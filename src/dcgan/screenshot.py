"""Pictures of dcgan's pages (report.html, the explorer) taken by a headless Chromium, if one is
installed (Debian: apt-get install chromium). Used by ``--screenshot`` and the README's figures."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from .errors import DcganError

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
# no network beyond the page itself, no profile, no GPU: the same flags the browser tests use
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars")
TIMEOUT_S = 120


def find_browser() -> str | None:
    for name in BROWSERS:
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(url: str, out: str | Path, width: int = 1200, height: int = 1600,
               wait_ms: int = 3000) -> Path:
    browser = find_browser()
    if browser is None:
        raise DcganError("--screenshot needs a Chromium: apt-get install chromium (or put chromium "
                         "on PATH)")
    out = Path(out).resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as profile:
        cmd = [browser, *FLAGS, f"--user-data-dir={profile}", f"--window-size={width},{height}",
               f"--virtual-time-budget={wait_ms}", f"--screenshot={out}", url]
        try:
            subprocess.run(cmd, capture_output=True, timeout=TIMEOUT_S, check=False)
        except subprocess.TimeoutExpired:
            raise DcganError(f"{browser} took over {TIMEOUT_S} s to take the screenshot") from None
    if not out.is_file():
        raise DcganError(f"{browser} wrote no screenshot of {url}")
    return out
