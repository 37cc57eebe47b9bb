"""Keras-GAN's DCGAN (eriklindernoren/Keras-GAN, ``dcgan/dcgan.py``), layer for layer.

The MNIST original (28x28x1) and its CIFAR-10 variant (32x32x3) share one architecture: G upsamples
a dense 128-channel map twice with nearest-neighbour UpSampling2D and 3x3 "same" convs; D is four
3x3 convs with dropout. The only difference in D is MNIST's ZeroPadding2D(((0,1),(0,1))), which
turns the 7x7 map into 8x8 so the next stride-2 conv gives 4x4, as it does for 32x32 input.

Keras semantics throughout: Glorot-uniform kernels, zero biases, BN eps 1e-3 and momentum 0.8
(PyTorch momentum 0.2), TensorFlow's asymmetric "same" padding.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import KERAS_BN_EPS, Dropout, Reshape, SameConv2d, keras_bn_momentum, keras_init_

BN_MOMENTUM = 0.8   # Keras' momentum=0.8 in every BatchNormalization of Keras-GAN
LEAK = 0.2
DROPOUT = 0.25
BASE = 128          # channels of the dense projection


def _bn(n: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(n, eps=KERAS_BN_EPS, momentum=keras_bn_momentum(BN_MOMENTUM))


def _ceil_half(n: int) -> int:
    return -(-n // 2)


class KerasGANGenerator(nn.Module):
    def __init__(self, noise_dim: int = 100, channels: int = 1, resolution: int = 28):
        super().__init__()
        if resolution % 4 or resolution < 8:
            raise ValueError("the Keras-GAN generator needs a resolution divisible by 4 (>= 8)")
        self.noise_dim, self.channels, self.resolution = noise_dim, channels, resolution
        s = resolution // 4
        self.net = nn.Sequential(
            nn.Linear(noise_dim, BASE * s * s),           # (B, 128*7*7)
            nn.ReLU(),
            Reshape(BASE, s, s),                          # (B, 128, 7, 7)
            _bn(BASE),
            nn.Upsample(scale_factor=2, mode="nearest"),  # (B, 128, 14, 14): Keras UpSampling2D
            SameConv2d(BASE, 128, 3),                     # (B, 128, 14, 14)
            nn.ReLU(),
            _bn(128),
            nn.Upsample(scale_factor=2, mode="nearest"),  # (B, 128, 28, 28)
            SameConv2d(128, 64, 3),                       # (B, 64, 28, 28)
            nn.ReLU(),
            _bn(64),
            SameConv2d(64, channels, 3),                  # (B, C, 28, 28)
            nn.Tanh(),
        )
        keras_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


class KerasGANDiscriminator(nn.Module):
    """``zero_pad``: MNIST's ZeroPadding2D after the second conv (bottom row, right column)."""

    def __init__(self, channels: int = 1, resolution: int = 28, zero_pad: bool = False):
        super().__init__()
        self.channels, self.resolution = channels, resolution
        s = _ceil_half(_ceil_half(resolution)) + (1 if zero_pad else 0)  # after conv 2 (+ pad)
        s = _ceil_half(s)                                                  # after conv 3
        self.net = nn.Sequential(
            SameConv2d(channels, 32, 3, stride=2),        # (B, 32, 14, 14)      [CIFAR: 16x16]
            nn.LeakyReLU(LEAK),
            Dropout(DROPOUT),
            SameConv2d(32, 64, 3, stride=2),              # (B, 64, 7, 7)        [8x8]
            nn.ZeroPad2d((0, 1, 0, 1)) if zero_pad else nn.Identity(),  # (B, 64, 8, 8)
            nn.LeakyReLU(LEAK),
            Dropout(DROPOUT),
            _bn(64),
            SameConv2d(64, 128, 3, stride=2),             # (B, 128, 4, 4)
            nn.LeakyReLU(LEAK),
            Dropout(DROPOUT),
            _bn(128),
            SameConv2d(128, 256, 3, stride=1),            # (B, 256, 4, 4)
            nn.LeakyReLU(LEAK),
            Dropout(DROPOUT),
            nn.Flatten(),                                 # (B, 4096)
            nn.Linear(256 * s * s, 1),                    # (B, 1): Keras' sigmoid lives in the loss
        )
        keras_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()  # (B,)


class KerasGANMnistDiscriminator(KerasGANDiscriminator):
    def __init__(self, channels: int = 1, resolution: int = 28):
        super().__init__(channels, resolution, zero_pad=True)
