"""GAN objectives on raw discriminator outputs (logits/scores, never sigmoids)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


@dataclass(frozen=True)
class Loss:
    name: str
    # d(real_out, fake_out, real_target, fake_target) -> scalar; targets matter only for bce/lsgan
    d: Callable[[Tensor, Tensor, Tensor | float, Tensor | float], Tensor]
    g: Callable[[Tensor], Tensor]
    gradient_penalty: float = 0.0  # lambda of WGAN-GP; the trainer adds the penalty term
    probability: bool = True       # whether sigmoid(D) reads as P(real)

    # The real and fake halves of ``d`` (d = d_real + d_fake for every loss here), for update
    # schemes that step D on real and fake batches separately (Keras-GAN).
    def d_real(self, real: Tensor, target: Tensor | float = 1.0) -> Tensor:
        return _HALVES[self.name][0](real, target)

    def d_fake(self, fake: Tensor, target: Tensor | float = 0.0) -> Tensor:
        return _HALVES[self.name][1](fake, target)


def _bce_term(out: Tensor, t: Tensor | float) -> Tensor:
    # A constant target is filled on the device (no host-to-device copy: a CUDA graph can hold it).
    target = torch.full_like(out, t) if isinstance(t, (int, float)) else t.to(out.dtype).expand_as(out)
    return F.binary_cross_entropy_with_logits(out, target)


def _bce_d(real: Tensor, fake: Tensor, rt: Tensor | float = 1.0, ft: Tensor | float = 0.0) -> Tensor:
    # Both terms as in the tutorials: BCE(D(x), 1) + BCE(D(G(z)), 0), each a batch mean.
    return _bce_term(real, rt) + _bce_term(fake, ft)


def _bce_g(fake: Tensor) -> Tensor:  # non-saturating: maximise log D(G(z))
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def _ls_d(real: Tensor, fake: Tensor, rt: Tensor | float = 1.0, ft: Tensor | float = 0.0) -> Tensor:
    return 0.5 * ((real - rt) ** 2).mean() + 0.5 * ((fake - ft) ** 2).mean()


def _ls_g(fake: Tensor) -> Tensor:
    return 0.5 * ((fake - 1) ** 2).mean()


def _hinge_d(real: Tensor, fake: Tensor, rt: Tensor | float = 1.0, ft: Tensor | float = 0.0) -> Tensor:
    return F.relu(1 - real).mean() + F.relu(1 + fake).mean()


def _wgan_d(real: Tensor, fake: Tensor, rt: Tensor | float = 1.0, ft: Tensor | float = 0.0) -> Tensor:
    return fake.mean() - real.mean()


def _neg_mean(fake: Tensor) -> Tensor:
    return -fake.mean()


LOSSES: dict[str, Loss] = {
    "bce": Loss("bce", _bce_d, _bce_g),
    "lsgan": Loss("lsgan", _ls_d, _ls_g, probability=False),
    "hinge": Loss("hinge", _hinge_d, _neg_mean, probability=False),
    "wgan-gp": Loss("wgan-gp", _wgan_d, _neg_mean, gradient_penalty=10.0, probability=False),
}


_HALVES: dict[str, tuple[Callable[[Tensor, Tensor | float], Tensor], Callable[[Tensor, Tensor | float], Tensor]]] = {
    "bce": (_bce_term, _bce_term),
    "lsgan": (lambda r, t: 0.5 * ((r - t) ** 2).mean(), lambda f, t: 0.5 * ((f - t) ** 2).mean()),
    "hinge": (lambda r, t: F.relu(1 - r).mean(), lambda f, t: F.relu(1 + f).mean()),
    "wgan-gp": (lambda r, t: -r.mean(), lambda f, t: f.mean()),
}


def gradient_penalty(D: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
                     generator: torch.Generator | None = None) -> Tensor:
    """WGAN-GP: (||grad_x D(x_hat)|| - 1)^2 on random interpolates of real and fake images."""
    eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device, generator=generator, dtype=real.dtype)
    x_hat = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
    out = D(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()
