"""How one batch updates D and G: the update schemes of the tutorials, and the helpers they share.

A scheme is ``run(ctx, real, step, y) -> stats``: it reads and updates only what its ``StepContext``
holds (G, D, their optimisers and scaler, the objective, the run's random stream), takes a batch of
real images in [-1, 1], the global step and, under ``--cond``, the real images' labels (None
otherwise; the fakes' labels are drawn from the run's random stream), and returns the detached statistics (d_loss, g_loss,
D(x), D(G(z))) as one tensor, so the loop never syncs with the device. The Trainer builds the
context once; a CUDA graph (graphs.py) captures the same call.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from ..devices import autocast
from ..images import to_unit
from ..models.lean import share_labels
from .augment import augment
from .losses import Loss, gradient_penalty, zero_centred_penalty


@dataclass
class StepContext:
    """Everything an update scheme may touch; nothing else of the Trainer is visible to it."""

    G: nn.Module                     # possibly compiled / DDP-wrapped
    D: nn.Module
    opt_g: torch.optim.Optimizer
    opt_d: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    loss: Loss
    rng: torch.Generator             # every draw of a step (noise, labels, resampling) comes from it
    noise_dim: int
    device: torch.device
    precision: str
    images: torch.Tensor             # the device-resident uint8 training set (Keras-GAN resamples it)
    n_critic: int = 1
    gp_weight: float = 0.0
    soft_labels: bool = False
    label_flip: float = 0.0
    r1: float = 0.0                  # zero-centred gradient penalties (gamma), every reg_every steps
    r2: float = 0.0
    reg_every: int = 1
    gamma_scale: float = 1.0         # --gamma-schedule: the trainer sets it before every step
    policy: tuple[str, ...] = ()     # --augment: what every image D sees goes through
    cond: str = "none"               # --cond: none, projection (D takes y) or acgan (D classifies)
    classes: int = 0                 # the label count under --cond
    class_edges: torch.Tensor | None = None  # --clusters: models.lean.share_edges of their shares, on the device

    def generate(self, n: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """G's images of ``n`` fresh noise vectors, and the labels asked of it (drawn from ``rng``
        after the noise: uniformly, or under --clusters in proportion to the clusters' sizes, as the
        real images come; None without --cond)."""
        z = self.noise(n)
        if self.cond == "none":
            return self.G(z), None
        if self.class_edges is None:
            y = torch.randint(0, self.classes, (n,), device=self.device, generator=self.rng)
        else:  # by the clusters' shares (models.lean.share_labels)
            y = share_labels(torch.rand(n, device=self.device, generator=self.rng), self.class_edges)
        return self.G(z, y), y

    def judge(self, x: torch.Tensor, y: torch.Tensor | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """D's realness logits (N,) of ``x`` with labels ``y``, and its class logits (N, K) under
        --cond acgan (None otherwise)."""
        if self.cond == "none":
            return self.D(x), None
        if self.cond == "projection":
            return self.D(x, y), None
        out = self.D(x)
        return out[:, 0], out[:, 1:]

    def with_class_loss(self, loss: torch.Tensor, *pairs: tuple[torch.Tensor | None, torch.Tensor | None]
                        ) -> torch.Tensor:
        """``loss`` plus AC-GAN's cross-entropy of each (class logits, labels) pair; ``loss`` itself
        when D has no class head."""
        for logits, y in pairs:
            if logits is not None:
                loss = loss + F.cross_entropy(logits.float(), y)
        return loss

    def see(self, x: torch.Tensor) -> torch.Tensor:
        """An image batch as D sees it: augmented under --augment (draws from ``rng``), else as is."""
        return augment(x, self.policy, self.rng) if self.policy else x

    def penalties(self, real: torch.Tensor | None, fake: torch.Tensor | None, step: int,
                  y: torch.Tensor | None = None, y_fake: torch.Tensor | None = None) -> torch.Tensor | None:
        """R1 on ``real`` and R2 on ``fake`` (the images D saw, with their labels under --cond),
        scaled by gamma and, lazily, by reg_every on every reg_every-th step; None when no penalty
        is due. Under --cond the gradient is of the realness logit at the image's own label."""
        if not (self.r1 or self.r2) or step % self.reg_every:
            return None
        scale = self.gamma_scale * self.reg_every
        total = None
        for gamma, x, labels in ((self.r1, real, y), (self.r2, fake, y_fake)):
            if gamma and x is not None:
                D = self.D if self.cond == "none" else (lambda v, labels=labels: self.judge(v, labels)[0])
                term = gamma * scale * zero_centred_penalty(D, x)
                total = term if total is None else total + term
        return total

    def add_penalties(self, loss: torch.Tensor, real: torch.Tensor | None, fake: torch.Tensor | None,
                      step: int, y: torch.Tensor | None = None, y_fake: torch.Tensor | None = None
                      ) -> torch.Tensor:
        """``loss`` plus the R1/R2 penalties due at this step (``loss`` itself when none is)."""
        extra = self.penalties(real, fake, step, y, y_fake)
        return loss if extra is None else loss + extra

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.noise_dim, device=self.device, generator=self.rng)

    def autocast(self):
        return autocast(self.device, self.precision)

    def targets(self, n_real: int, n_fake: int) -> tuple[torch.Tensor | float, torch.Tensor | float]:
        """D's targets for real and fake outputs: 1 and 0, or softened / flipped per the flags."""
        if not self.soft_labels and not self.label_flip:
            return 1.0, 0.0
        kw = {"device": self.device, "generator": self.rng}
        real, fake = torch.ones(n_real, device=self.device), torch.zeros(n_fake, device=self.device)
        if self.soft_labels:
            real = 0.7 + 0.3 * torch.rand(n_real, **kw)
            fake = 0.3 * torch.rand(n_fake, **kw)
        if self.label_flip:
            real = torch.where(torch.rand(n_real, **kw) < self.label_flip, 1 - real, real)
            fake = torch.where(torch.rand(n_fake, **kw) < self.label_flip, 1 - fake, fake)
        return real, fake

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, real_out: torch.Tensor,
               fake_out: torch.Tensor, step: int = 0, y: torch.Tensor | None = None,
               y_fake: torch.Tensor | None = None, real_cls: torch.Tensor | None = None,
               fake_cls: torch.Tensor | None = None) -> torch.Tensor:
        """D's loss on the images it saw (``real``, ``fake``) and its outputs, with every penalty;
        under --cond acgan also the cross-entropy of its class logits on both."""
        rt, ft = self.targets(len(real_out), len(fake_out))
        loss = self.loss.d(real_out.float(), fake_out.float(), rt, ft)
        if self.gp_weight:
            loss = loss + self.gp_weight * gradient_penalty(self.D, real, fake, self.rng).float()
        loss = self.with_class_loss(loss, (real_cls, y), (fake_cls, y_fake))
        return self.add_penalties(loss, real, fake.detach(), step, y, y_fake)

    def readable(self, out: torch.Tensor) -> torch.Tensor:
        """What the stats call D(x): a probability for BCE, the raw score for other losses."""
        out = out.detach().float()
        return torch.sigmoid(out).mean() if self.loss.probability else out.mean()

    def g_params(self) -> list[nn.Parameter]:
        return [p for p in self.G.parameters() if p.requires_grad]


