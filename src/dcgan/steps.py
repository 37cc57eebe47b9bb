"""How one batch updates D and G: the update schemes of the tutorials.

Each scheme takes the Trainer and a batch of real images in [-1, 1] and returns the detached
statistics (d_loss, g_loss, D(x), D(G(z))) as one tensor, so the loop never syncs with the device.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import torch

from .images import to_unit
from .losses import gradient_penalty

if TYPE_CHECKING:
    from .train import Trainer


def _stats(tr: Trainer, d_loss, g_loss, real_out, fake_out) -> torch.Tensor:
    return torch.stack([d_loss.detach().float(), g_loss.detach().float(),
                        tr.readable(real_out), tr.readable(fake_out)])


def simultaneous(tr: Trainer, real: torch.Tensor) -> torch.Tensor:
    """TensorFlow tutorial: one forward pass, both losses, both updates from the same graph.

    Like its two GradientTapes, D's gradient comes from the D loss and G's from the G loss of the
    same fake batch, and both optimisers step together (G's gradient sees D before its update).
    """
    g_params = [p for p in tr.G.parameters() if p.requires_grad]
    d_params = [p for p in tr.D.parameters() if p.requires_grad]
    with tr.autocast():
        fake = tr.G(tr.noise(len(real)))          # (B, C, H, W)
        real_out, fake_out = tr.D(real), tr.D(fake)  # (B,), (B,)
        g_loss = tr.loss.g(fake_out.float())
        d_loss = tr.d_loss(real, fake, real_out, fake_out)
    tr.opt_g.zero_grad(set_to_none=True)
    tr.opt_d.zero_grad(set_to_none=True)
    scaler = tr.scaler
    scaler.scale(g_loss).backward(inputs=g_params, retain_graph=True)
    scaler.scale(d_loss).backward(inputs=d_params)
    update_g = (tr.step + 1) % tr.cfg.n_critic == 0
    if update_g:
        scaler.step(tr.opt_g)
    scaler.step(tr.opt_d)
    scaler.update()
    return _stats(tr, d_loss, g_loss, real_out, fake_out)


def alternating(tr: Trainer, real: torch.Tensor) -> torch.Tensor:
    """PyTorch's DCGAN example: D steps on real + detached fake, then G steps through the updated D.

    The fake batch of D's step is reused for G's step, as the example does. With ``n_critic`` > 1,
    G steps on every n_critic-th batch only.
    """
    scaler = tr.scaler
    with tr.autocast():
        fake = tr.G(tr.noise(len(real)))
        real_out, fake_out = tr.D(real), tr.D(fake.detach())
        d_loss = tr.d_loss(real, fake, real_out, fake_out)
    tr.opt_d.zero_grad(set_to_none=True)
    scaler.scale(d_loss).backward()
    scaler.step(tr.opt_d)
    g_loss = torch.zeros((), device=real.device)
    if (tr.step + 1) % tr.cfg.n_critic == 0:
        with tr.autocast():
            g_loss = tr.loss.g(tr.D(fake).float())
        tr.opt_g.zero_grad(set_to_none=True)
        scaler.scale(g_loss).backward(inputs=[p for p in tr.G.parameters() if p.requires_grad])
        scaler.step(tr.opt_g)
    scaler.update()
    return _stats(tr, d_loss, g_loss, real_out, fake_out)


def keras_gan(tr: Trainer, real: torch.Tensor) -> torch.Tensor:
    """Keras-GAN's loop: D's ``train_on_batch`` on a half batch of real images, then again on a
    half batch of fakes, then the combined model (G through the frozen D) on a full batch.

    As Keras-GAN does, the real half batch is drawn with replacement from the whole training set
    (``np.random.randint``), not taken from the epoch's permutation; only its size is used from
    ``real``. Every draw comes from ``tr.rng``, so a resumed run draws the same images. D stays in
    training mode during G's step (dropout on, batch statistics), only its weights are frozen.
    The reported D loss is Keras-GAN's ``0.5 * (d_loss_real + d_loss_fake)``; the WGAN-GP penalty
    (which needs both kinds of images) is added to the fake half's step.
    """
    scaler = tr.scaler
    n = len(real)
    half = max(n // 2, 1)
    idx = torch.randint(0, tr.n, (half,), device=tr.images.device, generator=tr.rng)
    real_half = to_unit(tr.images[idx])                        # (B/2, C, H, W)
    rt, ft = tr.targets(half, half)

    with tr.autocast():
        real_out = tr.D(real_half)                             # (B/2,)
        d_real = tr.loss.d_real(real_out.float(), rt)
    tr.opt_d.zero_grad(set_to_none=True)
    scaler.scale(d_real).backward()
    scaler.step(tr.opt_d)
    scaler.update()  # GradScaler allows one step per optimizer between updates

    with torch.no_grad(), tr.autocast():                       # generator.predict(noise)
        fake_half = tr.G(tr.noise(half))                       # (B/2, C, H, W)
    with tr.autocast():
        fake_out = tr.D(fake_half)                             # (B/2,)
        d_fake = tr.loss.d_fake(fake_out.float(), ft)
        if tr.cfg.gp_weight:
            d_fake = d_fake + tr.cfg.gp_weight * gradient_penalty(
                tr.D, real_half, fake_half.to(real_half.dtype), tr.rng).float()
    tr.opt_d.zero_grad(set_to_none=True)
    scaler.scale(d_fake).backward()
    scaler.step(tr.opt_d)
    scaler.update()
    d_loss = 0.5 * (d_real.detach() + d_fake.detach())

    g_loss = torch.zeros((), device=real.device)
    if (tr.step + 1) % tr.cfg.n_critic == 0:
        with tr.autocast():
            g_out = tr.D(tr.G(tr.noise(n)))                    # (B,) through the frozen D
            g_loss = tr.loss.g(g_out.float())
        tr.opt_g.zero_grad(set_to_none=True)
        scaler.scale(g_loss).backward(inputs=[p for p in tr.G.parameters() if p.requires_grad])
        scaler.step(tr.opt_g)
        scaler.update()
    return _stats(tr, d_loss, g_loss, real_out, fake_out)


UPDATES: dict[str, Callable[[Trainer, torch.Tensor], torch.Tensor]] = {
    "simultaneous": simultaneous,
    "alternating": alternating,
    "keras-gan": keras_gan,
}
