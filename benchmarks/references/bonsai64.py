"""The Keras bonsai/face DCGAN (keras.io's "DCGAN overriding train_step") in eager PyTorch
(preset ``bonsai64``, 64x64x3)."""

from __future__ import annotations

import torch
from torch import nn

from .common import KERAS_EPS, AlternatingReference, adam, bce_d, bce_g, glorot_


def make_generator(latent_dim: int = 100, channels: int = 3) -> nn.Module:
    # Conv2DTranspose(k=4, s=2, "same") pads one row/column on each side: PyTorch's padding=1
    return nn.Sequential(
        nn.Linear(latent_dim, 8 * 8 * 128), nn.ReLU(), nn.Unflatten(1, (128, 8, 8)),   # (B, 128, 8, 8)
        nn.ConvTranspose2d(128, 128, 4, 2, 1), nn.ReLU(),                               # (B, 128, 16, 16)
        nn.ConvTranspose2d(128, 256, 4, 2, 1), nn.ReLU(),                               # (B, 256, 32, 32)
        nn.ConvTranspose2d(256, 512, 4, 2, 1), nn.ReLU(),                               # (B, 512, 64, 64)
        nn.Conv2d(512, channels, 5, padding=2), nn.Tanh(),                              # (B, C, 64, 64)
    )


def make_discriminator(channels: int = 3) -> nn.Module:
    # Conv2D(k=4, s=2, "same") on an even side also pads one on each side
    return nn.Sequential(
        nn.Conv2d(channels, 64, 4, 2, 1), nn.LeakyReLU(0.2),   # (B, 64, 32, 32)
        nn.Conv2d(64, 128, 4, 2, 1), nn.LeakyReLU(0.2),        # (B, 128, 16, 16)
        nn.Conv2d(128, 128, 4, 2, 1), nn.LeakyReLU(0.2),       # (B, 128, 8, 8)
        nn.Flatten(), nn.Dropout(0.3), nn.Linear(8 * 8 * 128, 1),   # (B, 1) logit
    )


class Bonsai64Reference(AlternatingReference):
    """The tutorial's models with dcgan's bonsai64 recipe (BCE on logits, alternating, Adam 2e-4,
    beta1 0.5, Keras' epsilon, batch 32). Follows dcgan's alternating update where the tutorial's
    ``train_step`` differs: D sees the real and the fake batch in two calls (the tutorial
    concatenates them: the same FLOPs), its targets are not noised, and G's step reuses D's fakes
    (the tutorial draws fresh noise, one more G forward)."""

    def __init__(self, images_uint8: torch.Tensor, batch_size: int = 32, seed: int = 0,
                 device: str = "cpu"):
        super().__init__(images_uint8, batch_size, seed, device)
        self.G = glorot_(make_generator(self.noise_dim, self.channels)).to(self.device)
        self.D = glorot_(make_discriminator(self.channels)).to(self.device)
        self.opt_g = adam(self.G, 2e-4, 0.5, eps=KERAS_EPS)
        self.opt_d = adam(self.D, 2e-4, 0.5, eps=KERAS_EPS)

    def d_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        return bce_d(real_out, fake_out)

    def g_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        return bce_g(fake_out)
