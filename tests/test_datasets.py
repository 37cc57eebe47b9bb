"""Fashion-MNIST, CIFAR-10, emoji and image folders, on small files the tests make.

Every fetch path is exercised offline (``DCGAN_OFFLINE=1``, set by the ``data_dir`` fixture) with
the published checksums swapped for those of the test files; checksum mismatches and "no source
left" are checked for each data set. Tests marked ``network`` really fetch from a registry and skip
when it cannot be reached.
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import io
import json
import os
import pickle
import stat
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from dcgan import data as datasets
from dcgan.cli import main
from dcgan.data import cifar, emoji, fashion, folder, sources
from dcgan.data.idx import encode_idx
from dcgan.errors import DcganError


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


# --------------------------------------------------------------------------------- Fashion-MNIST
def fashion_arrays(n_train=24, n_test=12, seed=0):
    rng = np.random.default_rng(seed)
    return {"train": (rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8), rng.integers(0, 10, n_train)),
            "t10k": (rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8), rng.integers(0, 10, n_test))}


def write_fashion(folder: Path, arrays, mtime: int = 0) -> dict[str, bytes]:
    """The four IDX files, gzipped with the given header mtime (Debian's copies differ only there)."""
    folder.mkdir(parents=True, exist_ok=True)
    gz = {}
    for prefix, (images, labels) in arrays.items():
        for kind, arr in (("images-idx3", images), ("labels-idx1", labels)):
            name = f"{prefix}-{kind}-ubyte.gz"
            gz[name] = gzip.compress(encode_idx(arr), mtime=mtime)
            (folder / name).write_bytes(gz[name])
    return gz


@pytest.fixture
def fashion_sums(monkeypatch):
    """Publish the test files' checksums in place of the real ones; returns the arrays."""
    arrays = fashion_arrays()
    raw = {}
    for prefix, (images, labels) in arrays.items():
        raw[f"{prefix}-images-idx3-ubyte.gz"] = md5(encode_idx(images))
        raw[f"{prefix}-labels-idx1-ubyte.gz"] = md5(encode_idx(labels))
    gz = {name: md5(blob) for name, blob in write_fashion(Path("official"), arrays, mtime=1).items()}
    monkeypatch.setattr(fashion, "RAW_MD5", raw)
    monkeypatch.setattr(fashion, "GZ_MD5", gz)
    monkeypatch.setattr(fashion, "DEBIAN_DIR", Path("/nonexistent/fashion-mnist"))
    return arrays


def test_fashion_from_installed_debian_files(data_dir, fashion_sums, monkeypatch, tmp_path):
    deb = tmp_path / "usr-share" / "fashion-mnist"
    write_fashion(deb, fashion_sums, mtime=1591347949)  # recompressed: .gz MD5s differ, contents not
    monkeypatch.setattr(fashion, "DEBIAN_DIR", deb)
    train = datasets.load("fashion-mnist", "train")
    test = datasets.load("fashion-mnist", "test")
    assert train.images.shape == (24, 1, 28, 28) and test.images.shape == (12, 1, 28, 28)
    assert torch.equal(train.images[:, 0], torch.from_numpy(fashion_sums["train"][0]))
    assert train.labels.tolist() == fashion_sums["train"][1].tolist()
    assert train.classes[0] == "T-shirt/top" and train.classes[9] == "Ankle boot"
    # copied into the cache's raw folder: a rebuilt cache needs neither the package nor the network
    assert sorted(p.name for p in (data_dir / "fashion-mnist" / "raw").iterdir()) == sorted(fashion.RAW_MD5)


def test_fashion_from_apt_package(data_dir, fashion_sums, monkeypatch):
    def fake_apt(package, workdir):
        assert package == "dataset-fashion-mnist"
        write_fashion(workdir / "root" / "usr/share/datasets/fashion-mnist", fashion_sums)
        return workdir / "root"

    monkeypatch.setattr(fashion, "apt_download", fake_apt)
    assert len(datasets.load("fashion-mnist", "train")) == 24


def test_fashion_official_mirror_checks_gz_md5(data_dir, fashion_sums, monkeypatch):
    served = {n: (Path("official") / n).read_bytes() for n in fashion.GZ_MD5}
    asked = serve(monkeypatch, served)
    monkeypatch.setattr(fashion, "apt_download", lambda *a: pytest.fail("apt tried after the mirror worked"))
    assert len(datasets.load("fashion-mnist", "test")) == 12
    assert len(asked) == 4 and all(u.startswith(fashion.MIRRORS[0]) for u in asked)


def test_fashion_mirror_replaces_a_damaged_file(data_dir, fashion_sums, monkeypatch):
    raw = data_dir / "fashion-mnist" / "raw"
    write_fashion(raw, fashion_sums)
    (raw / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"damaged"))
    asked = serve(monkeypatch, {n: (Path("official") / n).read_bytes() for n in fashion.GZ_MD5})
    assert len(datasets.load("fashion-mnist", "test")) == 12
    assert [u.rsplit("/", 1)[1] for u in asked] == ["t10k-labels-idx1-ubyte.gz"]


