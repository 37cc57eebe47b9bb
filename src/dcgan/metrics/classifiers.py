"""Evaluator classifiers: small CNNs whose penultimate layer is the feature space of the metrics.

One per data set (MNIST, Fashion-MNIST), trained by ``dcgan evaluator train NAME`` with a fixed
seed on the training split and scored on the test split. Their weights ship inside the package
(``dcgan/metrics/weights/<name>-classifier.safetensors``) and are checked against the sha256 recorded in
``CLASSIFIERS`` before use, so a metric always names the exact network that produced it.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ..errors import DcganError
from ..fsutil import sha256_file

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
FEATURE_DIM = 128


class Classifier(nn.Module):
    """Three conv blocks and a 128-unit hidden layer: about 0.25 M parameters, 1 MB of weights.

    Input: float (N, 1, 28, 28) in [-1, 1] (the generators' range). ``features`` returns the
    128-d penultimate activations (after ReLU), ``forward`` the 10 class logits.
    """

    def __init__(self, width: int = 32, classes: int = 10, resolution: int = 28):
        super().__init__()
        w = width
        self.body = nn.Sequential(
            nn.Conv2d(1, w, 3, padding=1, bias=False), nn.BatchNorm2d(w), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),                                            # (N, w, 14, 14)
            nn.Conv2d(w, 2 * w, 3, padding=1, bias=False), nn.BatchNorm2d(2 * w), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),                                            # (N, 2w, 7, 7)
            nn.Conv2d(2 * w, 4 * w, 3, padding=1, bias=False), nn.BatchNorm2d(4 * w), nn.ReLU(inplace=True),
            nn.MaxPool2d(2),                                            # (N, 4w, 3, 3)
            nn.Flatten(),
            nn.Linear(4 * w * (resolution // 8) ** 2, FEATURE_DIM), nn.ReLU(inplace=True),  # (N, 128)
        )
        self.drop = nn.Dropout(0.3)
        self.head = nn.Linear(FEATURE_DIM, classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.drop(self.body(x)))


@dataclass(frozen=True)
class ClassifierSpec:
    data: str            # the data set it classifies
    file: str            # under dcgan/metrics/weights/
    sha256: str          # of that file, as written by `dcgan evaluator train`
    test_accuracy: float  # measured on the test split by that command
    epochs: int          # the recipe that reproduces it
    width: int = 32
    lr: float = 3e-3
    batch_size: int = 128
    shift: int = 2       # random translation augmentation, pixels
    seed: int = 0


CLASSIFIERS: dict[str, ClassifierSpec] = {
    "mnist": ClassifierSpec("mnist", "mnist-classifier.safetensors",
                           sha256="57135a4633cce49ace45f5e324eec89bc94c67ee973a39a37928d84ed3da81f3",
                           test_accuracy=0.996, epochs=3),
    "fashion-mnist": ClassifierSpec("fashion-mnist", "fashion-mnist-classifier.safetensors",
                                   sha256="b0fb52c81db6407ff795ec8a89dcd8116554b9acf98f0615b51b6af4780faf4b",
                                   test_accuracy=0.9251, epochs=5, shift=1),
}


@dataclass(frozen=True)
class Protocol:
    """How a data set is measured in a shipped classifier's space: which classifier reads it, how
    many classifier inputs one image holds, and when a mode counts as covered."""

    data: str
    classifier: str                  # a key of CLASSIFIERS
    digits: int = 1                  # classifier inputs stacked along the channels (Stacked MNIST: 3)
    mode_min_count: int | None = None  # samples that cover a mode; None: registry.MODE_MIN_SHARE rule

    @property
    def channels(self) -> int:
        return self.digits

    @property
    def n_classes(self) -> int:
        return 10 ** self.digits

    def counting(self) -> dict[str, int | None]:
        """How ``registry.Sets`` counts this protocol's classes: the modes' rule and the digits."""
        return {"mode_min_count": self.mode_min_count, "digits": self.digits}

    @property
    def mode_rule(self) -> str:
        if self.mode_min_count:
            return f"a mode is covered with >= {self.mode_min_count} sample(s) (VEEGAN protocol)"
        return "a class is covered with >= 10 % of its uniform share"


PROTOCOLS: dict[str, Protocol] = {
    "mnist": Protocol("mnist", "mnist"),
    "fashion-mnist": Protocol("fashion-mnist", "fashion-mnist"),
    # each channel a digit read by the MNIST classifier; 1000 modes, VEEGAN/PacGAN's counting
    "stacked-mnist": Protocol("stacked-mnist", "mnist", digits=3, mode_min_count=1),
}


def protocol(data: str) -> Protocol:
    try:
        return PROTOCOLS[data]
    except KeyError:
        raise DcganError(f"no evaluator classifier for {data!r}; classifier features exist for "
                         f"{', '.join(PROTOCOLS)} (use --features inception for other data)") from None


def get_spec(data: str) -> ClassifierSpec:
    """The recipe and weights of the classifier that reads ``data``."""
    return CLASSIFIERS[protocol(data).classifier]


def _to_input(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, 1, 28, 28) -> float [-1, 1]."""
    return images.float().sub_(127.5).div_(127.5)


def _shift(x: torch.Tensor, k: int, g: torch.Generator) -> torch.Tensor:
    """Translate each image by up to ``k`` pixels (zero fill): cheap, label-preserving augmentation."""
    n, _, h, w = x.shape
    padded = F.pad(x, (k, k, k, k), value=-1.0)
    dy = torch.randint(0, 2 * k + 1, (n,), generator=g)
    dx = torch.randint(0, 2 * k + 1, (n,), generator=g)
    rows = (dy[:, None] + torch.arange(h)[None])  # (N, H)
    cols = (dx[:, None] + torch.arange(w)[None])  # (N, W)
    idx = torch.arange(n)[:, None, None]
    return padded[idx, :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)


@torch.no_grad()
def accuracy(model: Classifier, images: torch.Tensor, labels: torch.Tensor, batch: int = 1000) -> float:
    model.eval()
    right = 0
    for i in range(0, len(images), batch):
        logits = model(_to_input(images[i:i + batch]))
        right += int((logits.argmax(1) == labels[i:i + batch]).sum())
    return right / len(images)


def train_classifier(data: str, out: Path | None = None, epochs: int | None = None,
                     limit: int | None = None, data_dir: str | None = None, seed: int | None = None,
                     log=print) -> dict[str, Any]:
    """Train the evaluator for ``data`` from its recipe; returns accuracy, sha256, time, path.

    Reproducible: a fixed seed, one thread-count-independent data order (``torch.Generator``)
    and the same augmentation draws every time.
    """
    from .. import data as datasets
    from ..fsutil import atomic_write
    from safetensors.torch import save as st_save

    if data not in CLASSIFIERS:
        raise DcganError(f"no evaluator recipe for {data!r}; choose one of {', '.join(CLASSIFIERS)}")
    spec = CLASSIFIERS[data]
    # Never into the installed package: its shipped weights are what every metric names by sha256.
    out = Path(out) if out else datasets.data_root(data_dir) / "classifiers" / spec.file
    if out.resolve().parent == WEIGHTS_DIR:
        raise DcganError(f"--out {out} would replace the shipped {spec.data} classifier inside the "
                         "installed package; write it anywhere else")
    epochs = epochs or spec.epochs
    seed = spec.seed if seed is None else seed
    train = datasets.load(data, "train", data_dir)
    test = datasets.load(data, "test", data_dir)
    if train.labels is None or test.labels is None:
        raise DcganError(f"{data} has no labels; an evaluator needs a labelled data set")
    x, y = train.images, train.labels
    if limit:
        x, y = x[:limit], y[:limit]
    torch.manual_seed(seed)
    g = torch.Generator().manual_seed(seed)
    model = Classifier(spec.width, classes=len(train.classes) or 10)
    opt = torch.optim.AdamW(model.parameters(), lr=spec.lr, weight_decay=5e-4)
    steps_per_epoch = math.ceil(len(x) / spec.batch_size)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=spec.lr, total_steps=epochs * steps_per_epoch,
                                                pct_start=0.25)
    t0 = time.perf_counter()
    for epoch in range(epochs):
        model.train()
        perm = torch.randperm(len(x), generator=g)
        total, seen = 0.0, 0
        for b in range(steps_per_epoch):
            idx = perm[b * spec.batch_size:(b + 1) * spec.batch_size]
            xb = _to_input(x[idx])
            if spec.shift:
                xb = _shift(xb, spec.shift, g)
            loss = F.cross_entropy(model(xb), y[idx], label_smoothing=0.05)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += float(loss.detach()) * len(idx)
            seen += len(idx)
        acc = accuracy(model, test.images, test.labels)
        log(f"epoch {epoch + 1}/{epochs}: train loss {total / seen:.4f}, test accuracy "
            f"{100 * acc:.2f} %, {time.perf_counter() - t0:.0f} s")
    model.eval()
    acc = accuracy(model, test.images, test.labels)
    meta = {"format": "dcgan-evaluator", "data": data, "width": spec.width,
            "classes": train.classes, "test_accuracy": acc, "epochs": epochs, "seed": seed,
            "n_train": len(x), "torch": torch.__version__}
    sd = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    # One metadata key: safetensors writes several keys in hash-map order, which would make the
    # file's sha256 differ between identical trainings.
    atomic_write(out, st_save(sd, metadata={"dcgan": json.dumps(meta, sort_keys=True)}))
    return {"data": data, "test_accuracy": acc, "n_test": len(test), "n_train": len(x),
            "epochs": epochs, "seconds": round(time.perf_counter() - t0, 1), "weights": str(out),
            "sha256": sha256_file(out)}


