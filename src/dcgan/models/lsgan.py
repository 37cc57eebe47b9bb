"""The LSGAN recipe of Stanford's CS231n GAN notebook (PyTorch): an InfoGAN-style G and a small
conv D with max-pooling, trained with the least-squares loss.

PyTorch defaults, except that the notebook re-initialises every Linear and ConvTranspose2d weight
with Xavier-uniform (its ``initialize_weights``); biases and Conv2d keep PyTorch's init.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import Reshape

LEAK = 0.01    # nn.LeakyReLU(0.01), the notebook's slope
HIDDEN = 1024


def _xavier_(module: nn.Module) -> nn.Module:
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight)
    return module


def _d_size(resolution: int) -> int:
    """Side of D's last map: two (5x5 valid conv, 2x2 max-pool) stages."""
    return ((resolution - 4) // 2 - 4) // 2


class LSGANGenerator(nn.Module):
    def __init__(self, noise_dim: int = 96, channels: int = 1, resolution: int = 28):
        super().__init__()
        if resolution % 4 or resolution < 16:
            raise ValueError("the LSGAN generator needs a resolution divisible by 4 (>= 16)")
        self.noise_dim, self.channels, self.resolution = noise_dim, channels, resolution
        s = resolution // 4
        self.net = nn.Sequential(
            nn.Linear(noise_dim, HIDDEN),                          # (B, 1024)
            nn.ReLU(),
            nn.BatchNorm1d(HIDDEN),
            nn.Linear(HIDDEN, s * s * 128),                        # (B, 7*7*128)
            nn.ReLU(),
            nn.BatchNorm1d(s * s * 128),
            Reshape(128, s, s),                                    # (B, 128, 7, 7)
            nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1),   # (B, 64, 14, 14)
            nn.ReLU(),
            nn.BatchNorm2d(64),
            nn.ConvTranspose2d(64, channels, 4, stride=2, padding=1),  # (B, C, 28, 28)
            nn.Tanh(),
        )
        _xavier_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class LSGANDiscriminator(nn.Module):
    def __init__(self, channels: int = 1, resolution: int = 28):
        super().__init__()
        s = _d_size(resolution)
        if s < 1:
            raise ValueError("the LSGAN discriminator needs a resolution of at least 16")
        self.channels, self.resolution = channels, resolution
        self.net = nn.Sequential(
            nn.Conv2d(channels, 32, 5),     # (B, 32, 24, 24)
            nn.LeakyReLU(LEAK),
            nn.MaxPool2d(2),                # (B, 32, 12, 12)
            nn.Conv2d(32, 64, 5),           # (B, 64, 8, 8)
            nn.LeakyReLU(LEAK),
            nn.MaxPool2d(2),                # (B, 64, 4, 4)
            nn.Flatten(),                   # (B, 1024)
            nn.Linear(64 * s * s, HIDDEN),  # (B, 1024)
            nn.LeakyReLU(LEAK),
            nn.Linear(HIDDEN, 1),           # (B, 1) score, no sigmoid (least squares)
        )
        _xavier_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()  # (B,)
