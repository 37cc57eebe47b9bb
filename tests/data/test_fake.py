"""The fake data set: deterministic random images, and nothing written to the cache."""

from __future__ import annotations

import torch


def test_fake_data_is_deterministic_and_writes_nothing(data_dir):
    from dcgan.data import load

    a, b = load("fake", "train"), load("fake", "train")
    test = load("fake", "test")
    assert a.images.shape == (1024, 3, 32, 32) and test.images.shape == (256, 3, 32, 32)
    assert a.images.dtype == torch.uint8 and torch.equal(a.images, b.images)
    assert not torch.equal(a.images[:256], test.images)
    assert list(data_dir.iterdir()) == []  # no fetch, no cache file
