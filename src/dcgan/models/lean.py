"""A lean DCGAN for small images: beyond the tutorials, built for speed to quality on a CPU.

Not a tutorial architecture. The shapes follow Radford et al.'s rules (strided transposed
convolutions in G, strided convolutions with LeakyReLU in D, BatchNorm in G only, tanh output), at
a fraction of the tutorials' work: G is about 13 M multiply-adds per 28x28 image against the TF
tutorial's 83 M, so a CPU trains several times more images per second. D has no normalisation, so
the zero-centred R1/R2 penalties of its recipe (R3GAN, Huang et al. 2024) apply to it as published.

Class-conditional (``classes`` > 0, ``--cond``): G's BatchNorms become conditional ones (a scale
and shift per class after shared batch statistics; see ClassBatchNorm2d for why not an embedding
concatenated to the noise); D either projects
(Miyato & Koyama 2018: logit + <embed(y), features>) or adds an auxiliary classifier head (AC-GAN,
Odena et al. 2017: K class logits beside the realness logit, as columns 1..K of its output).
With ``classes`` 0 both build exactly the unconditional modules, parameter for parameter.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import Reshape


class LeanGenerator(nn.Module):
    """z (N, noise_dim) -> (N, C, R, R) in [-1, 1]: ``depth`` strided transposed convolutions from
    s = R / 2**depth (R a multiple of 2**depth), channels halving from 2**depth x ``width``."""

    def __init__(self, noise_dim: int = 64, channels: int = 1, resolution: int = 28, width: int = 32,
                 depth: int = 2, classes: int = 0, class_prior: list[float] | None = None):
        super().__init__()
        self.noise_dim, self.channels, self.resolution = noise_dim, channels, resolution
        self.classes = classes
        # the classes' (or --clusters' clusters') shares of the data, which labels nobody asked for follow
        self.class_prior = list(class_prior) if class_prior else None
        s, top = resolution >> depth, width << depth
        norm = (lambda c: ClassBatchNorm2d(c, classes)) if classes else nn.BatchNorm2d
        layers: list[nn.Module] = [
            nn.Linear(noise_dim, top * s * s, bias=False),
            Reshape(top, s, s), norm(top), nn.ReLU(inplace=True),                    # (N, 2^d w, s, s)
        ]
        for i in range(depth):  # depth 2: (N, 2w, 2s, 2s), then (N, w, 4s, 4s)
            c_in, c_out = top >> i, top >> (i + 1)
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
                       norm(c_out), nn.ReLU(inplace=True)]
        layers += [nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh()]                   # (N, C, R, R)
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """``y`` (N,) int64 labels of a conditional G, or (N, K) float class weights (a mixture of
        the classes, e.g. (1 - t) one_hot(A) + t one_hot(B) for a walk from class A to B); None: the
        classes in proportion to ``class_prior`` (``prior_labels``), or in turn (0, 1, ..., K-1,
        0, ...) where it is not set, so code that only passes noise (BatchNorm statistics, health
        checks) sees every class."""
        if not self.classes:
            return self.net(z)
        if y is None:
            y = default_labels(0, len(z), self.classes, self.class_prior).to(z.device)
        x = z
        for layer in self.net:
            x = layer(x, y) if isinstance(layer, ClassBatchNorm2d) else layer(x)
        return x


GOLDEN = 0.6180339887498949  # (sqrt(5) - 1) / 2: the most evenly spread sequence i * GOLDEN mod 1


def prior_labels(start: int, n: int, prior: list[float]) -> torch.Tensor:
    """Labels (n,) of images start, ..., start + n - 1 that follow the class shares ``prior``:
    image i takes the class whose slice of [0, 1) holds i * GOLDEN mod 1. A pure function of i (so
    image i is the same whatever the batch), and every n consecutive images hold each class's
    share of them to within a few images (a low-discrepancy sequence, not random draws)."""
    u = (torch.arange(start, start + n, dtype=torch.float64) * GOLDEN) % 1.0
    return share_labels(u, share_edges(prior))


def label_shares(labels: torch.Tensor, k: int) -> list[float]:
    """Each of the ``k`` classes' share of ``labels`` (label order): the ``class_prior`` a labelled
    run records, or a clustered run of its clusters (training/clusters.py)."""
    counts = torch.bincount(labels.long(), minlength=k).double()
    return (counts / counts.sum()).tolist()


def share_edges(prior: list[float]) -> torch.Tensor:
    """The classes' slices of [0, 1) for the shares ``prior``: their right edges (K,), float64."""
    edges = torch.tensor(prior, dtype=torch.float64).cumsum(0)
    return edges / edges[-1]


