"""Report, TensorBoard, latent tools, export and the explorer server, on tiny runs."""

from __future__ import annotations

import base64
import json
import re
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest
import torch

from dcgan.generation import latent
from dcgan.cli import main
from dcgan.generation.loading import load_generator

TRAIN = ["train", "--max-steps", "2", "--batch-size", "32", "--no-progress", "--log-every", "1"]


@pytest.fixture(scope="module")
def _shared_run(tmp_path_factory):
    """Two steps on the tiny MNIST look-alike, with one finished epoch (200 images / 100 per batch),
    trained once for this module (CPU time is scarce); tests copy it before writing into it."""
    import numpy as np

    from conftest import blob_digits
    from dcgan.data.cache import ImageSet, cache_path, save_split

    root = tmp_path_factory.mktemp("explore")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DCGAN_DATA", str(root / "data"))
        mp.setenv("DCGAN_OFFLINE", "1")
        images, labels = blob_digits(200)
        save_split(cache_path(root / "data", "mnist", "train"),
                   ImageSet(torch.from_numpy(images), torch.from_numpy(np.asarray(labels)),
                            [str(d) for d in range(10)], "mnist"))
        run = root / "run"
        assert main(["train", "--max-steps", "2", "--batch-size", "100", "--no-progress",
                     "--log-every", "1", "--no-report", "--out", str(run)]) == 0
    return run


@pytest.fixture
def tiny_run(_shared_run, tmp_path):
    import shutil

    return shutil.copytree(_shared_run, tmp_path / "run")


# -- report ------------------------------------------------------------------------------------
def test_report_is_self_contained_and_tells_the_story(tiny_run):
    pytest.importorskip("matplotlib")
    with open(tiny_run / "metrics.jsonl", "a") as fh:
        fh.write(json.dumps({"epoch": 1, "step": 2, "fid_test": 99.5, "best": True}) + "\n")
        fh.write(json.dumps({"epoch": 1, "step": 2, "event": "modes", "message": "modes fell"}) + "\n")
    with open(tiny_run / "stats.jsonl", "a") as fh:
        fh.write(json.dumps({"event": "nan_rollback", "step": 2, "problem": "d_loss non-finite"}) + "\n")
    assert main(["report", str(tiny_run)]) == 0
    page = (tiny_run / "report.html").read_text()
    # nothing fetched from elsewhere: no scripts, every src/href is inline
    assert "<script" not in page.lower()
    srcs = re.findall(r'(?:src|href)="([^"]*)"', page)
    assert srcs and all(s.startswith("data:") for s in srcs)
    # plots (2 training curves + 1 metric), epoch grid strip + final grid, and the GIF
    assert len(re.findall(r'src="data:image/png;base64,', page)) >= 5
    assert 'src="data:image/gif;base64,' in page
    png = base64.b64decode(re.search(r'src="data:image/png;base64,([^"]+)"', page).group(1))
    assert png.startswith(b"\x89PNG")
    assert "best checkpoint" in page and "step 2" in page
    assert "nan_rollback" in page and "modes fell" in page
    assert "Seconds per epoch" in page and "torch" in page and "fid_test" in page


def test_report_is_written_at_the_end_of_training(tiny_mnist, tmp_path):
    pytest.importorskip("matplotlib")
    run = tmp_path / "r"
    assert main([*TRAIN, "--out", str(run)]) == 0
    assert (run / "report.html").is_file()


def test_report_without_matplotlib_is_a_note_not_a_failure(tiny_run, monkeypatch, capsys):
    import dcgan.report as report

    monkeypatch.setattr(report, "have_matplotlib", lambda: False)
    assert report.after_training(tiny_run) is None
    assert "matplotlib" in capsys.readouterr().err
    assert main(["report", str(tiny_run)]) == 2
    assert "pip install" in capsys.readouterr().err


def test_report_refuses_a_folder_that_is_not_a_run(tmp_path, capsys):
    assert main(["report", str(tmp_path)]) == 2
    assert "not a dcgan run folder" in capsys.readouterr().err


