"""The exploration commands on a 64x64 colour generator, not only on grey MNIST."""

import json
import threading
import urllib.request

import numpy as np
import pytest
import torch
from PIL import Image

import dcgan
from dcgan.cli import main


@pytest.fixture(scope="module")
def colour_run(tmp_path_factory):
    import os

    root = tmp_path_factory.mktemp("colour")
    old = os.environ.get("DCGAN_DATA")
    os.environ["DCGAN_DATA"] = str(root / "data")
    try:
        return dcgan.train(model="dcgan64", data="fake", resolution=64, arch_options={"ngf": 8, "ndf": 8},
                           batch_size=8, limit=16, max_steps=2, out=str(root / "run"), progress=False)
    finally:
        if old is None:
            os.environ.pop("DCGAN_DATA")
        else:
            os.environ["DCGAN_DATA"] = old


def test_report_of_a_colour_run(colour_run):
    pytest.importorskip("matplotlib")
    assert main(["report", str(colour_run)]) == 0
    html = (colour_run / "report.html").read_text()
    assert "64×64×3" in html or "64x64x3" in html
    assert "<script src" not in html


def test_interpolate_and_arithmetic_make_colour_pictures(colour_run, tmp_path):
    assert main(["interpolate", str(colour_run), "--seeds", "1,2", "--steps", "4", "--out",
                 str(tmp_path / "walk.png")]) == 0
    with Image.open(tmp_path / "walk.png") as img:
        assert img.mode == "RGB" and img.height >= 64 and img.width >= 4 * 64
    assert main(["arithmetic", str(colour_run), "--a", "1", "--b", "2", "--c", "3", "--out",
                 str(tmp_path / "sum.png")]) == 0
    with Image.open(tmp_path / "sum.png") as img:
        assert img.mode == "RGB"


def test_safetensors_export_of_a_colour_generator_matches(colour_run, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file

    from dcgan.models import build_generator

    out = tmp_path / "g.safetensors"
    assert main(["export", str(colour_run), "--format", "safetensors", "--out", str(out)]) == 0
    with safe_open(str(out), "pt") as fh:
        meta = {k: json.loads(v) for k, v in fh.metadata().items()}
    assert (meta["resolution"], meta["channels"]) == (64, 3)
    G2 = build_generator(meta["arch"])
    G2.load_state_dict(load_file(str(out)))
    G, _ = dcgan.load_generator(colour_run)
    z = torch.randn(2, G.noise_dim)
    with torch.no_grad():
        torch.testing.assert_close(G2.eval()(z), G(z))


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
