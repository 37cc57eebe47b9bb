"""GAN objectives on raw discriminator outputs (logits/scores, never sigmoids)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

Tensor = torch.Tensor


Target = Tensor | float


@dataclass(frozen=True)
class Loss:
    """One objective, defined once. A separable loss is given by its halves: D's loss on real
    outputs, on fake outputs, and G's loss on fake outputs; ``d`` is their sum, and update schemes
    that step D on real and fake batches separately (Keras-GAN) use the halves directly. A
    relativistic loss (``pair`` set) compares each real output with its paired fake one instead:
    ``d`` and ``g`` then both read both outputs, and it has no halves."""

    name: str
    d_real: Callable[[Tensor, Target], Tensor] | None  # (D(x), target) -> scalar; targets: bce/lsgan
    d_fake: Callable[[Tensor, Target], Tensor] | None  # (D(G(z)), target) -> scalar
    g_fake: Callable[[Tensor], Tensor] | None          # D(G(z)) -> scalar
    gradient_penalty: float = 0.0  # lambda of WGAN-GP; the update scheme adds the penalty term
    probability: bool = True       # whether sigmoid(D) reads as P(real)
    pair: Callable[[Tensor, Tensor], Tensor] | None = None  # (winner, loser) outputs -> scalar

    @property
    def d_output(self) -> str:
        """What D's output means, recorded with every run: ``probability`` or ``score``."""
        return "probability" if self.probability else "score"

    @property
    def separable(self) -> bool:
        return self.pair is None

    def d(self, real: Tensor, fake: Tensor, rt: Target = 1.0, ft: Target = 0.0) -> Tensor:
        if self.pair is not None:
            return self.pair(real, fake)  # real outputs should win over their paired fakes
        return self.d_real(real, rt) + self.d_fake(fake, ft)

    def g(self, fake: Tensor, real: Tensor | None = None) -> Tensor:
        """G's loss on D(G(z)); a relativistic loss also needs D(x) of the paired real batch."""
        if self.pair is not None:
            if real is None:
                raise ValueError(f"the {self.name} loss pairs fake outputs with real ones")
            return self.pair(fake, real)
        return self.g_fake(fake)


def _bce_term(out: Tensor, t: Target) -> Tensor:
    # A constant target is filled on the device (no host-to-device copy: a CUDA graph can hold it).
    target = torch.full_like(out, t) if isinstance(t, (int, float)) else t.to(out.dtype).expand_as(out)
    return F.binary_cross_entropy_with_logits(out, target)


def _bce_g(fake: Tensor) -> Tensor:  # non-saturating: maximise log D(G(z))
    return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))


def _ls_term(out: Tensor, t: Target) -> Tensor:
    return 0.5 * ((out - t) ** 2).mean()


def _ls_g(fake: Tensor) -> Tensor:
    return 0.5 * ((fake - 1) ** 2).mean()


def _hinge_real(real: Tensor, _t: Target) -> Tensor:
    return F.relu(1 - real).mean()


def _hinge_fake(fake: Tensor, _t: Target) -> Tensor:
    return F.relu(1 + fake).mean()


def _wgan_real(real: Tensor, _t: Target) -> Tensor:
    return -real.mean()


def _wgan_fake(fake: Tensor, _t: Target) -> Tensor:
    return fake.mean()


def _neg_mean(fake: Tensor) -> Tensor:
    return -fake.mean()


def _rp_pair(win: Tensor, lose: Tensor) -> Tensor:
    # Relativistic pairing (Jolicoeur-Martineau 2019; R3GAN, Huang et al. 2024): softplus(D(lose) -
    # D(win)) over pairs, i.e. -log sigmoid of how far each sample beats its partner. The batches
    # of a pack or a half-batch pair up element by element.
    return F.softplus(lose - win).mean()


# Both D terms as in the tutorials, e.g. BCE(D(x), 1) + BCE(D(G(z)), 0), each a batch mean.
LOSSES: dict[str, Loss] = {
    "bce": Loss("bce", _bce_term, _bce_term, _bce_g),
    "lsgan": Loss("lsgan", _ls_term, _ls_term, _ls_g, probability=False),
    "hinge": Loss("hinge", _hinge_real, _hinge_fake, _neg_mean, probability=False),
    "wgan-gp": Loss("wgan-gp", _wgan_real, _wgan_fake, _neg_mean, gradient_penalty=10.0, probability=False),
    # D: softplus(D(G(z)) - D(x)); G: softplus(D(x) - D(G(z))), over paired samples
    "rpgan": Loss("rpgan", None, None, None, probability=False, pair=_rp_pair),
}


def gradient_penalty(D: Callable[[Tensor], Tensor], real: Tensor, fake: Tensor,
                     generator: torch.Generator | None = None) -> Tensor:
    """WGAN-GP: (||grad_x D(x_hat)|| - 1)^2 on random interpolates of real and fake images."""
    eps = torch.rand(real.shape[0], 1, 1, 1, device=real.device, generator=generator, dtype=real.dtype)
    x_hat = (eps * real + (1 - eps) * fake.detach()).requires_grad_(True)
    out = D(x_hat)
    (grad,) = torch.autograd.grad(out.sum(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1) ** 2).mean()


def zero_centred_penalty(D: Callable[[Tensor], Tensor], x: Tensor) -> Tensor:
    """R1 (on real images) or R2 (on fakes): ½·E‖∇ₓD(x)‖², to be scaled by γ (Mescheder et al.
    2018; R3GAN uses both). Differentiable in D's parameters (``create_graph``)."""
    x = x.detach().requires_grad_(True)
    out = D(x)
    (grad,) = torch.autograd.grad(out.float().sum(), x, create_graph=True)
    return 0.5 * grad.float().flatten(1).pow(2).sum(1).mean()
