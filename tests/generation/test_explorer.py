"""The explorer server (loopback, bounded): the page and its images, colour images, and the default
host."""

from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request

import pytest
from PIL import Image

from dcgan.generation import latent
from dcgan.generation.loading import load_generator


@pytest.fixture
def server(tiny_run):
    from dcgan.generation.explorer import Explorer, make_server

    srv = make_server(Explorer(tiny_run), "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()
    thread.join(timeout=10)


def _get(url: str) -> tuple[int, bytes, str]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, r.read(), r.headers["Content-Type"]
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read(), exc.headers["Content-Type"]


def test_explorer_serves_page_and_images(server, tiny_run):
    status, body, ctype = _get(server + "/")
    assert status == 200 and ctype.startswith("text/html")
    assert b"<script src" not in body and b"http" not in body.split(b"<script>")[1]  # nothing external
    info = json.loads(_get(server + "/api/info")[1])
    assert (info["noise_dim"], info["resolution"], info["directions"]) == (100, 28, 4)
    base = _get(server + "/api/image?seed=3")
    assert base[0] == 200 and base[2] == "image/png" and base[1].startswith(b"\x89PNG")
    # the image is G(z(seed)): the same pixels dcgan's own renderer gives
    G, _ = load_generator(tiny_run)
    assert base[1] == latent.as_png(latent.render(G, latent.seeds_z([3], 100))[0])
    moved = _get(server + "/api/image?seed=3&d=2.5,0,0,0")[1]
    assert moved != base[1]
    assert _get(server + "/api/image?seed=3&seed2=9&t=1")[1] == _get(server + "/api/image?seed=9")[1]
    assert _get(server + "/api/image?seed=3&seed2=9&t=0")[1] == base[1]
    for bad in ("seed=x", "seed=-1", "t=nan", "d=1,zz"):
        assert _get(server + "/api/image?" + bad)[0] == 400
    assert _get(server + "/nope")[0] == 404


def test_explorer_listens_on_loopback_by_default():
    from dcgan.cli import build_parser

    args = build_parser().parse_args(["explore", "run"])
    assert args.host == "127.0.0.1"


def test_explorer_serves_colour_images(colour_run):
    from dcgan.generation.explorer import Explorer, make_server

    srv = make_server(Explorer(colour_run), "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{srv.server_address[1]}/api/image?seed=3"
        with urllib.request.urlopen(url, timeout=30) as r:
            blob = r.read()
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=10)
    import io

    img = Image.open(io.BytesIO(blob))
    assert img.mode == "RGB" and img.size[0] == img.size[1] and img.size[0] >= 64
