"""CIFAR-10 from its python tarball, on tarballs the tests make (Python 2 and 3 pickles), offline with
the published MD5 swapped for theirs; path traversal, links and code in pickles are refused."""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch

from dcgan import data as datasets
from dcgan.cli import main
from dcgan.data import cifar
from dcgan.errors import DcganError

from conftest import md5, serve


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