_CACHE: dict[tuple[str, str], tuple[Classifier, str]] = {}


def load_classifier(data: str, device: str | torch.device = "cpu",
                    path: Path | None = None) -> tuple[Classifier, str]:
    """The shipped classifier for ``data`` (eval mode) and its weights' sha256, verified."""
    from safetensors.torch import load_file

    from ..checkpoint import read_meta

    spec = get_spec(data)
    path = Path(path) if path else WEIGHTS_DIR / spec.file
    key = (str(path), str(device))
    if key in _CACHE:
        return _CACHE[key]
    if not path.is_file():
        if not spec.sha256:
            raise DcganError(f"no {spec.data} evaluator is shipped with this version; train one with "
                             f"`dcgan evaluator train {spec.data}` (it writes {path})")
        raise DcganError(f"the {spec.data} evaluator weights are missing ({path}); reinstall dcgan "
                         f"or rebuild them with `dcgan evaluator train {spec.data}`")
    digest = sha256_file(path)
    if path.parent == WEIGHTS_DIR and spec.sha256 and digest != spec.sha256:
        raise DcganError(f"{path} does not match its recorded sha256 (damaged or replaced); "
                         f"reinstall dcgan or rebuild it with `dcgan evaluator train {spec.data}`")
    meta = read_meta(path).get("dcgan", {})
    model = Classifier(int(meta.get("width", spec.width)), classes=len(meta.get("classes") or range(10)))
    model.load_state_dict(load_file(str(path)))
    model = model.to(device).eval()
    _CACHE[key] = (model, digest)
    return model, digest


__all__ = ["Classifier", "CLASSIFIERS", "ClassifierSpec", "get_spec", "load_classifier",
           "train_classifier", "accuracy", "FEATURE_DIM"]
