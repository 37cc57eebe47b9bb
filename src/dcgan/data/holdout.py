"""The held-out split of data that ships only a training split (emoji, image folders).

MNIST, Fashion-MNIST, Stacked MNIST, CIFAR-10 and ``fake`` have a test split, and metrics compare
with it. Emoji and folders of images have one set of images, so a fixed tenth of it is held out:
an image is held out when the sha256 of its pixels (uint8 C x H x W bytes), read as a number, is
0-9 modulo 100. The rule reads nothing but the image, so the held-out set does not depend on the
order of files, stays the same when images are added (each keeps its side), and identical images
fall on the same side, so a duplicate cannot leak a held-out image into training. ``train`` is then
the other ~90 %: a held-out image is never trained on.

Sets under ``MIN_IMAGES`` hold nothing out: a tenth of them is under 100 images, too few for a
2048-d FID to say anything, and losing it would cost a small training set more than it buys. Their
metrics compare with the training images themselves, and the protocol says so (split ``train``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import DcganError
from .cache import ImageSet

HELD_OUT = "heldout"  # the split's name, as --split and as the metrics' reference split
PERCENT = 10          # of the images held out, by the hash rule above
MIN_IMAGES = 1000     # smaller sets hold nothing out (see the module docstring)
RULE = f"sha256(pixels) mod 100 < {PERCENT}, for sets of >= {MIN_IMAGES} images"


def _hashes(images: torch.Tensor) -> list[int]:
    """Each image's sha256 (of its uint8 C x H x W bytes), first 8 bytes as an integer."""
    return [int.from_bytes(hashlib.sha256(img.tobytes()).digest()[:8], "big")
            for img in np.ascontiguousarray(images.numpy())]


def held_out_mask(images: torch.Tensor) -> torch.Tensor:
    """Bool (N,): which of uint8 (N, C, H, W) ``images`` are held out (empty below MIN_IMAGES)."""
    if len(images) < MIN_IMAGES:
        return torch.zeros(len(images), dtype=torch.bool)
    return torch.tensor([h % 100 < PERCENT for h in _hashes(images)], dtype=torch.bool)


def by_hash(data: ImageSet) -> ImageSet:
    """The same images ordered by their hash: a fixed shuffle that no file order can change, so
    the first n of a reference set are a fair sample (emoji and folders are stored by class)."""
    order = torch.tensor(np.argsort(np.array(_hashes(data.images), dtype=np.uint64), kind="stable"))
    return ImageSet(data.images[order].contiguous(),
                    None if data.labels is None else data.labels[order].contiguous(),
                    data.classes, data.name)


def take(data: ImageSet, split: str) -> ImageSet:
    """The ``train`` (never held out) or ``heldout`` part of a one-split data set's images."""
    if split not in ("train", HELD_OUT):
        raise DcganError(f"{data.name or 'this data set'} has no split {split!r}; it has train and "
                         f"{HELD_OUT} (a fixed {PERCENT} % of its images, never trained on)")
    mask = held_out_mask(data.images)
    if split == "train":
        mask = ~mask
    if split == HELD_OUT and not bool(mask.any()):
        raise DcganError(f"{data.name or 'this data set'} has {len(data)} images; under {MIN_IMAGES} "
                         f"nothing is held out, so it has no {HELD_OUT} split (metrics compare with "
                         "its training images)")
    if bool(mask.all()):
        return data
    idx = mask.nonzero().squeeze(1)
    return ImageSet(data.images[idx].contiguous(),
                    None if data.labels is None else data.labels[idx].contiguous(),
                    data.classes, data.name)


@dataclass
class Reference:
    """The real images metrics compare with, and how to name them in a protocol."""

    images: ImageSet
    split: str     # test, heldout, or train (the training images themselves, for small sets)
    sha256: str    # of the split's cache file (named data sets' test/train), else of the pixels
    label: str     # a file-name-safe name for the eval cache


def pixels_sha256(images: torch.Tensor) -> str:
    digest = hashlib.sha256(f"{tuple(images.shape)}\n".encode())
    for chunk in images.split(4096):
        digest.update(np.ascontiguousarray(chunk.numpy()).tobytes())
    return digest.hexdigest()
