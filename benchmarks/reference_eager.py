"""A plain eager PyTorch port of TensorFlow's DCGAN tutorial: the yardstick ``dcgan`` is compared to.

Written the way a newcomer ports the notebook: the same layers as ``dcgan``'s tf-tutorial preset
(built here from stock ``nn`` modules with symmetric padding and an output crop where TensorFlow pads
asymmetrically), the data as one float tensor in [-1, 1], and the two GradientTapes as two
``torch.autograd.grad`` calls over one forward pass, Adam with Keras' settings. No dcgan code is
imported, so a change inside dcgan cannot make its own reference faster.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class Crop(nn.Module):
    """TensorFlow's "same" transposed conv keeps the top-left ``size`` rows/columns."""

    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def forward(self, x):
        return x[..., : self.size, : self.size]


def make_generator(noise_dim: int = 100) -> nn.Module:
    return nn.Sequential(
        nn.Linear(noise_dim, 7 * 7 * 256, bias=False), nn.BatchNorm1d(7 * 7 * 256, eps=1e-3, momentum=0.01),
        nn.LeakyReLU(0.3), nn.Unflatten(1, (256, 7, 7)),                        # (B, 256, 7, 7)
        nn.ConvTranspose2d(256, 128, 5, 1, padding=2, bias=False),               # (B, 128, 7, 7)
        nn.BatchNorm2d(128, eps=1e-3, momentum=0.01), nn.LeakyReLU(0.3),
        nn.ConvTranspose2d(128, 64, 5, 2, padding=1, bias=False), Crop(14),     # (B, 64, 14, 14)
        nn.BatchNorm2d(64, eps=1e-3, momentum=0.01), nn.LeakyReLU(0.3),
        nn.ConvTranspose2d(64, 1, 5, 2, padding=1, bias=False), Crop(28),       # (B, 1, 28, 28)
        nn.Tanh(),
    )


class PadBR(nn.Module):
    """The extra bottom/right row and column of TensorFlow's "same" padding for stride 2."""

    def forward(self, x):
        return F.pad(x, (0, 1, 0, 1))


def make_discriminator() -> nn.Module:
    return nn.Sequential(
        PadBR(), nn.Conv2d(1, 64, 5, 2, padding=1), nn.LeakyReLU(0.3), nn.Dropout(0.3),    # (B, 64, 14, 14)
        PadBR(), nn.Conv2d(64, 128, 5, 2, padding=1), nn.LeakyReLU(0.3), nn.Dropout(0.3),  # (B, 128, 7, 7)
        nn.Flatten(), nn.Linear(128 * 7 * 7, 1),
    )


def glorot_(model: nn.Module) -> nn.Module:
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


class EagerReference:
    """The tutorial's ``train_step`` in eager PyTorch; ``step()`` trains on one batch."""

    def __init__(self, images_uint8: torch.Tensor, batch_size: int = 256, seed: int = 0,
                 device: str = "cpu"):
        self._data(images_uint8, batch_size, seed, device)
        self.G = glorot_(make_generator()).to(self.device)
        self.D = glorot_(make_discriminator()).to(self.device)
        adam = dict(lr=1e-4, betas=(0.9, 0.999), eps=1e-7)
        self.opt_g = torch.optim.Adam(self.G.parameters(), **adam)
        self.opt_d = torch.optim.Adam(self.D.parameters(), **adam)
        self.perm, self.pos = torch.randperm(len(self.data)), 0

    def _data(self, images_uint8: torch.Tensor, batch_size: int, seed: int, device: str) -> None:
        """Seed, device, and the whole data set as one float tensor in [-1, 1] (N, C, H, W); the
        caller draws the first permutation after building its models, as the RNG order was."""
        torch.manual_seed(seed)
        self.device = torch.device(device)
        self.data = (images_uint8.float().to(self.device) - 127.5) / 127.5
        self.batch_size = batch_size

    def next_batch(self) -> torch.Tensor:
        if self.pos + self.batch_size > len(self.perm):
            self.perm, self.pos = torch.randperm(len(self.data)), 0
        idx = self.perm[self.pos:self.pos + self.batch_size].to(self.device)
        self.pos += self.batch_size
        return self.data[idx]

    def step(self) -> tuple[torch.Tensor, torch.Tensor]:
        real = self.next_batch()
        noise = torch.randn(len(real), 100, device=self.device)
        fake = self.G(noise)
        real_out, fake_out = self.D(real), self.D(fake)
        g_loss = F.binary_cross_entropy_with_logits(fake_out, torch.ones_like(fake_out))
        d_loss = (F.binary_cross_entropy_with_logits(real_out, torch.ones_like(real_out))
                  + F.binary_cross_entropy_with_logits(fake_out, torch.zeros_like(fake_out)))
        g_params, d_params = list(self.G.parameters()), list(self.D.parameters())
        g_grads = torch.autograd.grad(g_loss, g_params, retain_graph=True)
        d_grads = torch.autograd.grad(d_loss, d_params)
        for p, g in zip(g_params, g_grads):
            p.grad = g
        for p, g in zip(d_params, d_grads):
            p.grad = g
        self.opt_g.step()
        self.opt_d.step()
        return g_loss.detach(), d_loss.detach()


# --- Radford et al.'s 64x64 DCGAN, as pytorch/examples' dcgan/main.py trains it ---------------------

def make_dcgan64_generator(nz: int = 100, ngf: int = 128, nc: int = 3) -> nn.Module:
    return nn.Sequential(
        nn.ConvTranspose2d(nz, ngf * 8, 4, 1, 0, bias=False), nn.BatchNorm2d(ngf * 8), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 8, ngf * 4, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 4), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 4, ngf * 2, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf * 2), nn.ReLU(True),
        nn.ConvTranspose2d(ngf * 2, ngf, 4, 2, 1, bias=False), nn.BatchNorm2d(ngf), nn.ReLU(True),
        nn.ConvTranspose2d(ngf, nc, 4, 2, 1, bias=False), nn.Tanh(),                 # (B, nc, 64, 64)
    )


def make_dcgan64_discriminator(ndf: int = 128, nc: int = 3) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(nc, ndf, 4, 2, 1, bias=False), nn.LeakyReLU(0.2, True),
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


class EagerDCGAN64Reference(EagerReference):
    """pytorch/examples' loop: D on real, then on detached fakes, then G through the updated D
    (Sigmoid + BCELoss as written there), Adam 2e-4, beta1 0.5."""

    def __init__(self, images_uint8: torch.Tensor, batch_size: int = 128, seed: int = 0,
                 device: str = "cpu", width: int = 128):
        self._data(images_uint8, batch_size, seed, device)
        nc = images_uint8.shape[1]
        self.G = make_dcgan64_generator(ngf=width, nc=nc).to(self.device)
        self.D = make_dcgan64_discriminator(ndf=width, nc=nc).to(self.device)
        self.G.apply(dcgan_init)
        self.D.apply(dcgan_init)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        self.criterion = nn.BCELoss()
        self.perm, self.pos = torch.randperm(len(self.data)), 0

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
        err_g = self.criterion(self.D(fake).view(-1), ones)
        err_g.backward()
        self.opt_g.step()
        return err_g.detach(), (err_real + err_fake).detach()
