"""Stacked MNIST: deterministic, each channel an MNIST digit, labelled by its three digits."""

from __future__ import annotations

import torch

from dcgan import data as datasets


def test_stacked_mnist_is_deterministic_and_labelled_by_its_digits(tiny_mnist):
    a = datasets.load("stacked-mnist", "test")
    mnist = datasets.load("mnist", "test")
    assert a.images.shape == (10_000, 3, 28, 28) and len(a.classes) == 1000
    from dcgan.data.stacked import SEED, stack

    b = stack(mnist, 10_000, SEED + 1)
    assert torch.equal(a.images, b.images) and torch.equal(a.labels, b.labels)
    # each channel is an MNIST image and the label spells its three digits
    img, label = a.images[0], int(a.labels[0])
    for c, digit in enumerate(f"{label:03d}"):
        match = (mnist.images[:, 0] == img[c]).flatten(1).all(1)
        assert match.any() and int(digit) in mnist.labels[match].tolist()