def share_labels(u: torch.Tensor, edges: torch.Tensor) -> torch.Tensor:
    """The class whose slice (``share_edges``) holds each u in [0, 1): an inverse CDF with no host
    sync, so a CUDA graph can hold it (updates.StepContext.generate draws the fakes' labels so)."""
    return torch.searchsorted(edges, u, right=True).clamp_(max=len(edges) - 1)


def default_labels(start: int, n: int, classes: int, prior: list[float] | None = None) -> torch.Tensor:
    """The labels a conditional G draws for images start.. start + n - 1 when none are asked:
    the classes in turn (i mod K), or in proportion to ``prior`` where it is set."""
    if prior:
        return prior_labels(start, n, prior)
    return torch.arange(start, start + n) % classes


CLASS_INIT_STD = 0.5  # spread of the per-class scales and shifts at initialisation


class ClassBatchNorm2d(nn.Module):
    """Conditional BatchNorm (de Vries et al. 2017; the generator of Miyato & Koyama 2018): batch
    statistics shared by every class, then a per-class scale and shift (starting at 1 and 0).
    The class acts after the normalisation, so it does not compete with the noise for the
    normalised variance (with the label concatenated to the noise instead, MNIST runs drew one
    image per class: BENCHMARKS.md)."""

    def __init__(self, channels: int, classes: int):
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.scale, self.shift = nn.Embedding(classes, channels), nn.Embedding(classes, channels)
        with torch.no_grad():  # classes apart from step 0 (CLASS_INIT_STD), not only once Adam grew them
            self.scale.weight.normal_(1.0, CLASS_INIT_STD)
            self.shift.weight.normal_(0.0, CLASS_INIT_STD)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """``y`` (N,) int64 labels (a row of each table, as trained), or (N, K) float class weights:
        the same weighting of the classes' scales and shifts (w @ table), which a one-hot row turns
        into that class's row. Traced exports see labels only."""
        if y.is_floating_point():
            w = y.to(self.scale.weight.dtype)
            scale, shift = w @ self.scale.weight, w @ self.shift.weight                # (N, C)
        else:
            scale, shift = self.scale(y), self.shift(y)                                # (N, C)
        return self.bn(x) * scale[:, :, None, None] + shift[:, :, None, None]


class LeanDiscriminator(nn.Module):
    """(N, C, R, R) -> (N,) logits: ``depth`` 4x4 strided convolutions (widths w, 2w, ...), one
    3x3 strided convolution, a linear read-out. Conditional (``classes`` > 0): ``cond`` "projection"
    takes labels (N,) and returns (N,) logits, or labels (N, P) of packs of P images (presets.Packed)
    and adds their P projections; "acgan" returns (N, 1 + K): the realness logit, then the class
    logits."""

    def __init__(self, channels: int = 1, resolution: int = 28, width: int = 32, depth: int = 2,
                 classes: int = 0, cond: str = "projection"):
        super().__init__()
        self.channels, self.resolution, self.classes, self.cond = channels, resolution, classes, cond
        layers: list[nn.Module] = []
        c_in, size = channels, resolution
        for i in range(depth):  # depth 2 at 28: (N, w, 14, 14), (N, 2w, 7, 7)
            layers += [nn.Conv2d(c_in, width << i, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
            c_in, size = width << i, size // 2
        s = -(-size // 2)  # ceil: 7 -> 4
        layers += [nn.Conv2d(c_in, width << depth, 3, 2, 1), nn.LeakyReLU(0.2, inplace=True),
                   nn.Flatten(), nn.Linear((width << depth) * s * s, 1)]                # (N, 1)
        self.net = nn.Sequential(*layers)
        features = (width << depth) * s * s
        if classes and cond == "projection":  # the read-out's scale, so <e, h> starts as small as it
            self.embed = nn.Embedding(classes, features)
            nn.init.uniform_(self.embed.weight, -features ** -0.5, features ** -0.5)
        elif classes:
            self.classify = nn.Linear(features, classes)                             # (N, K)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        if not self.classes:
            return self.net(x).squeeze(1)
        h = self.net[:-1](x)                                                          # (N, F)
        out = self.net[-1](h)                                                         # (N, 1)
        if self.cond == "projection":  # y None: the class-free part of the logit
            if y is None:
                return out.squeeze(1)
            e = self.embed(y) if y.dim() == 1 else self.embed(y).sum(1)  # (N, pack): a pack's labels
            return out.squeeze(1) + (e * h).sum(1)
        return torch.cat([out, self.classify(h)], 1)                                  # (N, 1 + K)
