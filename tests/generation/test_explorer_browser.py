"""The explorer page end to end in a real headless Chromium (Debian's `chromium` package), driven by
Playwright. Skipped, with the reason, when either is missing; loopback only, every wait bounded."""

from __future__ import annotations

import contextlib
import shutil
import threading

import pytest

pytestmark = pytest.mark.browser
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]
WAIT_MS = 60_000


@contextlib.contextmanager
def explorer_page(run):
    """A headless Chromium page on the explorer of ``run`` (served on a free loopback port), with a
    ``shown(query)`` that waits until the image of that query is on screen and returns its pixels,
    and the list of requests that went anywhere else."""
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright")
    from dcgan.generation.explorer import Explorer, make_server

    srv = make_server(Explorer(run), "127.0.0.1", 0)
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

                yield page, shown, outside
            finally:
                browser.close()
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=10)


def _slide(page, selector: str, value: float) -> None:
    page.eval_on_selector(selector, f"el => {{ el.value = {value}; el.dispatchEvent(new Event('input')); }}")


def test_sliders_seeds_and_interpolation_update_the_image(tiny_run, tmp_path):
    with explorer_page(tiny_run) as (page, shown, outside):
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
        _slide(page, "#t", 1)
        assert shown("seed=42&seed2=0&t=1&d=0,0,0,0") == first
        page.screenshot(path=str(tmp_path / "explore.png"))
        assert outside == []  # the page fetched nothing from anywhere else


def test_choosing_a_class_and_morphing_to_another_update_the_image(tiny_cond_run, tmp_path):
    noise = "seed=0&seed2=1&t=0&d=0,0,0,0"
    with explorer_page(tiny_cond_run) as (page, shown, outside):
        first = shown(f"{noise}&class=0&to=0&m=0")
        page.select_option("#cls", "5")
        five = shown(f"{noise}&class=5&to=0&m=0")
        assert five != first                                   # the class changes the image
        page.select_option("#cls2", "8")
        assert shown(f"{noise}&class=5&to=8&m=0") == five      # m = 0: still class 5
        _slide(page, "#m", 0.5)
        half = shown(f"{noise}&class=5&to=8&m=0.5")
        assert half != five and page.locator("#om").inner_text() == "0.50"
        _slide(page, "#m", 1)
        end = shown(f"{noise}&class=5&to=8&m=1")
        assert end != half
        page.click("#reset")                                   # reset takes the morph back too
        assert shown(f"{noise}&class=5&to=8&m=0") == five and page.locator("#om").inner_text() == "0.00"
        _slide(page, "#m", 1)
        assert shown(f"{noise}&class=5&to=8&m=1") == end
        _slide(page, "#m", 0)
        page.select_option("#cls", "8")
        assert shown(f"{noise}&class=8&to=8&m=0") == end       # m = 1 is class 8 chosen directly
        page.screenshot(path=str(tmp_path / "explore-classes.png"))
        assert outside == []
