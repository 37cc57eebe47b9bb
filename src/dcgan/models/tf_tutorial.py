"""The DCGAN of TensorFlow's DCGAN tutorial (MNIST), layer for layer with Keras' defaults."""

from __future__ import annotations

import torch
from torch import nn

from .layers import (KERAS_BN_EPS, KERAS_BN_MOMENTUM, Dropout, Reshape, SameConv2d, SameConvTranspose2d,
                     keras_bn_momentum, keras_init_)

LEAK = 0.3  # Keras' LeakyReLU default slope
DROPOUT = 0.3


def _bn(cls: type, n: int) -> nn.Module:
    return cls(n, eps=KERAS_BN_EPS, momentum=keras_bn_momentum(KERAS_BN_MOMENTUM))


class TFTutorialGenerator(nn.Module):
    def __init__(self, noise_dim: int = 100, channels: int = 1, resolution: int = 28):
        super().__init__()
        if resolution % 4:
            raise ValueError("tf-tutorial needs a resolution divisible by 4")
        self.noise_dim, self.channels, self.resolution = noise_dim, channels, resolution
        s = resolution // 4
        self.net = nn.Sequential(
            nn.Linear(noise_dim, s * s * 256, bias=False),            # (B, 7*7*256)
            _bn(nn.BatchNorm1d, s * s * 256),
            nn.LeakyReLU(LEAK),
            Reshape(256, s, s),                                       # (B, 256, 7, 7)
            SameConvTranspose2d(256, 128, 5, stride=1, bias=False),   # (B, 128, 7, 7)
            _bn(nn.BatchNorm2d, 128),
            nn.LeakyReLU(LEAK),
            SameConvTranspose2d(128, 64, 5, stride=2, bias=False),    # (B, 64, 14, 14)
            _bn(nn.BatchNorm2d, 64),
            nn.LeakyReLU(LEAK),
            SameConvTranspose2d(64, channels, 5, stride=2, bias=False),  # (B, C, 28, 28)
            nn.Tanh(),
        )
        keras_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class TFTutorialDiscriminator(nn.Module):
    def __init__(self, channels: int = 1, resolution: int = 28):
        super().__init__()
        self.channels, self.resolution = channels, resolution
        s = -(-(-(-resolution // 2)) // 2)  # two stride-2 "same" convs: ceil(ceil(r/2)/2)
        self.net = nn.Sequential(
            SameConv2d(channels, 64, 5, stride=2),   # (B, 64, 14, 14)
            nn.LeakyReLU(LEAK),
            Dropout(DROPOUT),
            SameConv2d(64, 128, 5, stride=2),        # (B, 128, 7, 7)
            nn.LeakyReLU(LEAK),
            Dropout(DROPOUT),
            nn.Flatten(),                            # (B, 6272)
            nn.Linear(128 * s * s, 1),               # (B, 1) logit
        )
        keras_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()  # (B,)
