"""Feature extractors: the shipped classifiers (per channel for Stacked MNIST) or Inception-v3.

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
INCEPTION_WEIGHTS = "weights-inception-2015-12-05-6726825d.pth"  # torch-fidelity's file name
INSTALL_HINT = "pip install 'dcgan[inception]' (torch-fidelity)"


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
    """torch-fidelity's Inception-v3 (2048-d pool features, 1008-way logits), its own weights."""

    name = "inception-v3-torch-fidelity"
    n_classes = 1008

    def __init__(self, data: str, device: str = "cpu"):
        try:
            import torch_fidelity  # noqa: F401
            from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
        except ImportError:
            raise DcganError(f"--features inception needs torch-fidelity, which is not installed; "
                             f"{INSTALL_HINT}, or use --features classifier") from None
        path = inception_weights_path()
        if not path.is_file():
            raise DcganError(f"the Inception-v3 weights are not in torch-fidelity's cache ({path}); "
                             f"put {INCEPTION_WEIGHTS} there (torch-fidelity downloads it on a "
                             "machine with network access), or use --features classifier")
        from ..fsutil import sha256_file

        self.weights_sha256 = sha256_file(path)
        self.device = device
        self.model = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                                 feature_extractor_weights_path=str(path)).to(device).eval()

    @torch.no_grad()
    def __call__(self, images: torch.Tensor):
        if images.shape[1] == 1:
            images = images.expand(-1, 3, -1, -1)
        feats, probs = [], []
        for chunk in images.split(200):
            f, logits = self.model(chunk.to(self.device))  # uint8 in, resized inside
            feats.append(f.double().cpu())
            probs.append(torch.softmax(logits.double(), 1).cpu())
        p = torch.cat(probs)
        return torch.cat(feats).numpy(), p.numpy(), p.argmax(1).numpy()


def inception_weights_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_WEIGHTS


def extractor(data: str, kind: str = "classifier", device: str = "cpu"):
    if kind == "classifier":
        return ClassifierFeatures(data, device)
    if kind == "inception":
        return InceptionFeatures(data, device)
    raise DcganError(f"unknown --features {kind!r}; choose classifier or inception")


def as_numpy(x) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)
