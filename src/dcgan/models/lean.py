"""A lean DCGAN for small images: beyond the tutorials, built for speed to quality on a CPU.

Not a tutorial architecture. The shapes follow Radford et al.'s rules (strided transposed
convolutions in G, strided convolutions with LeakyReLU in D, BatchNorm in G only, tanh output), at
a fraction of the tutorials' work: G is about 13 M multiply-adds per 28x28 image against the TF
tutorial's 83 M, so a CPU trains several times more images per second. D has no normalisation, so
the zero-centred R1/R2 penalties of its recipe (R3GAN, Huang et al. 2024) apply to it as published.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import Reshape


class LeanGenerator(nn.Module):
    """z (N, noise_dim) -> (N, C, R, R) in [-1, 1]: ``depth`` strided transposed convolutions from
    s = R / 2**depth (R a multiple of 2**depth), channels halving from 2**depth x ``width``."""

    def __init__(self, noise_dim: int = 64, channels: int = 1, resolution: int = 28, width: int = 32,
                 depth: int = 2):
        super().__init__()
        self.noise_dim, self.channels, self.resolution = noise_dim, channels, resolution
        s, top = resolution >> depth, width << depth
        layers: list[nn.Module] = [
            nn.Linear(noise_dim, top * s * s, bias=False),
            Reshape(top, s, s), nn.BatchNorm2d(top), nn.ReLU(inplace=True),          # (N, 2^d w, s, s)
        ]
        for i in range(depth):  # depth 2: (N, 2w, 2s, 2s), then (N, w, 4s, 4s)
            c_in, c_out = top >> i, top >> (i + 1)
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(c_out), nn.ReLU(inplace=True)]
        layers += [nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh()]                   # (N, C, R, R)
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class LeanDiscriminator(nn.Module):
    """(N, C, R, R) -> (N,) logits: ``depth`` 4x4 strided convolutions (widths w, 2w, ...), one
    3x3 strided convolution, a linear read-out."""

    def __init__(self, channels: int = 1, resolution: int = 28, width: int = 32, depth: int = 2):
        super().__init__()
        self.channels, self.resolution = channels, resolution
        layers: list[nn.Module] = []
        c_in, size = channels, resolution
        for i in range(depth):  # depth 2 at 28: (N, w, 14, 14), (N, 2w, 7, 7)
            layers += [nn.Conv2d(c_in, width << i, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True)]
            c_in, size = width << i, size // 2
        s = -(-size // 2)  # ceil: 7 -> 4
        layers += [nn.Conv2d(c_in, width << depth, 3, 2, 1), nn.LeakyReLU(0.2, inplace=True),
                   nn.Flatten(), nn.Linear((width << depth) * s * s, 1)]                # (N, 1)
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)