# -- TensorBoard -------------------------------------------------------------------------------
def test_tensorboard_logs_scalars_and_the_grid(tiny_mnist, tmp_path):
    pytest.importorskip("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = tmp_path / "tb"
    assert main(["train", "--max-steps", "2", "--batch-size", "100", "--no-progress", "--log-every", "1",
                 "--no-report", "--tensorboard", "--out", str(run)]) == 0
    acc = EventAccumulator(str(run / "tensorboard"), size_guidance={"images": 0, "scalars": 0})
    acc.Reload()
    tags = acc.Tags()
    assert {"loss/d", "loss/g", "D/x", "D/G(z)", "speed/images_per_s"} <= set(tags["scalars"])
    assert [e.step for e in acc.Scalars("loss/d")] == [1, 2]
    assert "samples/fixed_noise" in tags["images"]


def test_tensorboard_missing_is_a_clear_error(tiny_mnist, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch.utils.tensorboard", None)  # import now fails
    assert main([*TRAIN, "--tensorboard", "--out", str(tmp_path / "x")]) == 2
    assert "pip install" in capsys.readouterr().err


# -- latent tools --------------------------------------------------------------------------------
def test_seed_names_the_first_image_of_dcgan_sample(tiny_run):
    G, _ = load_generator(tiny_run)
    via_sample = main(["sample", str(tiny_run), "--n", "1", "--seed", "7", "--out", "s.npz"])
    assert via_sample == 0
    import numpy as np

    expected = torch.from_numpy(np.load("s.npz")["images"])
    torch.testing.assert_close(latent.render(G, latent.seeds_z([7], G.noise_dim)), expected)


def test_slerp_keeps_ends_and_norm_between_unit_vectors():
    a, b = torch.randn(100), torch.randn(100)
    torch.testing.assert_close(latent.slerp(a, b, 0.0), a)
    torch.testing.assert_close(latent.slerp(a, b, 1.0), b)
    ua, ub = a / a.norm(), b / b.norm()
    assert latent.slerp(ua, ub, 0.5).norm() == pytest.approx(1.0, abs=1e-5)
    assert latent.lerp(ua, ub, 0.5).norm() < 0.95  # why slerp: lerp cuts through the inside
    frames = latent.path(torch.stack([a, b, a]), 4, "slerp")
    assert frames.shape == (9, 100)
    torch.testing.assert_close(frames[4], b)


def test_interpolate_writes_gif_and_strip(tiny_run):
    from PIL import Image

    assert main(["interpolate", str(tiny_run), "--seeds", "1,2,3", "--steps", "4", "--method", "slerp",
                 "--out", "walk.gif"]) == 0
    with Image.open("walk.gif") as gif:
        assert gif.n_frames == 2 * 4 + 1 + 7  # there (9) and back (7, ends not repeated)
    assert main(["interpolate", str(tiny_run), "--seeds", "1,2,3", "--steps", "4", "--method", "lerp",
                 "--out", "walk.png"]) == 0
    with Image.open("walk.png") as png:
        # 2 rows of 5 frames, 28 px + 2 px padding, scaled by 2
        assert png.size == (2 * (2 + 5 * 30), 2 * (2 + 2 * 30))


@pytest.mark.parametrize("argv, message", [
    (["--seeds", "1", "--out", "w.gif"], "at least 2"),
    (["--seeds", "1,b", "--out", "w.gif"], "comma-separated integers"),
    (["--seeds", "1,2", "--out", "w.jpg"], ".gif"),
    (["--seeds", "1,2", "--steps", "0", "--out", "w.gif"], "--steps"),
])
def test_interpolate_bad_input_is_one_line(tiny_run, capsys, argv, message):
    assert main(["interpolate", str(tiny_run), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_arithmetic_is_mean_a_minus_mean_b_plus_mean_c(tiny_run):
    from PIL import Image

    dim = 100
    z = latent.arithmetic_z([1, 2], [3], [4, 5, 6], dim)
    expected = (latent.seed_z(1, dim) + latent.seed_z(2, dim)) / 2 - latent.seed_z(3, dim) + \
        (latent.seed_z(4, dim) + latent.seed_z(5, dim) + latent.seed_z(6, dim)) / 3
    torch.testing.assert_close(z, expected)
    assert main(["arithmetic", str(tiny_run), "--a", "1,2", "--b", "3", "--c", "4,5,6",
                 "--out", "x.png"]) == 0
    with Image.open("x.png") as img:
        assert img.width > img.height  # inputs and their means on the left, the result right
        # the result image itself appears in the picture (3x nearest-neighbour upscale)
        G, _ = load_generator(tiny_run)
        res = latent.render(G, z[None])[0, 0].numpy()
        arr = __import__("numpy").asarray(img.convert("L"))
        small = res.repeat(3, 0).repeat(3, 1)
        found = any((arr[y:y + 84, x:x + 84] == small).all()
                    for y in range(arr.shape[0] - 83) for x in range(arr.shape[1] - 83)
                    if arr[y, x] == small[0, 0])
        assert found


# -- export --------------------------------------------------------------------------------------
LOADERS = {
    # each runs in a fresh interpreter with no dcgan on the path: only torch / onnxruntime
    "torchscript": """
import json, sys, torch
extra = {"dcgan.json": ""}
m = torch.jit.load(sys.argv[1], _extra_files=extra)
meta = json.loads(extra["dcgan.json"])
z = torch.load(sys.argv[2])
torch.save({"meta": meta, "out": m(z)}, sys.argv[3])
""",
    "onnx": """
import json, sys, torch, onnxruntime as ort
s = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
meta = json.loads(s.get_modelmeta().custom_metadata_map["dcgan"])
z = torch.load(sys.argv[2])
out = s.run(["images"], {"z": z.numpy()})[0]
torch.save({"meta": meta, "out": torch.from_numpy(out)}, sys.argv[3])
""",
}


@pytest.mark.parametrize("fmt, suffix", [("safetensors", ".safetensors"), ("torchscript", ".pt"),
                                         ("onnx", ".onnx")])
def test_export_loads_without_dcgan_and_matches(tiny_run, tmp_path, fmt, suffix):
    if fmt == "onnx":
        pytest.importorskip("onnx", reason="ONNX export needs the onnx package (pip install onnx)")
        pytest.importorskip("onnxruntime", reason="checking an ONNX export needs onnxruntime "
                                                  "(pip install onnxruntime)")
    out = tmp_path / f"g{suffix}"
    assert main(["export", str(tiny_run), "--format", fmt, "--out", str(out)]) == 0
    G, _ = load_generator(tiny_run)
    z = torch.randn(3, G.noise_dim, generator=torch.Generator().manual_seed(5))  # batch 3 != trace's 2
    with torch.no_grad():
        expected = G(z)
    if fmt == "safetensors":
        from safetensors import safe_open
        from safetensors.torch import load_file

        from dcgan.models import build_generator

        with safe_open(str(out), "pt") as fh:
            meta = {k: json.loads(v) for k, v in fh.metadata().items()}
        G2 = build_generator(meta["arch"])
        G2.load_state_dict(load_file(str(out)))
        with torch.no_grad():
            got = G2.eval()(z)
    else:
        torch.save(z, tmp_path / "z.pt")
        script = tmp_path / "load.py"
        script.write_text(LOADERS[fmt])
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ""}
        subprocess.run([sys.executable, "-I", str(script), str(out), str(tmp_path / "z.pt"),
                        str(tmp_path / "o.pt")], check=True, env=env, cwd=tmp_path, timeout=300)
        res = torch.load(tmp_path / "o.pt")
        meta, got = res["meta"], res["out"]
    assert meta["noise"] == {"distribution": "normal", "mean": 0.0, "std": 1.0, "dim": 100}
    assert (meta["resolution"], meta["channels"], meta["output_range"]) == (28, 1, [-1.0, 1.0])
    assert got.shape == (3, 1, 28, 28)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)


def test_export_unknown_format_is_one_line(tiny_run, capsys):
    assert main(["export", str(tiny_run), "--out", "g.bin"]) == 2
    assert "--format" in capsys.readouterr().err


# -- explorer server (loopback, bounded) --------------------------------------------------------
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


def test_explorer_directions_are_orthonormal_and_stable(tiny_run):
    G, _ = load_generator(tiny_run)
    d = latent.directions(G, 4)
    torch.testing.assert_close(d @ d.T, torch.eye(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(latent.directions(G, 4), d)


def test_explorer_listens_on_loopback_by_default():
    from dcgan.cli import build_parser

    args = build_parser().parse_args(["explore", "run"])
    assert args.host == "127.0.0.1"