def test_fashion_mirror_checksum_mismatch_falls_through_and_fails(data_dir, fashion_sums, monkeypatch):
    served = {n: (Path("official") / n).read_bytes() for n in fashion.GZ_MD5}
    served["train-images-idx3-ubyte.gz"] = gzip.compress(b"tampered")
    serve(monkeypatch, served)
    monkeypatch.setattr(fashion, "apt_download", lambda *a: (_ for _ in ()).throw(
        sources.SourceFailed("apt-get download failed")))
    with pytest.raises(DcganError) as err:
        datasets.load("fashion-mnist")
    msg = str(err.value)
    assert "does not match the published" in msg and "Debian package" in msg and "apt-get" in msg
    assert str(data_dir / "fashion-mnist" / "raw") in msg
    assert not (data_dir / "fashion-mnist" / "raw" / "train-images-idx3-ubyte.gz").exists()
    assert not (data_dir / "fashion-mnist" / "train.safetensors").exists()


def test_fashion_rejects_local_files_with_wrong_contents(data_dir, fashion_sums):
    other = fashion_arrays(seed=1)
    write_fashion(data_dir / "fashion-mnist" / "raw", other)
    with pytest.raises(DcganError, match="decompressed md5 .* does not match"):
        datasets.fetch("fashion-mnist")


def test_fashion_offline_names_every_source(data_dir):
    with pytest.raises(DcganError) as err:
        datasets.fetch("fashion-mnist")
    msg = str(err.value)
    for part in ("official mirror", "/usr/share/datasets/fashion-mnist", "apt-get download",
                 "offline", "apt-get install dataset-fashion-mnist", "train-images-idx3-ubyte.gz"):
        assert part in msg


def test_fashion_real_md5s_are_the_published_ones():
    assert fashion.GZ_MD5["train-images-idx3-ubyte.gz"] == "8d4fb7e6c68d591d4c3dfef9ec88bf0d"
    assert fashion.GZ_MD5["t10k-labels-idx1-ubyte.gz"] == "bb300cfdad3c16e7a12a480ee83cd310"
    assert set(fashion.RAW_MD5) == set(fashion.GZ_MD5)


@pytest.mark.network
@pytest.mark.slow
def test_fashion_real_apt_package(tmp_path, monkeypatch):
    """apt-get download dataset-fashion-mnist really delivers the verified 60k/10k set."""
    monkeypatch.setenv("DCGAN_OFFLINE", "0")
    try:
        root = sources.apt_download(fashion.DEBIAN_PACKAGE, tmp_path)
    except sources.SourceFailed as exc:
        pytest.skip(f"Debian archive unreachable here: {exc}")
    files = fashion.verify_folder(root / fashion.IN_PACKAGE)
    from dcgan.data.mnist import idx_splits

    splits = idx_splits(files, fashion.RAW_MD5, "fashion-mnist", fashion.CLASSES)
    assert len(splits["train"]) == 60000 and len(splits["test"]) == 10000
    assert torch.bincount(splits["train"].labels).tolist() == [6000] * 10


