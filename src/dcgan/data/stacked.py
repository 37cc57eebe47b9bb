"""Stacked MNIST: three independent MNIST digits as the R, G and B channels (1000 modes).

The standard mode-collapse benchmark (Metz et al. 2017, VEEGAN, PacGAN). Built deterministically
from the cached MNIST splits: image i of a split stacks digits ``idx[i, 0..2]`` drawn uniformly
with replacement by a ``torch.Generator`` seeded with ``SEED`` (train from MNIST train, test from
MNIST test); its label is the 3-digit number ``100 * d_R + 10 * d_G + d_B``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch

from .cache import ImageSet

SEED = 2017
SIZES = {"train": 60_000, "test": 10_000}
CLASSES = [f"{k:03d}" for k in range(1000)]


def stack(mnist: ImageSet, n: int, seed: int) -> ImageSet:
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(0, len(mnist), (n, 3), generator=g)
    images = mnist.images[idx, 0]                       # (n, 3, 28, 28): one digit per channel
    labels = None
    if mnist.labels is not None:
        d = mnist.labels[idx]                            # (n, 3)
        labels = d[:, 0] * 100 + d[:, 1] * 10 + d[:, 2]
    return ImageSet(images.contiguous(), labels, CLASSES, "stacked-mnist")


def fetch(root: Path, mnist: Callable[[str], ImageSet]) -> dict[str, ImageSet]:
    """``mnist(split)``: the verified MNIST split (data.load, passed in by the registry)."""
    return {split: stack(mnist(split), n, SEED + (split == "test")) for split, n in SIZES.items()}
