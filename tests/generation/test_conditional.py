"""Every verb takes a class (a generator trained with --cond): sample by label, name or all (one
grid row per class), D's decision for a class, walks and sums at a fixed class; an unconditional
generator refuses a class in one line."""

from __future__ import annotations

import contextlib

import pytest
import torch
from PIL import Image

import dcgan
from dcgan.cli import main
from dcgan.errors import DcganError
from dcgan.generation.sampling import generate

COND_8 = {"model": "lean", "data": "fake", "channels": 1, "resolution": 8, "batch_size": 8, "limit": 64,
          "progress": False, "eval_every": 0, "epochs": 1, "keep": 1, "report": False}


@pytest.fixture(scope="module")
def cond_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("cond")
    return {c: dcgan.train(out=str(root / c), cond=c, **COND_8) for c in ("projection", "acgan")}


def test_sample_draws_the_requested_class_from_the_seed_s_noise(cond_runs):
    run = cond_runs["projection"]
    G, _ = dcgan.load_generator(run)
    sevens = dcgan.sample(run, n=4, seed=1, classes=7)
    assert torch.equal(sevens, torch.cat(list(generate(G, 4, 1, classes=[7]))))
    assert torch.equal(sevens, dcgan.sample(run, n=4, seed=1, classes="7"))  # its name
    assert not torch.equal(sevens, dcgan.sample(run, n=4, seed=1, classes=3))
    every = dcgan.sample(run, n=4, seed=1, classes="all")
    assert every.shape == (40, 1, 8, 8) and torch.equal(every[28:32], sevens)  # class after class
    assert torch.equal(dcgan.sample(run, n=4, seed=1, classes=[3, "7"])[4:], sevens)