# --------------------------------------------------------------------------------- CIFAR-10
class Py2Pickler(pickle._Pickler):
    """Writes bytes as Python 2 ``str`` (BINSTRING opcodes), as the real CIFAR files (cPickle) do."""

    dispatch = dict(pickle._Pickler.dispatch)

    def save_py2_str(self, obj):
        if len(obj) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(obj)]) + obj)
        else:
            self.write(pickle.BINSTRING + len(obj).to_bytes(4, "little") + obj)
        self.memoize(obj)

    dispatch[bytes] = save_py2_str


def dumps(obj, py2: bool) -> bytes:
    if not py2:  # a file re-pickled under Python 3: bytes stay bytes
        return pickle.dumps(obj, protocol=4)
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def cifar_batch(images: np.ndarray, labels: np.ndarray, py2: bool) -> bytes:
    return dumps({b"batch_label": b"test batch", b"labels": labels.tolist(),
                  b"data": images.reshape(len(images), -1), b"filenames": [b"x.png"] * len(images)}, py2)


def make_cifar_tarball(path: Path, n=3, py2=True, extra: list[tarfile.TarInfo] | None = None, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {}
    members = {}
    for name in (*cifar.TRAIN_BATCHES, *cifar.TEST_BATCHES):
        x = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
        y = rng.integers(0, 10, n)
        arrays[name] = (x, y)
        members[name] = cifar_batch(x, y, py2)
    members["batches.meta"] = dumps({b"label_names": [c.encode() for c in cifar.CLASSES]}, py2)
    members["readme.html"] = b"<html></html>"
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        for name, blob in members.items():
            info = tarfile.TarInfo(f"{cifar.FOLDER}/{name}")
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
        for info in extra or []:
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.isreg() else None)
    return arrays


@pytest.mark.parametrize("py2", [True, False], ids=["python2-pickles", "python3-pickles"])
def test_cifar_from_a_tarball_in_the_data_dir(data_dir, monkeypatch, py2):
    arrays = make_cifar_tarball(data_dir / cifar.TARBALL, py2=py2)
    monkeypatch.setattr(cifar, "MD5", md5((data_dir / cifar.TARBALL).read_bytes()))
    train, test = datasets.load("cifar10", "train"), datasets.load("cifar10", "test")
    assert train.images.shape == (15, 3, 32, 32) and test.images.shape == (3, 3, 32, 32)
    expected = np.concatenate([arrays[b][0] for b in cifar.TRAIN_BATCHES])  # R, G, B planes in order
    assert torch.equal(train.images, torch.from_numpy(expected))
    assert test.labels.tolist() == arrays["test_batch"][1].tolist()
    assert train.classes == cifar.CLASSES


def test_cifar_download_and_checksum_mismatch(data_dir, monkeypatch, tmp_path):
    make_cifar_tarball(tmp_path / "served.tgz")
    blob = (tmp_path / "served.tgz").read_bytes()
    serve(monkeypatch, {cifar.TARBALL: blob})
    with pytest.raises(DcganError) as err:  # the real MD5: the served file does not match it
        datasets.fetch("cifar10")
    msg = str(err.value)
    assert "does not match the published c58f30108f718f92721af3b95e74349a" in msg
    assert str(data_dir / "cifar10" / "raw" / cifar.TARBALL) in msg
    assert not (data_dir / "cifar10" / "raw" / cifar.TARBALL).exists()  # a bad download is not kept
    monkeypatch.setattr(cifar, "MD5", md5(blob))
    assert len(datasets.load("cifar10")) == 15
    assert (data_dir / "cifar10" / "raw" / cifar.TARBALL).read_bytes() == blob


def test_cifar_offline_says_which_file_goes_where(data_dir):
    assert main(["data", "fetch", "cifar10"]) == 2
    with pytest.raises(DcganError) as err:
        datasets.fetch("cifar10")
    msg = str(err.value)
    assert cifar.URL in msg and cifar.MD5 in msg and "offline" in msg
    assert f"put it at {data_dir / 'cifar10' / 'raw' / cifar.TARBALL}" in msg


