"""``fake``: random images, for smoke tests and benchmarks. No download, no cache file.

Uniform uint8 noise (and labels 0-9) from a seeded generator, so the same (split, shape, seed)
always gives the same images. The registered ``fake`` set is 32x32x3 with 1,024 train / 256 test
images; ``--resolution`` and ``--channels`` resize / convert it to whatever the model needs.
"""

from __future__ import annotations

import torch

from .cache import ImageSet

RESOLUTION, CHANNELS = 32, 3
SIZES = {"train": 1024, "test": 256}
SEED = 0
N_CLASSES = 10


def make(n: int, channels: int = CHANNELS, resolution: int = RESOLUTION, seed: int = SEED,
         name: str = "fake") -> ImageSet:
    """``n`` random uint8 (C, H, W) images with random labels, a pure function of the arguments."""
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, channels, resolution, resolution), generator=g, dtype=torch.uint8)
    labels = torch.randint(0, N_CLASSES, (n,), generator=g)
    return ImageSet(images, labels, [str(i) for i in range(N_CLASSES)], name)


def splits(_root=None) -> dict[str, ImageSet]:
    # Different seeds per split, so train and test never share an image.
    return {split: make(n, seed=SEED + i) for i, (split, n) in enumerate(SIZES.items())}
