"""dcgan's own lean presets (``lean``: 28x28x1; ``lean64``: 64x64x3 with DiffAugment) written as a
newcomer would write R3GAN's recipe from the papers, in eager PyTorch.

The step: relativistic pairing loss (RpGAN), the simultaneous update, zero-centred R1 (real) and
R2 (fake) penalties every ``reg_every`` steps scaled by it (lazy regularisation), an EMA of G's
weights after every step; for lean64 every image D sees goes through DiffAugment (translation,
cutout, colour) ported from Zhao et al.'s ``DiffAugment_pytorch.py``.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .common import Reference, adam


def make_generator(nz: int, channels: int, resolution: int, width: int = 32, depth: int = 2) -> nn.Module:
    s, top = resolution >> depth, width << depth
    layers: list[nn.Module] = [nn.Linear(nz, top * s * s, bias=False), nn.Unflatten(1, (top, s, s)),
                               nn.BatchNorm2d(top), nn.ReLU(True)]          # lean: (B, 128, 7, 7)
    for i in range(depth):  # channels halve, side doubles: (B, 64, 14, 14), (B, 32, 28, 28)
        layers += [nn.ConvTranspose2d(top >> i, top >> (i + 1), 4, 2, 1, bias=False),
                   nn.BatchNorm2d(top >> (i + 1)), nn.ReLU(True)]
    layers += [nn.Conv2d(width, channels, 3, 1, 1), nn.Tanh()]              # (B, C, R, R)
    return nn.Sequential(*layers)


def make_discriminator(channels: int, resolution: int, width: int = 32, depth: int = 2) -> nn.Module:
    layers: list[nn.Module] = []
    c, size = channels, resolution
    for i in range(depth):  # lean: (B, 32, 14, 14), (B, 64, 7, 7)
        layers += [nn.Conv2d(c, width << i, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        c, size = width << i, size // 2
    s = -(-size // 2)
    layers += [nn.Conv2d(c, width << depth, 3, 2, 1), nn.LeakyReLU(0.2, True),  # (B, 128, 4, 4)
               nn.Flatten(), nn.Linear((width << depth) * s * s, 1)]             # (B, 1) score
    return nn.Sequential(*layers)


# --- DiffAugment (Zhao et al. 2020, DiffAugment_pytorch.py, BSD-2), in dcgan's policy order ----------
# Two changes: emptied pixels are -1 (dcgan's fill, the data's black) instead of 0, and translation
# ends with .contiguous(), so D stays in NCHW (its permuted result would turn D channels-last).

def rand_translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    n, _, h, w = x.shape
    shift_x, shift_y = int(h * ratio + 0.5), int(w * ratio + 0.5)
    translation_x = torch.randint(-shift_x, shift_x + 1, size=[n, 1, 1], device=x.device)
    translation_y = torch.randint(-shift_y, shift_y + 1, size=[n, 1, 1], device=x.device)
    grid_batch, grid_x, grid_y = torch.meshgrid(
        torch.arange(n, device=x.device), torch.arange(h, device=x.device),
        torch.arange(w, device=x.device), indexing="ij")
    grid_x = torch.clamp(grid_x + translation_x + 1, 0, h + 1)
    grid_y = torch.clamp(grid_y + translation_y + 1, 0, w + 1)
    x_pad = F.pad(x, [1, 1, 1, 1], value=-1.0)
    x = x_pad.permute(0, 2, 3, 1).contiguous()[grid_batch, grid_x, grid_y].permute(0, 3, 1, 2)
    return x.contiguous()


def rand_cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    n, _, h, w = x.shape
    cut_h, cut_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    offset_x = torch.randint(0, h + (1 - cut_h % 2), size=[n, 1, 1], device=x.device)
    offset_y = torch.randint(0, w + (1 - cut_w % 2), size=[n, 1, 1], device=x.device)
    grid_batch, grid_x, grid_y = torch.meshgrid(
        torch.arange(n, device=x.device), torch.arange(cut_h, device=x.device),
        torch.arange(cut_w, device=x.device), indexing="ij")
    grid_x = torch.clamp(grid_x + offset_x - cut_h // 2, min=0, max=h - 1)
    grid_y = torch.clamp(grid_y + offset_y - cut_w // 2, min=0, max=w - 1)
    mask = torch.ones(n, h, w, dtype=x.dtype, device=x.device)
    mask[grid_batch, grid_x, grid_y] = 0
    mask = mask.unsqueeze(1)
    return x * mask + (mask - 1)  # kept where mask is 1, -1 where it is 0


def rand_color(x: torch.Tensor) -> torch.Tensor:
    n = x.shape[0]
    x = x + (torch.rand(n, 1, 1, 1, dtype=x.dtype, device=x.device) - 0.5)                    # brightness
    if x.shape[1] == 3:
        x_mean = x.mean(dim=1, keepdim=True)
        x = (x - x_mean) * (torch.rand(n, 1, 1, 1, dtype=x.dtype, device=x.device) * 2) + x_mean  # saturation
    x_mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - x_mean) * (torch.rand(n, 1, 1, 1, dtype=x.dtype, device=x.device) + 0.5) + x_mean  # contrast


def diff_augment(x: torch.Tensor) -> torch.Tensor:
    return rand_color(rand_cutout(rand_translation(x)))


def r_penalty(D: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """½·E‖∇ₓD(x)‖² (R1 on real images, R2 on fakes), differentiable in D's weights."""
    x = x.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return 0.5 * grad.pow(2).flatten(1).sum(1).mean()


