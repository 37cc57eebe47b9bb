"""What every eager reference shares: the data set, its batches, the noise, the inits, TF padding.

Written as a newcomer writes a training script: the whole data set as one float tensor in [-1, 1]
on the device, an epoch as a ``torch.randperm``, noise from the global generator, stock
``torch.optim.Adam`` (its own default implementation). Nothing here imports dcgan.
"""

from __future__ import annotations

import torch
from torch import nn


class Reference:
    """The data, the batches and the step count of one reference; a subclass builds ``self.G``,
    ``self.D`` and their optimisers after ``super().__init__`` and trains one batch in ``step()``."""

    noise_dim = 100

    def __init__(self, images_uint8: torch.Tensor, batch_size: int, seed: int = 0, device: str = "cpu"):
        torch.manual_seed(seed)
        self.device = torch.device(device)
        self.data = (images_uint8.float().to(self.device) - 127.5) / 127.5   # (N, C, H, W) in [-1, 1]
        self.batch_size = batch_size
        self.channels, self.resolution = int(images_uint8.shape[1]), int(images_uint8.shape[-1])
        self.perm: torch.Tensor | None = None  # drawn at the first batch, after the models' weights
        self.pos = 0
        self.steps = 0  # steps taken: lazy penalties are due when steps % reg_every == 0

    def next_batch(self) -> torch.Tensor:
        if self.perm is None or self.pos + self.batch_size > len(self.perm):
            self.perm, self.pos = torch.randperm(len(self.data)), 0
        idx = self.perm[self.pos:self.pos + self.batch_size].to(self.device)
        self.pos += self.batch_size
        return self.data[idx]

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.noise_dim, device=self.device)

    def step(self) -> tuple[torch.Tensor, torch.Tensor]:
        raise NotImplementedError

    def both_tapes(self, g_loss: torch.Tensor, d_loss: torch.Tensor) -> None:
        """The TF tutorial's two GradientTapes: G's gradient from G's loss and D's from D's, over
        one forward pass, then both Adams (the simultaneous update)."""
        g_params, d_params = list(self.G.parameters()), list(self.D.parameters())
        g_grads = torch.autograd.grad(g_loss, g_params, retain_graph=True)
        d_grads = torch.autograd.grad(d_loss, d_params)
        for p, g in zip(g_params, g_grads):
            p.grad = g
        for p, g in zip(d_params, d_grads):
            p.grad = g
        self.opt_g.step()
        self.opt_d.step()


def adam(model: nn.Module, lr: float, beta1: float, beta2: float = 0.999, eps: float = 1e-8
         ) -> torch.optim.Adam:
    return torch.optim.Adam(model.parameters(), lr=lr, betas=(beta1, beta2), eps=eps)


KERAS_EPS = 1e-7  # Keras' Adam epsilon


def glorot_(model: nn.Module) -> nn.Module:
    """Keras' defaults: Glorot-uniform kernels, zero biases."""
    for m in model.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return model


def tf_same_conv(cin: int, cout: int, k: int, stride: int, size: int, bias: bool = True
                 ) -> tuple[nn.Module, int]:
    """Keras' ``Conv2D(padding="same")`` at input side ``size``, and its output side. TensorFlow
    puts the odd row/column of an odd total padding at the bottom/right: a ZeroPad2d does that
    before a symmetrically padded conv."""
    out = -(-size // stride)
    total = max((out - 1) * stride + k - size, 0)
    conv = nn.Conv2d(cin, cout, k, stride, padding=total // 2, bias=bias)
    return (nn.Sequential(nn.ZeroPad2d((0, 1, 0, 1)), conv) if total % 2 else conv), out


def freeze(model: nn.Module, frozen: bool) -> None:
    """Keras' ``trainable = False`` for G's step: no weight gradients for D (dcgan's G step asks
    autograd for G's parameters only, so both skip that work)."""
    model.requires_grad_(not frozen)


class AlternatingReference(Reference):
    """dcgan's ``alternating`` update, in pytorch/examples' order: one G forward; D on the real
    batch and on the detached fakes, one D backward and step; then G's loss on the same fakes
    through the updated (frozen) D, one G backward and step. A subclass sets the models, the
    optimisers and the loss's two halves."""

    def d_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def g_loss(self, fake_out: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def step(self) -> tuple[torch.Tensor, torch.Tensor]:
        real = self.next_batch()
        fake = self.G(self.noise(len(real)))
        self.opt_d.zero_grad()
        d_loss = self.d_loss(self.D(real), self.D(fake.detach()))
        d_loss.backward()
        self.opt_d.step()
        self.opt_g.zero_grad()
        freeze(self.D, True)
        g_loss = self.g_loss(self.D(fake))
        g_loss.backward()
        freeze(self.D, False)
        self.opt_g.step()
        self.steps += 1
        return g_loss.detach(), d_loss.detach()


def bce_d(real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    """BCE(D(x), 1) + BCE(D(G(z)), 0) on logits."""
    bce = nn.functional.binary_cross_entropy_with_logits
    return bce(real_out, torch.ones_like(real_out)) + bce(fake_out, torch.zeros_like(fake_out))


def bce_g(fake_out: torch.Tensor) -> torch.Tensor:
    """The non-saturating G loss, BCE(D(G(z)), 1), on logits."""
    return nn.functional.binary_cross_entropy_with_logits(fake_out, torch.ones_like(fake_out))
