"""The GAN objectives: D's loss is the sum of its real and fake halves, and the gradient penalty is
finite and differentiable under autocast."""

from __future__ import annotations

import pytest
import torch

from dcgan.models import build_discriminator, get_preset
from dcgan.training.losses import LOSSES


@pytest.mark.parametrize("name", [n for n, loss in LOSSES.items() if loss.separable])
def test_d_loss_halves_sum_to_the_d_loss(name):
    loss = LOSSES[name]
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(6, generator=g), torch.randn(5, generator=g)
    rt, ft = 0.7 + 0.3 * torch.rand(6, generator=g), 0.3 * torch.rand(5, generator=g)
    torch.testing.assert_close(loss.d_real(real, rt) + loss.d_fake(fake, ft), loss.d(real, fake, rt, ft))


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_gradient_penalty_is_finite_and_differentiable_under_autocast(precision):
    from dcgan.devices import autocast
    from dcgan.training.losses import gradient_penalty

    torch.manual_seed(0)
    arch = get_preset("keras-gan-mnist").arch()
    D = build_discriminator(arch)
    real, fake = torch.rand(4, 1, 28, 28) * 2 - 1, torch.rand(4, 1, 28, 28) * 2 - 1
    with autocast(torch.device("cpu"), precision):
        gp = gradient_penalty(D, real, fake, torch.Generator().manual_seed(0))
    gp.float().backward()
    assert torch.isfinite(gp) and gp > 0
    # Every weight gets a gradient through the penalty (biases may not: d(sum D)/dx ignores them).
    weights = [p for n, p in D.named_parameters() if n.endswith("weight")]
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in weights)
