"""Fashion-MNIST from the official mirror and Debian's package, on small files the tests make.

Every fetch path is exercised offline (``DCGAN_OFFLINE=1``, set by the ``data_dir`` fixture) with
the published checksums swapped for those of the test files. Tests marked ``network`` really fetch
from a registry and skip when it cannot be reached.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pytest
import torch

from dcgan import data as datasets
from dcgan.data import fashion, sources
from dcgan.data.idx import encode_idx
from dcgan.errors import DcganError

from conftest import md5, serve


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
