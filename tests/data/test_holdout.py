"""The held-out tenth of one-split data (emoji, folders): fixed by each image's pixels, never
trained on, the reference metrics use; small sets and data with a test split keep what they had."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from dcgan import data as datasets
from dcgan.data import holdout
from dcgan.data.cache import ImageSet, cache_path, save_split
from dcgan.errors import DcganError


def _random(n: int, channels: int = 3, size: int = 8, seed: int = 0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8, generator=g)


def _rows(images: torch.Tensor) -> set[bytes]:
    return {img.numpy().tobytes() for img in images}


def test_the_held_out_tenth_is_fixed_by_content():
    images = _random(1500)
    mask = holdout.held_out_mask(images)
    assert 0.07 < float(mask.double().mean()) < 0.13
    perm = torch.randperm(len(images), generator=torch.Generator().manual_seed(1))
    assert torch.equal(holdout.held_out_mask(images[perm]), mask[perm])  # order does not matter
    more = torch.cat([images, _random(200, seed=2)])
    assert torch.equal(holdout.held_out_mask(more)[:1500], mask)  # added images move nothing
    dup = torch.cat([images, images[:50]])
    assert torch.equal(holdout.held_out_mask(dup)[1500:], mask[:50])  # a copy falls on its side


def test_small_sets_hold_nothing_out():
    data = ImageSet(_random(holdout.MIN_IMAGES - 1), name="small")
    assert holdout.take(data, "train") is data
    with pytest.raises(DcganError, match="no heldout split"):
        holdout.take(data, holdout.HELD_OUT)


def test_emoji_trains_on_all_but_the_held_out_tenth(data_dir):
    rgba = _random(1200, channels=4, size=64)
    save_split(cache_path(data_dir, "emoji", "train"),
               ImageSet(rgba, torch.arange(1200) % 3, ["a", "b", "c"], "emoji"))
    train = datasets.load_any("emoji", "train")  # what the trainer reads
    held = datasets.load("emoji", holdout.HELD_OUT)
    assert len(train) + len(held) == 1200 and 60 < len(held) < 180
    assert not _rows(train.images) & _rows(held.images)
    assert held.labels is not None and len(held.labels) == len(held)
    black = datasets.load("emoji:black", holdout.HELD_OUT)  # the same images, on another background
    assert len(black) == len(held) and not torch.equal(black.images, held.images)
    ref = datasets.reference("emoji")
    assert ref.split == holdout.HELD_OUT and _rows(ref.images.images) == _rows(held.images)
    assert ref.sha256 == holdout.pixels_sha256(ref.images.images)
    # stored in another order (emoji are stored by category): the same reference, in the same order
    perm = torch.randperm(1200, generator=torch.Generator().manual_seed(5))
    save_split(cache_path(data_dir, "emoji", "train"),
               ImageSet(rgba[perm], (torch.arange(1200) % 3)[perm], ["a", "b", "c"], "emoji"))
    again = datasets.reference("emoji")
    assert again.sha256 == ref.sha256 and torch.equal(again.images.images, ref.images.images)
    assert datasets.reference("emoji:black").sha256 != ref.sha256
    smaller = datasets.reference("emoji", resolution=32)  # a 32-px generator meets 32-px images
    assert smaller.images.images.shape[1:] == (3, 32, 32) and smaller.sha256 != ref.sha256
    with pytest.raises(DcganError, match="has no split 'test'; it has train and heldout"):
        datasets.load("emoji", "test")


def test_a_large_folder_holds_out_a_tenth_and_a_small_one_compares_with_itself(data_dir, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for i, img in enumerate(_random(holdout.MIN_IMAGES + 20, size=4)):
        Image.fromarray(img.permute(1, 2, 0).numpy()).save(folder / f"{i:04d}.png")
    train = datasets.load_any(str(folder), "train", resolution=4)
    ref = datasets.reference(str(folder), resolution=4)
    assert ref.split == holdout.HELD_OUT and ref.label == "folder-photos"
    assert len(train) + len(ref.images) == holdout.MIN_IMAGES + 20
    assert not _rows(train.images) & _rows(ref.images.images)

    small = tmp_path / "few"
    small.mkdir()
    for i, img in enumerate(_random(5, size=4, seed=3)):
        Image.fromarray(img.permute(1, 2, 0).numpy()).save(small / f"{i}.png")
    ref = datasets.reference(str(small), resolution=4)
    assert ref.split == "train" and len(ref.images) == 5 == len(datasets.load_any(str(small), resolution=4))


def test_data_with_a_test_split_is_unchanged(tiny_mnist):
    assert len(datasets.load("mnist", "train")) == 200  # the whole training split, as before
    ref = datasets.reference("mnist")
    assert ref.split == "test" and len(ref.images) == 100 and ref.label == "mnist"
    # the eval cache keeps its key: the split's cache-file sha256, as real_features always used
    assert ref.sha256 == cache_path(tiny_mnist, "mnist", "test").with_suffix(".sha256").read_text().strip()
    assert np.array_equal(ref.images.images.numpy(), datasets.load("mnist", "test").images.numpy())