class LeanReference(Reference):
    """The lean/lean64 recipe (RpGAN loss, simultaneous update, Adam 2e-4, betas (0.5, 0.99),
    batch 64, R1 = R2 = 0.1 every 4 steps scaled by 4, EMA 0.995; lean64 with DiffAugment
    translation,cutout,color) on the lean architecture (width 32; depth 2, or 4 for lean64),
    PyTorch's default init. Per step: one G forward, (augment,) D on real and fake, on every 4th
    step two more D forwards with double backward for R1 and R2 (on the images D saw), G's and D's
    gradients from the same graph, both Adams, then the EMA."""

    def __init__(self, images_uint8: torch.Tensor, batch_size: int = 64, seed: int = 0,
                 device: str = "cpu", noise_dim: int = 64, depth: int = 2, augment: bool = False,
                 width: int = 32):
        super().__init__(images_uint8, batch_size, seed, device)
        self.noise_dim, self.augment = noise_dim, augment
        self.G = make_generator(noise_dim, self.channels, self.resolution, width, depth).to(self.device)
        self.D = make_discriminator(self.channels, self.resolution, width, depth).to(self.device)
        self.opt_g = adam(self.G, 2e-4, 0.5, 0.99)
        self.opt_d = adam(self.D, 2e-4, 0.5, 0.99)
        self.G_ema = copy.deepcopy(self.G).requires_grad_(False)
        self.ema_decay, self.r1, self.r2, self.reg_every = 0.995, 0.1, 0.1, 4

    def step(self) -> tuple[torch.Tensor, torch.Tensor]:
        real = self.next_batch()
        fake = self.G(self.noise(len(real)))
        if self.augment:
            real, fake = diff_augment(real), diff_augment(fake)
        real_out, fake_out = self.D(real).view(-1), self.D(fake).view(-1)
        g_loss = F.softplus(real_out - fake_out).mean()   # each fake should beat its paired real
        d_loss = F.softplus(fake_out - real_out).mean()   # and each real its paired fake
        if self.steps % self.reg_every == 0:              # lazy R1/R2, scaled by the interval
            d_loss = d_loss + self.reg_every * (self.r1 * r_penalty(self.D, real)
                                                + self.r2 * r_penalty(self.D, fake))
        self.both_tapes(g_loss, d_loss)
        with torch.no_grad():
            for p_ema, p in zip(self.G_ema.parameters(), self.G.parameters()):
                p_ema.lerp_(p, 1 - self.ema_decay)
        self.steps += 1
        return g_loss.detach(), d_loss.detach()
