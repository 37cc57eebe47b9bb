"""Radford et al.'s DCGAN as pytorch/examples builds it, for any 4 * 2^k resolution.

At 64x64 (k = 4): G projects z to 4x4x(8 ngf) with a transposed conv, then four stride-2 4x4
transposed convs double the side and halve the channels, ending in C channels and tanh; D mirrors
it with strided convs, LeakyReLU(0.2), BN in every layer but the first, and a final 4x4 valid conv
to one logit. Other sizes add or drop a stride-2 layer; the widest layer is ngf * 2^(k-1), so 64x64
keeps the paper's 8 ngf (1024 at the default ngf = 128; ngf = 64 is the pytorch/examples variant).
Weights N(0, 0.02), BN gamma N(1, 0.02) (``dcgan_init_``); every other setting is PyTorch's default.
"""

from __future__ import annotations

import torch
from torch import nn

from .layers import dcgan_init_

LEAK = 0.2
WIDTH = 128  # default ngf / ndf


def stride2_layers(resolution: int) -> int:
    """k such that resolution = 4 * 2^k, or 0 if there is none with k >= 1."""
    k, r = 0, resolution
    while r > 4 and r % 2 == 0:
        r //= 2
        k += 1
    return k if r == 4 and k >= 1 else 0


class DCGAN64Generator(nn.Module):
    def __init__(self, noise_dim: int = 100, channels: int = 3, resolution: int = 64,
                 ngf: int = WIDTH, ndf: int = WIDTH):  # ndf is D's; one arch dict builds both
        super().__init__()
        k = stride2_layers(resolution)
        if not k:
            raise ValueError("dcgan64 needs a resolution of 4 * 2^k (8, 16, 32, 64, 128, ...)")
        self.noise_dim, self.channels, self.resolution = noise_dim, channels, resolution
        ch = ngf * 2 ** (k - 1)
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(noise_dim, ch, 4, 1, 0, bias=False),  # (B, 8ngf, 4, 4) at 64x64
            nn.BatchNorm2d(ch), nn.ReLU(True)]
        for _ in range(k - 1):                                       # 4ngf x 8x8, 2ngf x 16x16,
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1, bias=False),  # ngf x 32x32
                       nn.BatchNorm2d(ch // 2), nn.ReLU(True)]
            ch //= 2
        layers += [nn.ConvTranspose2d(ch, channels, 4, 2, 1, bias=False),    # (B, C, 64, 64)
                   nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init_(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z[:, :, None, None])  # z as a (B, nz, 1, 1) map


class DCGAN64Discriminator(nn.Module):
    def __init__(self, channels: int = 3, resolution: int = 64, ngf: int = WIDTH, ndf: int = WIDTH):
        super().__init__()
        k = stride2_layers(resolution)
        if not k:
            raise ValueError("dcgan64 needs a resolution of 4 * 2^k (8, 16, 32, 64, 128, ...)")
        self.channels, self.resolution = channels, resolution
        ch = ndf
        layers: list[nn.Module] = [
            nn.Conv2d(channels, ch, 4, 2, 1, bias=False),            # (B, ndf, 32, 32), no BN
            nn.LeakyReLU(LEAK, True)]
        for _ in range(k - 1):                                       # 2ndf x 16x16, 4ndf x 8x8,
            layers += [nn.Conv2d(ch, ch * 2, 4, 2, 1, bias=False),   # 8ndf x 4x4
                       nn.BatchNorm2d(ch * 2), nn.LeakyReLU(LEAK, True)]
            ch *= 2
        layers += [nn.Conv2d(ch, 1, 4, 1, 0, bias=False)]            # (B, 1, 1, 1) logit
        self.net = nn.Sequential(*layers)
        dcgan_init_(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x).flatten()  # (B,)