def _stats(ctx: StepContext, d_loss, g_loss, real_out, fake_out) -> torch.Tensor:
    return torch.stack([d_loss.detach().float(), g_loss.detach().float(),
                        ctx.readable(real_out), ctx.readable(fake_out)])


def simultaneous(ctx: StepContext, real: torch.Tensor, step: int, y: torch.Tensor | None = None) -> torch.Tensor:
    """TensorFlow tutorial: one forward pass, both losses, both updates from the same graph.

    Like its two GradientTapes, D's gradient comes from the D loss and G's from the G loss of the
    same fake batch, and both optimisers step together (G's gradient sees D before its update).
    """
    g_params = ctx.g_params()
    d_params = [p for p in ctx.D.parameters() if p.requires_grad]
    with ctx.autocast():
        fake, y_fake = ctx.generate(len(real))      # (B, C, H, W), (B,) labels or None
        real, fake = ctx.see(real), ctx.see(fake)   # as D sees them (--augment)
        (real_out, real_cls), (fake_out, fake_cls) = ctx.judge(real, y), ctx.judge(fake, y_fake)  # (B,), (B,)
        g_loss = ctx.with_class_loss(ctx.loss.g(fake_out.float(), real_out.float()), (fake_cls, y_fake))
        d_loss = ctx.d_loss(real, fake, real_out, fake_out, step, y, y_fake, real_cls, fake_cls)
    ctx.opt_g.zero_grad(set_to_none=True)
    ctx.opt_d.zero_grad(set_to_none=True)
    scaler = ctx.scaler
    scaler.scale(g_loss).backward(inputs=g_params, retain_graph=True)
    scaler.scale(d_loss).backward(inputs=d_params)
    update_g = (step + 1) % ctx.n_critic == 0
    if update_g:
        scaler.step(ctx.opt_g)
    scaler.step(ctx.opt_d)
    scaler.update()
    return _stats(ctx, d_loss, g_loss, real_out, fake_out)


