"""The 64x64 colour DCGAN of the Keras bonsai tutorial (the keras.io face-DCGAN architecture,
trained on Caltech-101's ``bonsai/`` folder), with Keras' defaults: Glorot-uniform kernels, zero
biases, TensorFlow "same" padding. No batch norm anywhere.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import Dropout, Reshape, SameConv2d, SameConvTranspose2d, keras_init_

LEAK = 0.2
DROPOUT = 0.3
BASE = 128


class Bonsai64Generator(nn.Module):
    def __init__(self, noise_dim: int = 100, channels: int = 3, resolution: int = 64):
        super().__init__()
        if resolution % 8:
            raise ValueError("bonsai64 needs a resolution divisible by 8")
        self.noise_dim, self.channels, self.resolution = noise_dim, channels, resolution
        s = resolution // 8
        self.net = nn.Sequential(
            nn.Linear(noise_dim, s * s * BASE),            # (B, 8*8*128)
            nn.ReLU(),
            Reshape(BASE, s, s),                           # (B, 128, 8, 8)
            SameConvTranspose2d(BASE, 128, 4, stride=2),   # (B, 128, 16, 16)
            nn.ReLU(),
            SameConvTranspose2d(128, 256, 4, stride=2),    # (B, 256, 32, 32)
            nn.ReLU(),
            SameConvTranspose2d(256, 512, 4, stride=2),    # (B, 512, 64, 64)
            nn.ReLU(),
            SameConv2d(512, channels, 5),                  # (B, C, 64, 64)
            nn.Tanh(),
        )
        keras_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class Bonsai64Discriminator(nn.Module):
    def __init__(self, channels: int = 3, resolution: int = 64):
        super().__init__()
        self.channels, self.resolution = channels, resolution
        s = resolution
        for _ in range(3):
            s = -(-s // 2)  # a stride-2 "same" conv: ceil(s / 2)
        self.net = nn.Sequential(
            SameConv2d(channels, 64, 4, stride=2),   # (B, 64, 32, 32)
            nn.LeakyReLU(LEAK),
            SameConv2d(64, 128, 4, stride=2),        # (B, 128, 16, 16)
            nn.LeakyReLU(LEAK),
            SameConv2d(128, 128, 4, stride=2),       # (B, 128, 8, 8)
            nn.LeakyReLU(LEAK),
            nn.Flatten(),                            # (B, 8192)
            Dropout(DROPOUT),
            nn.Linear(128 * s * s, 1),               # (B, 1) logit
        )
        keras_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()  # (B,)
