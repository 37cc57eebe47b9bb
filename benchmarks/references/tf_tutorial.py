"""A plain eager PyTorch port of TensorFlow's DCGAN tutorial (preset ``tf-tutorial``).

Written the way a newcomer ports the notebook: the same layers as dcgan's tf-tutorial preset
(built here from stock ``nn`` modules with symmetric padding and an output crop where TensorFlow pads
asymmetrically), the data as one float tensor in [-1, 1], and the two GradientTapes as two
``torch.autograd.grad`` calls over one forward pass, Adam with Keras' settings.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .common import KERAS_EPS, Reference, glorot_


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


class TFTutorialReference(Reference):
    """The tutorial's ``train_step`` (preset tf-tutorial: BCE, simultaneous update, Adam 1e-4 with
    Keras' betas and epsilon, batch 256). Per step: one G forward, D on the real and on the fake
    batch, G's gradient and D's gradient from the same graph (as dcgan's ``simultaneous``), both
    Adams step. ``nn.Dropout`` as the tutorial's Dropout(0.3)."""

    def __init__(self, images_uint8: torch.Tensor, batch_size: int = 256, seed: int = 0,
                 device: str = "cpu"):
        super().__init__(images_uint8, batch_size, seed, device)
        self.G = glorot_(make_generator()).to(self.device)
        self.D = glorot_(make_discriminator()).to(self.device)
        adam = dict(lr=1e-4, betas=(0.9, 0.999), eps=KERAS_EPS)
        self.opt_g = torch.optim.Adam(self.G.parameters(), **adam)
        self.opt_d = torch.optim.Adam(self.D.parameters(), **adam)

    def step(self) -> tuple[torch.Tensor, torch.Tensor]:
        real = self.next_batch()
        noise = torch.randn(len(real), 100, device=self.device)
        fake = self.G(noise)
        real_out, fake_out = self.D(real), self.D(fake)
        g_loss = F.binary_cross_entropy_with_logits(fake_out, torch.ones_like(fake_out))
        d_loss = (F.binary_cross_entropy_with_logits(real_out, torch.ones_like(real_out))
                  + F.binary_cross_entropy_with_logits(fake_out, torch.zeros_like(fake_out)))
        self.both_tapes(g_loss, d_loss)
        self.steps += 1
        return g_loss.detach(), d_loss.detach()