def alternating(ctx: StepContext, real: torch.Tensor, step: int, y: torch.Tensor | None = None) -> torch.Tensor:
    """PyTorch's DCGAN example: D steps on real + detached fake, then G steps through the updated D.

    The fake batch of D's step is reused for G's step, as the example does. With ``n_critic`` > 1,
    G steps on every n_critic-th batch only.
    """
    scaler = ctx.scaler
    with ctx.autocast():
        fake, y_fake = ctx.generate(len(real))
        real_in, fake_in = ctx.see(real), ctx.see(fake.detach())
        (real_out, real_cls), (fake_out, fake_cls) = ctx.judge(real_in, y), ctx.judge(fake_in, y_fake)
        d_loss = ctx.d_loss(real_in, fake_in, real_out, fake_out, step, y, y_fake, real_cls, fake_cls)
    ctx.opt_d.zero_grad(set_to_none=True)
    scaler.scale(d_loss).backward()
    scaler.step(ctx.opt_d)
    g_loss = torch.zeros((), device=real.device)
    if (step + 1) % ctx.n_critic == 0:
        with ctx.autocast():
            paired = None
            if not ctx.loss.separable:  # G's real partners, through the D it now steps against
                with torch.no_grad():
                    paired = ctx.judge(ctx.see(real), y)[0].float()
            g_out, g_cls = ctx.judge(ctx.see(fake), y_fake)
            g_loss = ctx.with_class_loss(ctx.loss.g(g_out.float(), paired), (g_cls, y_fake))
        ctx.opt_g.zero_grad(set_to_none=True)
        scaler.scale(g_loss).backward(inputs=ctx.g_params())
        scaler.step(ctx.opt_g)
    scaler.update()
    return _stats(ctx, d_loss, g_loss, real_out, fake_out)


def keras_gan(ctx: StepContext, real: torch.Tensor, step: int, y: torch.Tensor | None = None) -> torch.Tensor:
    """Keras-GAN's loop: D's ``train_on_batch`` on a half batch of real images, then again on a
    half batch of fakes, then the combined model (G through the frozen D) on a full batch.

    As Keras-GAN does, the real half batch is drawn with replacement from the whole training set
    (``np.random.randint``), not taken from the epoch's permutation; only its size is used from
    ``real``. Every draw comes from ``ctx.rng``, so a resumed run draws the same images. D stays in
    training mode during G's step (dropout on, batch statistics), only its weights are frozen.
    The reported D loss is Keras-GAN's ``0.5 * (d_loss_real + d_loss_fake)``; the WGAN-GP penalty
    (which needs both kinds of images) is added to the fake half's step.
    """
    scaler = ctx.scaler
    n = len(real)
    half = max(n // 2, 1)
    idx = torch.randint(0, len(ctx.images), (half,), device=ctx.images.device, generator=ctx.rng)
    real_half = to_unit(ctx.images[idx])                        # (B/2, C, H, W)
    rt, ft = ctx.targets(half, half)

    with ctx.autocast():
        real_half = ctx.see(real_half)
        real_out = ctx.D(real_half)                             # (B/2,)
        d_real = ctx.add_penalties(ctx.loss.d_real(real_out.float(), rt), real_half, None, step)
    ctx.opt_d.zero_grad(set_to_none=True)
    scaler.scale(d_real).backward()
    scaler.step(ctx.opt_d)
    scaler.update()  # GradScaler allows one step per optimizer between updates

    with torch.no_grad(), ctx.autocast():                       # generator.predict(noise)
        fake_half = ctx.G(ctx.noise(half))                       # (B/2, C, H, W)
    with ctx.autocast():
        fake_half = ctx.see(fake_half)
        fake_out = ctx.D(fake_half)                             # (B/2,)
        d_fake = ctx.add_penalties(ctx.loss.d_fake(fake_out.float(), ft), None, fake_half, step)
        if ctx.gp_weight:
            d_fake = d_fake + ctx.gp_weight * gradient_penalty(
                ctx.D, real_half, fake_half.to(real_half.dtype), ctx.rng).float()
    ctx.opt_d.zero_grad(set_to_none=True)
    scaler.scale(d_fake).backward()
    scaler.step(ctx.opt_d)
    scaler.update()
    d_loss = 0.5 * (d_real.detach() + d_fake.detach())

    g_loss = torch.zeros((), device=real.device)
    if (step + 1) % ctx.n_critic == 0:
        with ctx.autocast():
            g_out = ctx.D(ctx.see(ctx.G(ctx.noise(n))))          # (B,) through the frozen D
            g_loss = ctx.loss.g(g_out.float())
        ctx.opt_g.zero_grad(set_to_none=True)
        scaler.scale(g_loss).backward(inputs=ctx.g_params())
        scaler.step(ctx.opt_g)
        scaler.update()
    return _stats(ctx, d_loss, g_loss, real_out, fake_out)


@dataclass(frozen=True)
class Update:
    run: Callable[..., torch.Tensor]  # (ctx, real, step, y=None) -> stats
    not_graphed: str | None = None  # why one CUDA graph cannot hold a step, or None when it can
    no_cond: str | None = None      # why it cannot train a class-conditional pair, or None when it can


def run_update(update: Update, ctx: StepContext, real: torch.Tensor, step: int,
               y: torch.Tensor | None = None) -> torch.Tensor:
    """One step of ``update``; labels are passed only under --cond, so a scheme written as
    ``run(ctx, real, step)`` (an unconditional one) is called exactly as before."""
    return update.run(ctx, real, step) if y is None else update.run(ctx, real, step, y)


UPDATES: dict[str, Update] = {
    "simultaneous": Update(simultaneous),
    "alternating": Update(alternating),
    "keras-gan": Update(keras_gan, "the keras-gan update (three optimiser steps on half and full "
                                   "batches) is not graphed",
                        "the keras-gan update resamples real images without their labels; use --update "
                        "simultaneous or alternating"),
}
