"""The evaluation's reference is what its hashes say (issue 15, item 13): the data cache's bytes
depend on the data alone (so a re-fetch reports the same reference_sha256), and an edited eval
cache is computed again instead of changing the FID under the same protocol hashes."""

from __future__ import annotations

import numpy as np
import torch
from safetensors.numpy import save

from dcgan.data.cache import ImageSet, cache_path, load_split, save_split
from dcgan.metrics import real_features


def _set():
    g = torch.Generator().manual_seed(0)
    return ImageSet(torch.randint(0, 256, (20, 1, 8, 8), dtype=torch.uint8, generator=g),
                    torch.arange(20) % 10, [str(d) for d in range(10)], "mnist")


def test_the_same_data_is_the_same_bytes(tmp_path):
    blobs = set()
    for i in range(12):  # the writer's metadata order changed from one save (or fetch) to the next
        save_split(tmp_path / f"{i}.safetensors", _set())
        blobs.add((tmp_path / f"{i}.safetensors").read_bytes())
    assert len(blobs) == 1
    back = load_split(tmp_path / "0.safetensors")
    assert torch.equal(back.images, _set().images) and torch.equal(back.labels, _set().labels)
    assert back.classes == _set().classes and back.name == "mnist"


class Extractor:
    """A stand-in feature extractor: counts its calls, features are the mean pixel per image."""

    name, weights_sha256 = "stand-in", "0" * 64

    def __init__(self):
        self.calls = 0

    def __call__(self, images):
        self.calls += 1
        feats = images.float().flatten(1).mean(1, keepdim=True).repeat(1, 4).numpy()
        return feats, None, np.zeros(len(images), dtype=np.int64)


def test_an_edited_eval_cache_is_computed_again(tiny_mnist, capsys):
    ext = Extractor()
    feats, _, info = real_features("mnist", ext, 50)
    path = tiny_mnist / "eval-cache" / (info["cache"].rsplit("/", 1)[1])
    first = path.read_bytes()
    assert path.with_suffix(".sha256").is_file()
    real_features("mnist", ext, 50)
    assert ext.calls == 1  # a valid cache is used as it is
    # An edit that keeps the file valid safetensors: other features, a smaller FID to come.
    path.write_bytes(save({"features": np.zeros_like(feats), "labels": np.zeros(50, dtype=np.int64)}))
    again, _, _ = real_features("mnist", ext, 50)
    assert ext.calls == 2 and np.array_equal(again, feats)
    assert "cannot be trusted" in capsys.readouterr().err
    assert path.read_bytes() == first  # recomputed to the same bytes
    path.with_suffix(".sha256").unlink()  # a cache without its checksum is not trusted either
    real_features("mnist", ext, 50)
    assert ext.calls == 3 and path.with_suffix(".sha256").is_file()
