"""The data cache: a damaged cache file is rebuilt from the sources."""

import torch

from dcgan import data as datasets
from dcgan.data.cache import cache_path


def test_corrupt_cache_file_is_rebuilt_from_the_sources(raw_idx, data_dir):
    first = datasets.load("mnist", "train")
    path = cache_path(data_dir, "mnist", "train")
    blob = bytearray(path.read_bytes())
    blob[-5] ^= 0xFF  # flip a pixel: the sha256 sidecar no longer matches
    path.write_bytes(bytes(blob))
    again = datasets.load("mnist", "train")
    assert torch.equal(first.images, again.images)