def test_cifar_tarball_members_never_reach_the_disk(data_dir, monkeypatch, tmp_path):
    evil = []
    for name in ("../../escaped", f"{cifar.FOLDER}/../../escaped2", "/tmp/escaped3"):
        info = tarfile.TarInfo(name)
        info.size = 4
        evil.append(info)
    make_cifar_tarball(data_dir / cifar.TARBALL, extra=evil)
    monkeypatch.setattr(cifar, "MD5", md5((data_dir / cifar.TARBALL).read_bytes()))
    before = set(tmp_path.rglob("*"))
    assert len(datasets.load("cifar10")) == 15
    created = {p.relative_to(tmp_path).as_posix() for p in set(tmp_path.rglob("*")) - before}
    assert not any("escaped" in p for p in created) and not Path("/tmp/escaped3").exists()
    assert created and all(p == "data/cifar10" or p.startswith("data/cifar10/") for p in created)


def test_cifar_link_member_is_refused(data_dir, monkeypatch):
    link = tarfile.TarInfo(f"{cifar.FOLDER}/data_batch_1")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    path = data_dir / cifar.TARBALL
    make_cifar_tarball(path)
    with tarfile.open(path, "r:gz") as tar:  # rebuild with batch 1 replaced by the link
        kept = [(m, tar.extractfile(m).read()) for m in tar if not m.name.endswith("data_batch_1")]
    with tarfile.open(path, "w:gz") as tar:
        for m, blob in kept:
            tar.addfile(m, io.BytesIO(blob))
        tar.addfile(link)
    monkeypatch.setattr(cifar, "MD5", md5(path.read_bytes()))
    with pytest.raises(DcganError, match="not a plain batch file"):
        datasets.fetch("cifar10")


class _Boom:
    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_cifar_pickle_that_runs_code_is_refused(data_dir, monkeypatch, tmp_path):
    path = data_dir / cifar.TARBALL
    make_cifar_tarball(path)
    with tarfile.open(path, "r:gz") as tar:
        kept = [(m, tar.extractfile(m).read()) for m in tar]
    with tarfile.open(path, "w:gz") as tar:
        for m, blob in kept:
            if m.name.endswith("test_batch"):
                blob = pickle.dumps({b"data": _Boom(), b"labels": []}, protocol=2)
                m.size = len(blob)
            tar.addfile(m, io.BytesIO(blob))
    monkeypatch.setattr(cifar, "MD5", md5(path.read_bytes()))
    with pytest.raises(DcganError, match="posix.system|os.system|refusing"):
        datasets.fetch("cifar10")
    assert not (tmp_path / "pwned").exists()


# --------------------------------------------------------------------------------- emoji
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


def test_emoji_composited_onto_a_background(data_dir, emoji_tarball):
    white = datasets.load("emoji")
    assert white.images.shape == (4, 3, 64, 64)
    assert white.classes == ["Smileys & Emotion", "People & Body", "Flags"]
    assert white.labels.tolist() == [0, 1, 1, 2]  # the skin-tone variant shares its emoji's category
    assert white.images[0, :, 0, 0].tolist() == [255, 255, 255]        # transparent -> background
    assert white.images[0, :, 32, 32].tolist() == [255, 0, 0]          # opaque red stays red
    alpha = 128 / 255
    assert white.images[1, :, 32, 32].tolist() == [round(255 * (1 - alpha))] * 2 + [255]
    black = datasets.load("emoji:black")
    assert black.images[0, :, 0, 0].tolist() == [0, 0, 0]
    assert black.images[1, :, 32, 32].tolist() == [0, 0, round(255 * alpha)]
    assert datasets.load("emoji:#102030").images[2, :, 0, 0].tolist() == [16, 32, 48]
    with pytest.raises(DcganError, match="not a colour"):
        datasets.load("emoji:notacolour")
    with pytest.raises(DcganError, match="takes no option"):
        datasets.load("mnist:black")
    # one cache for every background: the RGBA images
    assert datasets.cache.load_split(data_dir / "emoji" / "train.safetensors").images.shape[1] == 4


