"""CS231n's LSGAN (Generative_Adversarial_Networks.ipynb) in eager PyTorch (preset ``lsgan``)."""

from __future__ import annotations

import torch
from torch import nn

from .common import AlternatingReference, adam


def initialize_weights(m: nn.Module) -> None:
    """The notebook's init: Xavier-uniform Linear and ConvTranspose2d weights, the rest PyTorch's."""
    if isinstance(m, (nn.Linear, nn.ConvTranspose2d)):
        nn.init.xavier_uniform_(m.weight.data)


def build_dc_generator(noise_dim: int = 96, channels: int = 1) -> nn.Module:
    return nn.Sequential(
        nn.Linear(noise_dim, 1024), nn.ReLU(), nn.BatchNorm1d(1024),
        nn.Linear(1024, 7 * 7 * 128), nn.ReLU(), nn.BatchNorm1d(7 * 7 * 128),
        nn.Unflatten(1, (128, 7, 7)),                                               # (B, 128, 7, 7)
        nn.ConvTranspose2d(128, 64, 4, stride=2, padding=1), nn.ReLU(), nn.BatchNorm2d(64),  # 14 x 14
        nn.ConvTranspose2d(64, channels, 4, stride=2, padding=1), nn.Tanh(),       # (B, C, 28, 28)
    )


def build_dc_classifier(channels: int = 1) -> nn.Module:
    return nn.Sequential(
        nn.Conv2d(channels, 32, 5), nn.LeakyReLU(0.01), nn.MaxPool2d(2),   # (B, 32, 12, 12)
        nn.Conv2d(32, 64, 5), nn.LeakyReLU(0.01), nn.MaxPool2d(2),         # (B, 64, 4, 4)
        nn.Flatten(), nn.Linear(4 * 4 * 64, 4 * 4 * 64), nn.LeakyReLU(0.01),
        nn.Linear(4 * 4 * 64, 1),                                          # (B, 1) score
    )


class LSGANReference(AlternatingReference):
    """The notebook's ``run_a_gan`` with its LSGAN losses (preset lsgan: least squares, alternating,
    Adam 1e-3, betas (0.5, 0.999), batch 128, noise 96). Follows dcgan's alternating update where
    the notebook differs: G's step reuses D's fakes (the notebook draws a second batch, one more G
    forward) and the noise is normal (the notebook's is uniform; the same cost)."""

    noise_dim = 96

    def __init__(self, images_uint8: torch.Tensor, batch_size: int = 128, seed: int = 0,
                 device: str = "cpu"):
        super().__init__(images_uint8, batch_size, seed, device)
        self.G = build_dc_generator(self.noise_dim, self.channels).to(self.device)
        self.D = build_dc_classifier(self.channels).to(self.device)
        self.G.apply(initialize_weights)
        self.D.apply(initialize_weights)
        self.opt_g = adam(self.G, 1e-3, 0.5)
        self.opt_d = adam(self.D, 1e-3, 0.5)

    def d_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((real_out - 1) ** 2).mean() + 0.5 * (fake_out ** 2).mean()

    def g_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        return 0.5 * ((fake_out - 1) ** 2).mean()
