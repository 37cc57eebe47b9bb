"""Radford et al.'s 64x64 DCGAN as pytorch/examples' ``dcgan/main.py`` trains it (preset ``dcgan64``)."""

from __future__ import annotations

import torch
from torch import nn

from .common import Reference, adam, freeze


def make_generator(nz: int = 100, ngf: int = 128, nc: int = 3) -> nn.Module:
    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
        # state size. (ngf*8) x 4 x 4
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        # state size. (ngf*4) x 8 x 8
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        # state size. (ngf*2) x 16 x 16
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        # state size. (ngf) x 32 x 32
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh(),                 # (B, nc, 64, 64)
    )


def make_discriminator(ndf: int = 128, nc: int = 3) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),                        # ndf x 32 x 32
        nn.Conv2d(ndf, ndf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 2), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 2, ndf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 4), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 4, ndf * 8, 4, 2, 1, bias=False), nn.BatchNorm2d(ndf * 8), nn.LeakyReLU(0.2, True),
        nn.Conv2d(ndf * 8, 1, 4, 1, 0, bias=False), nn.Sigmoid(),                     # (B, 1, 1, 1)
    )


def dcgan_init(m: nn.Module) -> None:
    name = type(m).__name__
    if "Conv" in name:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


class DCGAN64Reference(Reference):
    """pytorch/examples' loop (preset dcgan64: BCE, alternating, Adam 2e-4, betas (0.5, 0.999),
    batch 128, ngf = ndf = 128): D on real, then on the detached fakes, one D step; then G through
    the updated D on the same fakes (Sigmoid + BCELoss as written there). One change from the
    example, for equal work: D is frozen during G's backward (the example also computes D's weight
    gradients there and throws them away; dcgan's alternating step asks for G's only)."""

    def __init__(self, images_uint8: torch.Tensor, batch_size: int = 128, seed: int = 0,
                 device: str = "cpu", width: int = 128):
        super().__init__(images_uint8, batch_size, seed, device)
        nc = self.channels
        self.G = make_generator(ngf=width, nc=nc).to(self.device)
        self.D = make_discriminator(ndf=width, nc=nc).to(self.device)
        self.G.apply(dcgan_init)
        self.D.apply(dcgan_init)
        self.opt_g = adam(self.G, 2e-4, 0.5)
        self.opt_d = adam(self.D, 2e-4, 0.5)
        self.criterion = nn.BCELoss()

    def step(self) -> tuple[torch.Tensor, torch.Tensor]:
        real = self.next_batch()
        ones = torch.ones(len(real), device=self.device)
        zeros = torch.zeros(len(real), device=self.device)
        self.D.zero_grad()
        err_real = self.criterion(self.D(real).view(-1), ones)
        err_real.backward()
        fake = self.G(torch.randn(len(real), 100, 1, 1, device=self.device))
        err_fake = self.criterion(self.D(fake.detach()).view(-1), zeros)
        err_fake.backward()
        self.opt_d.step()
        self.G.zero_grad()
        freeze(self.D, True)
        err_g = self.criterion(self.D(fake).view(-1), ones)
        err_g.backward()
        freeze(self.D, False)
        self.opt_g.step()
        self.steps += 1
        return err_g.detach(), (err_real + err_fake).detach()