def test_class_all_writes_a_grid_with_one_row_per_class(cond_runs, tmp_path, capsys):
    out = tmp_path / "classes.png"
    assert main(["sample", str(cond_runs["acgan"]), "--class", "all", "--n", "3", "--out", str(out)]) == 0
    grid = Image.open(out)
    cell = 8 + 2  # 8x8 images with 2 pixels of padding
    assert (grid.height // cell, grid.width // cell) == (10, 3)


def test_a_class_the_generator_lacks_and_a_class_for_an_unconditional_one_are_one_line(cond_runs, tiny_run,
                                                                                        capsys):
    for run, spec, words in ((cond_runs["projection"], "11", "not one of this generator's classes"),
                             (cond_runs["projection"], "cat", "not one of this generator's classes"),
                             (tiny_run, "7", "trained without --cond")):
        assert main(["sample", str(run), "--class", spec, "--out", "x.png"]) == 2
        err = capsys.readouterr().err.strip()
        assert words in err and "\n" not in err


def test_discriminate_judges_images_as_the_given_class(cond_runs):
    images = dcgan.sample(cond_runs["projection"], n=3, classes=2)
    with pytest.raises(DcganError, match="give --class"):
        dcgan.discriminate(cond_runs["projection"], images)
    as_2 = dcgan.discriminate(cond_runs["projection"], images, classes=2)
    as_5 = dcgan.discriminate(cond_runs["projection"], images, classes=5)
    assert [r["class"] for r in as_2] == ["2"] * 3
    assert [r["logit"] for r in as_2] != [r["logit"] for r in as_5]  # the projection reads the class
    rows = dcgan.discriminate(cond_runs["acgan"], images, classes="2")
    assert all(r["read_as"] in [str(i) for i in range(10)] and 0 <= r["p_class"] <= 1 for r in rows)
    assert "p_class" not in dcgan.discriminate(cond_runs["acgan"], images)[0]


def test_discriminate_prints_the_class_columns(cond_runs, tmp_path, capsys):
    assert main(["sample", str(cond_runs["acgan"]), "--class", "1", "--n", "2", "--out", str(tmp_path) + "/"]) == 0
    capsys.readouterr()
    assert main(["discriminate", str(cond_runs["acgan"]), str(tmp_path / "000000.png"), "--class", "1"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    assert header.split()[-3:] == ["class", "read_as", "p_class"]


def test_walks_and_sums_at_a_fixed_class(cond_runs, tmp_path):
    run = cond_runs["projection"]
    a = dcgan.interpolate(run, [1, 2], steps=2, out=tmp_path / "a.png", classes=4)
    b = dcgan.interpolate(run, [1, 2], steps=2, out=tmp_path / "b.png", classes=6)
    assert a.read_bytes() != b.read_bytes()
    assert dcgan.arithmetic(run, [1], [2], [3], out=tmp_path / "s.png", classes="4").is_file()
    with pytest.raises(DcganError, match="give one class here"):
        dcgan.interpolate(run, [1, 2], out=tmp_path / "c.png", classes=[1, 2])


@pytest.mark.parametrize("suffix", [".safetensors", ".pt", ".onnx"])
def test_exports_take_a_label_and_draw_the_run_s_classes(cond_runs, tmp_path, suffix):
    if suffix == ".onnx":
        pytest.importorskip("onnx")
        pytest.importorskip("onnxruntime")
    run = cond_runs["acgan"]
    out = dcgan.export(run, out=tmp_path / f"g{suffix}")
    card = next(tmp_path.glob("*.MODEL_CARD.md"))
    assert "Class-conditional: pass labels `y`" in card.read_text()
    G, meta = dcgan.load_generator(out)
    assert meta["classes"] == [str(i) for i in range(10)] and meta["label_input"] == "y"
    expected = dcgan.sample(run, n=3, seed=2, classes=[4, 9])  # the statistics the export baked in
    torch.testing.assert_close(dcgan.sample(out, n=3, seed=2, classes=[4, 9]).float(), expected.float(), atol=1, rtol=0)
    if suffix == ".pt":  # torch alone: G(z, y)
        scripted = torch.jit.load(str(out))
        z = torch.randn(2, meta["noise"]["dim"])
        assert not torch.equal(scripted(z, torch.tensor([0, 0])), scripted(z, torch.tensor([1, 1])))


@contextlib.contextmanager
def _explorer(run):
    """``get(path) -> (status, body)`` against the explorer of ``run`` on a free loopback port."""
    import threading
    import urllib.error
    import urllib.request

    from dcgan.generation.explorer import Explorer, make_server

    srv = make_server(Explorer(run), "127.0.0.1", 0)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{srv.server_address[1]}"

    def get(path):
        try:
            with urllib.request.urlopen(base + path, timeout=30) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read()
    try:
        yield get
    finally:
        srv.shutdown()
        srv.server_close()
        thread.join(timeout=10)


def test_the_explorer_offers_the_run_s_classes_and_draws_the_chosen_one(cond_runs):
    import json

    from dcgan.generation import latent

    run = cond_runs["projection"]
    with _explorer(run) as get:
        assert json.loads(get("/api/info")[1])["classes"] == [str(i) for i in range(10)]
        page = get("/")[1].decode()
        assert "<select id=cls>" in page and "<option value=9>9</option>" in page
        G, _ = dcgan.load_generator(run)
        five = get("/api/image?seed=3&class=5")[1]
        assert five == latent.as_png(latent.render(G, latent.seeds_z([3], G.noise_dim), y=5)[0])
        assert five != get("/api/image?seed=3&class=6")[1]
        assert get("/api/image?seed=3")[1] == get("/api/image?seed=3&class=0")[1]
        assert get("/api/image?seed=3&class=10")[0] == 400


def test_the_explorer_morphs_from_one_class_to_another_at_the_same_noise(cond_runs, tiny_run):
    from dcgan.generation import latent

    run = cond_runs["projection"]
    G, _ = dcgan.load_generator(run)
    z = latent.seeds_z([3], G.noise_dim)
    with _explorer(run) as get:
        page = get("/")[1].decode()
        assert "<select id=cls2>" in page and "id=m " in page
        two, seven = get("/api/image?seed=3&class=2")[1], get("/api/image?seed=3&class=7")[1]
        assert get("/api/image?seed=3&class=2&to=7&m=0")[1] == two
        assert get("/api/image?seed=3&class=2&to=7&m=1")[1] == seven   # the end is class 7 itself
        half = get("/api/image?seed=3&class=2&to=7&m=0.5")[1]
        assert half == latent.as_png(latent.render(G, z, y=latent.class_mix(2, 7, 0.5, 10)[None])[0])
        assert half not in (two, seven)
        assert get("/api/image?seed=3&class=2&to=2&m=0.5")[1] == two   # to the same class: no morph
        for bad in ("to=10", "to=-1", "m=nan", "to=x"):
            status, body = get(f"/api/image?seed=3&class=2&{bad}")
            assert status == 400 and body.startswith(b"bad query"), bad
    with _explorer(tiny_run) as get:  # an unconditional generator has no class to morph to
        assert get("/api/image?seed=3&to=1&m=0.5") == (400, b"bad query: this generator takes no class")
        assert b"<select id=cls2>" not in get("/")[1]


# -- the metadata schema (generation/loading.check_meta, models/bounds.check_arch) -----------------

def test_a_conditional_run_s_saved_and_exported_metadata_passes_check_meta_in_every_loader(cond_runs, tmp_path):
    from dcgan import checkpoint as ckpt
    from dcgan.generation.export import export_metadata
    from dcgan.generation.loading import DISCRIMINATOR, EXPORT, GENERATOR, check_meta

    for cond, run in cond_runs.items():
        g = ckpt.newest_good(run) / ckpt.G_FILE
        meta = check_meta(ckpt.read_meta(g), g, (GENERATOR,))
        assert meta["arch"]["cond"] == cond and meta["arch"]["classes"] == 10
        check_meta(ckpt.read_meta(g.parent / ckpt.D_FILE), g, (DISCRIMINATOR,))
        check_meta(export_metadata(meta), "export", (EXPORT,))
        D, _ = dcgan.load_discriminator(run)
        assert D is not None
        suffixes = [".safetensors", ".pt"] + [".onnx"] * _has_onnx()
        for suffix in suffixes:
            G, loaded = dcgan.load_generator(dcgan.export(run, out=tmp_path / f"{cond}{suffix}"))
            assert loaded["arch"]["classes"] == 10 and loaded["classes"] == meta["arch"]["class_names"]
            assert G(torch.zeros(2, G.noise_dim), torch.tensor([3, 4])).shape == (2, 1, 8, 8)


def _has_onnx() -> bool:
    import importlib.util

    return all(importlib.util.find_spec(m) for m in ("onnx", "onnxruntime"))


BAD_CLASSES = [
    ({"classes": 0}, "classes 0"),
    ({"classes": -1}, "classes -1"),
    ({"classes": "10"}, "classes '10'"),
    ({"classes": 10.0}, "classes 10.0"),
    ({"class_names": [str(i) for i in range(9)]}, "class_names of 9 item(s)"),
    ({"class_names": list(range(10))}, "class_names of 10 item(s)"),
    ({"class_names": "0123456789"}, "class_names of str"),
    ({"cond": "both"}, "cond 'both'"),
]


@pytest.mark.parametrize("edit,message", BAD_CLASSES)
def test_metadata_with_bad_classes_is_refused_in_one_line(cond_runs, tmp_path, capsys, edit, message):
    import json

    from safetensors.torch import load_file, save_file

    from dcgan import checkpoint as ckpt

    src = ckpt.newest_good(cond_runs["projection"]) / ckpt.G_FILE
    meta = ckpt.read_meta(src)
    meta["arch"].update(edit)
    bad = tmp_path / "bad.safetensors"
    save_file(load_file(str(src)), str(bad), metadata={k: json.dumps(v) for k, v in meta.items()})
    for argv in (["sample", str(bad), "--n", "2", "--out", str(tmp_path / "s.png")],
                 ["export", str(bad), "--out", str(tmp_path / "e.safetensors")]):
        capsys.readouterr()
        assert main(argv) == 2
        err = capsys.readouterr().err.strip()
        assert message in err and "\n" not in err and "Traceback" not in err, err


def test_an_export_whose_class_list_disagrees_with_its_architecture_is_refused(cond_runs, tmp_path):
    from dcgan.generation.export import export_metadata
    from dcgan.generation.loading import EXPORT, check_meta

    _, meta = dcgan.load_generator(cond_runs["acgan"], bn="running")
    info = export_metadata(meta)
    for edit in ({"classes": info["classes"][:-1]}, {"label_input": "labels"}):
        with pytest.raises(DcganError, match="class_names"):
            check_meta({**info, **edit}, "g.pt", (EXPORT,))
    unconditional = {**info, "arch": {k: v for k, v in info["arch"].items()
                                      if k not in ("cond", "classes", "class_names", "class_source", "class_prior")}}
    with pytest.raises(DcganError, match="not conditional"):
        check_meta(unconditional, "g.pt", (EXPORT,))


def test_the_images_held_are_bounded_as_n_times_the_classes_asked(cond_runs, monkeypatch):
    from dcgan import limits

    run = cond_runs["projection"]
    monkeypatch.setattr(limits, "MAX_IMAGES_BYTES", 4 * 8 * 8 * 5)  # room for 20 8x8 grey images
    assert dcgan.sample(run, n=4, classes=7).shape == (4, 1, 8, 8)
    with pytest.raises(DcganError, match="40 images") as err:  # 4 of each of 10 classes
        dcgan.sample(run, n=4, classes="all")
    # the --n the user gave, and the largest --n that fits with every class
    assert str(err.value).startswith("--n 4 of each of 10 classes: ") and "at most --n 2," in str(err.value)


# -- a walk between two classes at fixed noise (interpolate --to-class) ----------------------------

def _cells(png, rows: int, cols: int, size: int = 8, scale: int = 2) -> torch.Tensor:
    """The (rows * cols, C, size, size) uint8 images of a strip make_grid laid out (2 px padding),
    saved at ``scale``."""
    import numpy as np

    arr = np.array(Image.open(png))
    arr = (arr[..., None] if arr.ndim == 2 else arr)[::scale, ::scale]      # back to 1 px per pixel
    step = size + 2
    cells = [arr[2 + r * step:2 + r * step + size, 2 + c * step:2 + c * step + size]
             for r in range(rows) for c in range(cols)]
    return torch.from_numpy(np.stack(cells)).permute(0, 3, 1, 2)[:, :1]


def test_a_walk_between_two_classes_holds_the_noise_and_ends_at_each_class(cond_runs, tmp_path):
    from dcgan.generation import latent

    run = cond_runs["projection"]
    G, _ = dcgan.load_generator(run)
    out = dcgan.interpolate(run, [5, 6], steps=4, out=tmp_path / "morph.png", classes=3, to_class="8")
    cells = _cells(out, 2, 5).view(2, 5, 1, 8, 8)                             # (seed, frame, C, H, W)
    z = latent.seeds_z([5, 6], G.noise_dim)
    assert torch.equal(cells[:, 0], latent.render(G, z, y=3))                 # t = 0: class 3 itself
    assert torch.equal(cells[:, -1], latent.render(G, z, y=8))                # t = 1: class 8 itself
    half = torch.zeros(2, 10)
    half[:, 3] = half[:, 8] = 0.5
    assert torch.equal(cells[:, 2], latent.render(G, z, y=half))              # t = 1/2: the even mixture
    assert not torch.equal(cells[:, 2], cells[:, 0]) and not torch.equal(cells[:, 2], cells[:, -1])
    assert torch.equal(latent.class_path(3, 8, 4, 10)[1], torch.eye(10)[3] * 0.75 + torch.eye(10)[8] * 0.25)
    # one seed is enough, from the command line too, and a GIF shows the same frames
    assert main(["interpolate", str(run), "--class", "3", "--to-class", "8", "--seeds", "5", "--steps", "4",
                 "--out", str(tmp_path / "one.png")]) == 0
    assert torch.equal(_cells(tmp_path / "one.png", 1, 5), cells[0])
    gif = dcgan.interpolate(run, [5, 6], steps=4, out=tmp_path / "morph.gif", classes=3, to_class=8)
    assert Image.open(gif).n_frames == 2 * 4  # there and back


def test_a_class_mixture_is_the_interpolated_embedding_and_a_one_hot_row_is_the_label():
    from dcgan.models import build_generator, get_preset
    from dcgan.models.lean import ClassBatchNorm2d

    torch.manual_seed(0)
    G = build_generator(get_preset("lean").arch(resolution=8, cond="projection",
                                                class_names=[str(i) for i in range(4)], width=4)).eval()
    bn = next(m for m in G.modules() if isinstance(m, ClassBatchNorm2d))
    x, t = torch.randn(3, bn.bn.num_features, 2, 2), 0.3
    w = torch.zeros(3, 4)
    w[:, 1], w[:, 2] = 1 - t, t
    normed = bn.bn(x)
    scale = t * bn.scale.weight[2] + (1 - t) * bn.scale.weight[1]             # t emb[B] + (1 - t) emb[A]
    shift = t * bn.shift.weight[2] + (1 - t) * bn.shift.weight[1]
    torch.testing.assert_close(bn(x, w), normed * scale[:, None, None] + shift[:, None, None])
    z, y = torch.randn(6, G.noise_dim), torch.tensor([0, 1, 2, 3, 2, 1])
    assert torch.equal(G(z, torch.nn.functional.one_hot(y, 4).float()), G(z, y))


def _labelled_forward_as_before(G, z, y):
    """A conditional G's forward as it was written before class weights existed (an embedding row of
    each class's scale and shift): integer labels must keep giving these images bit for bit."""
    from dcgan.models.lean import ClassBatchNorm2d

    x = z
    for layer in G.net:
        if isinstance(layer, ClassBatchNorm2d):
            x = layer.bn(x) * layer.scale(y)[:, :, None, None] + layer.shift(y)[:, :, None, None]
        else:
            x = layer(x)
    return x


def test_sampling_with_integer_labels_gives_the_images_it_gave_before_class_weights(cond_runs):
    from dcgan.images import to_uint8

    for run in cond_runs.values():
        G, _ = dcgan.load_generator(run)
        g = torch.Generator().manual_seed(4)
        z = torch.randn(6, G.noise_dim, generator=g)
        with torch.no_grad():
            before = to_uint8(_labelled_forward_as_before(G, z, torch.full((6,), 7)))
        assert torch.equal(dcgan.sample(run, n=6, seed=4, classes=7), before)
        assert torch.equal(dcgan.sample(run, n=6, seed=4, classes="7"), before)


def test_a_class_walk_is_refused_in_one_line_when_it_cannot_be_drawn(cond_runs, tiny_run, tmp_path, capsys):
    run = str(cond_runs["projection"])
    pt = dcgan.export(run, out=tmp_path / "g.pt")
    for argv, words in (([str(tiny_run), "--class", "3", "--to-class", "8"], "trained without --cond, so it takes no class"),
                        ([str(tiny_run), "--to-class", "8"], "--to-class 8: this generator was trained without --cond"),
                        ([run, "--class", "3", "--to-class", "cat"], "--to-class 'cat' is not one of this generator's classes"),
                        ([run, "--class", "11", "--to-class", "8"], "--class 11 is not one of"),
                        ([run, "--to-class", "8"], "give --class too"),
                        ([run, "--class", "3", "--to-class", "all"], "--to-class: give one class here"),
                        ([str(pt), "--class", "3", "--to-class", "8"], "integer labels only")):
        capsys.readouterr()
        assert main(["interpolate", *argv, "--seeds", "1", "--out", str(tmp_path / "w.png")]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert words in err and "\n" not in err, (argv, err)
    assert not (tmp_path / "w.png").exists()


def test_arithmetic_to_class_draws_the_sum_at_the_other_class(cond_runs, tmp_path, capsys):
    import numpy as np

    from dcgan.generation import latent

    run = cond_runs["projection"]
    groups = [[1, 2], [3], [4, 5]]
    moved = np.array(Image.open(dcgan.arithmetic(run, *groups, out=tmp_path / "a.png", classes=3, to_class="8")))
    at_3 = np.array(Image.open(dcgan.arithmetic(run, *groups, out=tmp_path / "b.png", classes=3)))
    at_8 = np.array(Image.open(dcgan.arithmetic(run, *groups, out=tmp_path / "c.png", classes=8)))
    x = latent.arithmetic_result_x(dcgan.load_generator(run)[0].resolution, groups)
    assert np.array_equal(moved[:, x:], at_8[:, x:])       # the result (and its label) is class 8's
    assert np.array_equal(moved[:, :x], at_3[:, :x])       # the seeds and their means stay at class 3
    assert not np.array_equal(moved[:, x:], at_3[:, x:])
    for argv, words in ((["--to-class", "8"], "give --class too"),
                        (["--class", "3", "--to-class", "cat"], "--to-class 'cat' is not one of")):
        capsys.readouterr()
        assert main(["arithmetic", str(run), "--a", "1", "--b", "2", "--c", "3", *argv,
                     "--out", str(tmp_path / "r.png")]) == 2, argv
        err = capsys.readouterr().err.strip()
        assert words in err and "\n" not in err, (argv, err)
    assert not (tmp_path / "r.png").exists()