def test_emoji_integrity_mismatch(data_dir, emoji_tarball, monkeypatch):
    monkeypatch.setattr(emoji, "INTEGRITY", sri(b"something else"))
    with pytest.raises(DcganError) as err:
        datasets.fetch("emoji")
    msg = str(err.value)
    assert "sha512" in msg and "does not match" in msg and "npm pack emoji-datasource-google@16.0.0" in msg


def test_emoji_offline_says_where_to_put_the_tarball(data_dir):
    with pytest.raises(DcganError) as err:
        datasets.fetch("emoji")
    msg = str(err.value)
    assert "offline" in msg and f"put {emoji.TARBALL} in {data_dir / 'emoji' / 'raw'}" in msg


def fake_npm(tmp_path: Path, monkeypatch, tarball: Path) -> None:
    """An ``npm`` on PATH whose ``pack`` drops ``tarball`` in the current folder, as the real one does."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "npm"
    script.write_text(f"#!/bin/sh\n[ \"$1\" = pack ] && cp '{tarball}' ./{emoji.TARBALL}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")


def test_emoji_npm_pack_source(data_dir, tmp_path, monkeypatch):
    blob = make_npm_tarball(tmp_path / "registry" / emoji.TARBALL)
    fake_npm(tmp_path, monkeypatch, tmp_path / "registry" / emoji.TARBALL)
    monkeypatch.setenv("DCGAN_OFFLINE", "0")
    monkeypatch.setattr(emoji, "INTEGRITY", sri(blob + b"x"))
    with pytest.raises(DcganError, match="does not match"):
        datasets.fetch("emoji")
    monkeypatch.setattr(emoji, "INTEGRITY", sri(blob))
    assert len(datasets.load("emoji")) == 4
    assert (data_dir / "emoji" / "raw" / emoji.TARBALL).read_bytes() == blob  # kept for rebuilds


@pytest.mark.network
@pytest.mark.slow
def test_emoji_real_npm_package(tmp_path, monkeypatch):
    """npm pack emoji-datasource-google@16.0.0 really delivers 3,786 64x64 images in 10 categories."""
    monkeypatch.setenv("DCGAN_OFFLINE", "0")
    try:
        tarball = sources.npm_pack(emoji.PACKAGE, emoji.INTEGRITY, tmp_path)
    except sources.SourceFailed as exc:
        if "does not match" in str(exc):
            raise
        pytest.skip(f"npm registry unreachable here: {exc}")
    data = emoji.from_tarball(tarball)["train"]
    assert data.images.shape == (3786, 4, 64, 64)
    assert len(data.classes) == 10 and "Flags" in data.classes


# --------------------------------------------------------------------------------- image folders
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


def test_folder_any_depth_classes_and_corrupt_files(data_dir, photo_folder, capsys, monkeypatch):
    data = datasets.load_any(str(photo_folder), resolution=16)
    err = capsys.readouterr().err
    assert "skipped 2 of 5 images" in err and "corrupt.png" in err and "truncated.jpg" in err
    assert data.images.shape == (3, 3, 16, 16) and data.images.dtype == torch.uint8
    assert data.classes == ["cats", "dogs"] and data.labels.tolist() == [0, 0, 1]
    assert data.images[1, :, 8, 8].tolist() == pytest.approx([10, 200, 10], abs=3)  # the nested JPEG

    # a second load reads no image file at all, and still reports what was skipped
    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("an image file was decoded again"))
    again = datasets.load_any(str(photo_folder), resolution=16)
    assert torch.equal(again.images, data.images) and again.classes == data.classes
    assert "2 unreadable images were skipped" in capsys.readouterr().err


def test_folder_cache_follows_the_content(data_dir, photo_folder):
    first = datasets.load_any(str(photo_folder), resolution=16)
    save(photo_folder / "dogs" / "d.png", Image.new("RGB", (16, 16), (9, 9, 9)))
    assert len(datasets.load_any(str(photo_folder), resolution=16)) == len(first) + 1
    assert datasets.load_any(str(photo_folder), resolution=8).images.shape[-1] == 8
    assert len(list((data_dir / "folders").iterdir())) == 3


def test_folder_resize_shorter_side_and_centre_crop(data_dir, tmp_path):
    wide = Image.new("RGB", (30, 10), (255, 0, 0))
    wide.paste(Image.new("RGB", (10, 10), (0, 255, 0)), (10, 0))
    save(tmp_path / "crop" / "wide.png", wide)
    tall = Image.new("RGB", (20, 60), (255, 0, 0))
    tall.paste(Image.new("RGB", (20, 20), (0, 255, 0)), (0, 20))
    save(tmp_path / "crop" / "tall.png", tall)
    data = datasets.load_any(str(tmp_path / "crop"), resolution=10)
    assert data.images.shape == (2, 3, 10, 10)
    assert torch.equal(data.images[1, 1], torch.full((10, 10), 255, dtype=torch.uint8))  # wide: no resize
    assert not data.images[1, 0].any()
    centre = data.images[0, :, 3:7, 3:7]  # beyond the reach of the downscaling filter into the red
    assert (centre[1] >= 250).all() and (centre[0] <= 5).all()
    assert data.classes == ["crop"] and data.labels.tolist() == [0, 0]


def test_folder_channels_follow_the_images(data_dir, tmp_path):
    save(tmp_path / "grey" / "a.png", Image.new("L", (12, 12), 77))
    save(tmp_path / "grey" / "b.jpg", Image.new("RGB", (12, 12), (90, 90, 90)))  # colour file, grey pixels
    grey = datasets.load_any(str(tmp_path / "grey"), resolution=12)
    assert grey.images.shape == (2, 1, 12, 12) and grey.images[0, 0, 6, 6] == 77
    blue = Image.new("RGBA", (12, 12), (0, 0, 255, 0))  # transparent but for one blue corner
    blue.paste(Image.new("RGBA", (3, 3), (0, 0, 255, 255)), (0, 0))
    save(tmp_path / "grey" / "c.png", blue)
    mixed = datasets.load_any(str(tmp_path / "grey"), resolution=12)
    assert mixed.images.shape == (3, 3, 12, 12)
    assert mixed.images[2, :, 6, 6].tolist() == [255, 255, 255]  # onto white, not black


def test_folder_without_images_is_an_error(data_dir, tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "sub" / "readme.txt").write_text("hi")
    with pytest.raises(DcganError, match="holds no JPEG, PNG or WebP"):
        datasets.load_any(str(tmp_path / "empty"))
    (tmp_path / "empty" / "sub" / "bad.png").write_bytes(b"junk")
    with pytest.raises(DcganError, match="none of the 1 image files"):
        datasets.load_any(str(tmp_path / "empty"))


# --------------------------------------------------------------------------------- the CLI
def test_cli_lists_and_shows_every_data_set(data_dir, photo_folder, emoji_tarball, tmp_path, capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("mnist", "fashion-mnist", "cifar10", "emoji", "PATH"):
        assert name in out
    assert main(["data", "fetch", "emoji"]) == 0
    assert "4 train images" in capsys.readouterr().out
    assert main(["data", "show", "emoji:black", "--out", str(tmp_path / "e.png")]) == 0
    assert Image.open(tmp_path / "e.png").mode == "RGB"
    assert main(["data", "show", str(photo_folder), "--resolution", "24", "--out", str(tmp_path / "f.png")]) == 0
    assert (tmp_path / "f.png").exists()
    assert main(["data", "fetch", "fashion-mnist"]) == 2  # offline, nothing installed: one-line error
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: could not fetch Fashion-MNIST")


def test_train_two_steps_on_an_image_folder(data_dir, tmp_path):
    for i in range(8):
        save(tmp_path / "imgs" / f"{i}.png", Image.new("L", (40, 40), 30 * i))
    assert main(["train", "--data", str(tmp_path / "imgs"), "--max-steps", "2", "--batch-size", "4",
                 "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    assert (tmp_path / "run" / "config.json").exists()
