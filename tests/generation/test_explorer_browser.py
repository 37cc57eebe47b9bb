"""The explorer page end to end in a real headless Chromium (Debian's `chromium` package), driven by
Playwright. Skipped, with the reason, when either is missing; loopback only, every wait bounded."""

from __future__ import annotations

import shutil
import threading

import pytest

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
WAIT_MS = 60_000


def test_sliders_seeds_and_interpolation_update_the_image(tiny_run, tmp_path):
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    from dcgan.generation.explorer import Explorer, make_server

    srv = make_server(Explorer(tiny_run), "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{srv.server_address[1]}/"
    try:
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            try:
                page = browser.new_page()
                page.set_default_timeout(WAIT_MS)
                outside = []
                page.on("request", lambda r: None if r.url.startswith(url) else outside.append(r.url))
                page.goto(url)

                def shown(expect: str) -> bytes:
                    page.wait_for_function(f"document.getElementById('img').dataset.query === {expect!r}"
                                           " && document.getElementById('img').complete"
                                           " && document.getElementById('img').naturalWidth > 0")
                    return page.locator("#img").screenshot()

                first = shown("seed=0&seed2=1&t=0&d=0,0,0,0")
                assert page.evaluate("document.getElementById('img').naturalWidth") == 28
                # drag direction 1 (keyboard: each ArrowRight is one 0.1 step of the range input)
                page.focus("#d0")
                for _ in range(20):
                    page.keyboard.press("ArrowRight")
                moved = shown("seed=0&seed2=1&t=0&d=2,0,0,0")
                assert moved != first
                assert page.locator("#o0").inner_text() == "2.0"
                page.click("#reset")
                assert shown("seed=0&seed2=1&t=0&d=0,0,0,0") == first
                # pick a seed by typing
                page.fill("#seed", "42")
                other = shown("seed=42&seed2=1&t=0&d=0,0,0,0")
                assert other != first
                # interpolate to seed B: t=1 shows seed B's image
                page.fill("#seed2", "0")
                page.eval_on_selector("#t", "el => { el.value = 1; el.dispatchEvent(new Event('input')); }")
                assert shown("seed=42&seed2=0&t=1&d=0,0,0,0") == first
                page.screenshot(path=str(tmp_path / "explore.png"))
                assert outside == []  # the page fetched nothing from anywhere else
            finally:
                browser.close()
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=10)
