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
    """z (N, noise_dim) -> (N, C, R, R) in [-1, 1], for R a multiple of 4 (``width`` w, s = R/4)."""

    def __init__(self, noise_dim: int = 64, channels: int = 1, resolution: int = 28, width: int = 32):
        super().__init__()
        self.noise_dim, self.channels, self.resolution = noise_dim, channels, resolution
        s, w = resolution // 4, width
        self.net = nn.Sequential(
            nn.Linear(noise_dim, 4 * w * s * s, bias=False),
            Reshape(4 * w, s, s), nn.BatchNorm2d(4 * w), nn.ReLU(inplace=True),      # (N, 4w, s, s)
            nn.ConvTranspose2d(4 * w, 2 * w, 4, 2, 1, bias=False),
            nn.BatchNorm2d(2 * w), nn.ReLU(inplace=True),                            # (N, 2w, 2s, 2s)
            nn.ConvTranspose2d(2 * w, w, 4, 2, 1, bias=False),
            nn.BatchNorm2d(w), nn.ReLU(inplace=True),                                # (N, w, 4s, 4s)
            nn.Conv2d(w, channels, 3, 1, 1), nn.Tanh(),                              # (N, C, R, R)
        )

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class LeanDiscriminator(nn.Module):
    """(N, C, R, R) -> (N,) logits; three strided convolutions and a linear read-out."""

    def __init__(self, channels: int = 1, resolution: int = 28, width: int = 32):
        super().__init__()
        self.channels, self.resolution = channels, resolution
        w = width
        s = -(-resolution // 8)  # ceil: 28 -> 14 -> 7 -> 4
        self.net = nn.Sequential(
            nn.Conv2d(channels, w, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),        # (N, w, R/2, R/2)
            nn.Conv2d(w, 2 * w, 4, 2, 1), nn.LeakyReLU(0.2, inplace=True),           # (N, 2w, R/4, R/4)
            nn.Conv2d(2 * w, 4 * w, 3, 2, 1), nn.LeakyReLU(0.2, inplace=True),       # (N, 4w, s, s)
            nn.Flatten(), nn.Linear(4 * w * s * s, 1),                               # (N, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).squeeze(1)
