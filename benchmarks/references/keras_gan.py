"""Keras-GAN's DCGAN (eriklindernoren/Keras-GAN, ``dcgan/dcgan.py``) ported to eager PyTorch
(presets ``keras-gan-mnist``, 28x28x1 with D's ZeroPadding2D, and ``keras-gan-cifar10``, 32x32x3
without it)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .common import KERAS_EPS, Reference, adam, freeze, glorot_, tf_same_conv


def bn(n: int) -> nn.BatchNorm2d:
    return nn.BatchNorm2d(n, eps=1e-3, momentum=0.2)  # Keras' BatchNormalization(momentum=0.8)


def build_generator(latent_dim: int, channels: int, resolution: int) -> nn.Module:
    s = resolution // 4
    return nn.Sequential(
        nn.Linear(latent_dim, 128 * s * s), nn.ReLU(), nn.Unflatten(1, (128, s, s)),   # (B, 128, 7, 7)
        bn(128), nn.Upsample(scale_factor=2),                                           # (B, 128, 14, 14)
        nn.Conv2d(128, 128, 3, padding=1), nn.ReLU(), bn(128), nn.Upsample(scale_factor=2),  # 28 x 28
        nn.Conv2d(128, 64, 3, padding=1), nn.ReLU(), bn(64),                            # (B, 64, 28, 28)
        nn.Conv2d(64, channels, 3, padding=1), nn.Tanh(),                               # (B, C, 28, 28)
    )


def build_discriminator(channels: int, resolution: int, zero_pad: bool) -> nn.Module:
    conv1, s = tf_same_conv(channels, 32, 3, 2, resolution)   # (B, 32, 14, 14)  [CIFAR: 16 x 16]
    conv2, s = tf_same_conv(32, 64, 3, 2, s)                  # (B, 64, 7, 7)    [8 x 8]
    s += 1 if zero_pad else 0                                 # ZeroPadding2D(((0, 1), (0, 1))): 8 x 8
    conv3, s = tf_same_conv(64, 128, 3, 2, s)                 # (B, 128, 4, 4)
    conv4, s = tf_same_conv(128, 256, 3, 1, s)                # (B, 256, 4, 4)
    return nn.Sequential(
        conv1, nn.LeakyReLU(0.2), nn.Dropout(0.25),
        conv2, nn.ZeroPad2d((0, 1, 0, 1)) if zero_pad else nn.Identity(), nn.LeakyReLU(0.2),
        nn.Dropout(0.25), bn(64),
        conv3, nn.LeakyReLU(0.2), nn.Dropout(0.25), bn(128),
        conv4, nn.LeakyReLU(0.2), nn.Dropout(0.25),
        nn.Flatten(), nn.Linear(256 * s * s, 1),              # (B, 1) logit: the sigmoid is in the loss
    )


class KerasGANReference(Reference):
    """Keras-GAN's ``train`` loop as dcgan's keras-gan update runs it (BCE, Adam 2e-4, beta1 0.5,
    Keras' epsilon, batch 32): D's ``train_on_batch`` on half a batch of real images drawn with
    replacement from the whole set, then on half a batch of ``generator.predict`` fakes (G forward
    without gradients); then the combined model, G through the frozen D (still in training mode)
    on a full batch of fresh noise. Three optimiser steps, four forwards, three backwards."""

    def __init__(self, images_uint8: torch.Tensor, batch_size: int = 32, seed: int = 0,
                 device: str = "cpu", zero_pad: bool = False):
        super().__init__(images_uint8, batch_size, seed, device)
        self.G = glorot_(build_generator(self.noise_dim, self.channels, self.resolution)).to(self.device)
        self.D = glorot_(build_discriminator(self.channels, self.resolution, zero_pad)).to(self.device)
        self.opt_g = adam(self.G, 2e-4, 0.5, eps=KERAS_EPS)
        self.opt_d = adam(self.D, 2e-4, 0.5, eps=KERAS_EPS)

    def step(self) -> tuple[torch.Tensor, torch.Tensor]:
        n = self.batch_size
        half = max(n // 2, 1)
        imgs = self.data[torch.randint(0, len(self.data), (half,), device=self.device)]
        valid, fake = torch.ones(half, 1, device=self.device), torch.zeros(half, 1, device=self.device)

        self.opt_d.zero_grad()
        d_loss_real = F.binary_cross_entropy_with_logits(self.D(imgs), valid)
        d_loss_real.backward()
        self.opt_d.step()
        with torch.no_grad():
            gen_imgs = self.G(self.noise(half))
        self.opt_d.zero_grad()
        d_loss_fake = F.binary_cross_entropy_with_logits(self.D(gen_imgs), fake)
        d_loss_fake.backward()
        self.opt_d.step()

        freeze(self.D, True)
        self.opt_g.zero_grad()
        out = self.D(self.G(self.noise(n)))
        g_loss = F.binary_cross_entropy_with_logits(out, torch.ones_like(out))
        g_loss.backward()
        self.opt_g.step()
        freeze(self.D, False)
        self.steps += 1
        return g_loss.detach(), 0.5 * (d_loss_real + d_loss_fake).detach()
