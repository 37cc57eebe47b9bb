"""Differentiable augmentation of every image D sees, real and fake (``--augment POLICY``).

DiffAugment (Zhao et al., 2020): the same random transforms on real and generated batches, applied
inside the graph so G's gradient flows through them, let D train on small data without memorising
it and without the transforms leaking into G's samples. Every draw comes from the run's generator
(the StepContext's ``rng``), so a resumed run draws the same transforms. Images are in [-1, 1];
regions a transform empties are filled with -1 (the black background of the digit data sets).

* ``translation``: shift by up to 1/8 of the size in each direction (whole pixels);
* ``cutout``: blank one square of half the size at a random place;
* ``color``: random brightness and contrast, and saturation for RGB images.
"""

from __future__ import annotations

import torch

TRANSLATE_RATIO = 0.125
CUTOUT_RATIO = 0.5
FILL = -1.0


def _rand(n: int, g: torch.Generator, x: torch.Tensor) -> torch.Tensor:
    return torch.rand(n, 1, 1, 1, device=x.device, generator=g, dtype=x.dtype)


def color(x: torch.Tensor, g: torch.Generator) -> torch.Tensor:
    n = x.shape[0]
    x = x + (_rand(n, g, x) - 0.5)                                # brightness, in [-1, 1] units
    if x.shape[1] == 3:
        mean = x.mean(dim=1, keepdim=True)
        x = (x - mean) * (_rand(n, g, x) * 2) + mean              # saturation
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    return (x - mean) * (_rand(n, g, x) + 0.5) + mean             # contrast


def translation(x: torch.Tensor, g: torch.Generator, ratio: float = TRANSLATE_RATIO) -> torch.Tensor:
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    dy = torch.randint(-sh, sh + 1, (n, 1, 1), device=x.device, generator=g)
    dx = torch.randint(-sw, sw + 1, (n, 1, 1), device=x.device, generator=g)
    rows = torch.arange(h, device=x.device).view(1, h, 1) + dy    # (N, H, 1): source row of each pixel
    cols = torch.arange(w, device=x.device).view(1, 1, w) + dx    # (N, 1, W)
    padded = torch.nn.functional.pad(x, (1, 1, 1, 1), value=FILL)  # out-of-range reads land on the border
    rows = (rows + 1).clamp(0, h + 1).expand(n, h, w)
    cols = (cols + 1).clamp(0, w + 1).expand(n, h, w)
    idx = (rows * (w + 2) + cols).view(n, 1, h * w).expand(-1, x.shape[1], -1)
    return padded.flatten(2).gather(2, idx).view_as(x)


def cutout(x: torch.Tensor, g: torch.Generator, ratio: float = CUTOUT_RATIO) -> torch.Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    # the square's top-left corner; it may hang over an edge, as DiffAugment's centred boxes do
    y0 = torch.randint(-(ch // 2), h - ch // 2 + 1, (n, 1, 1), device=x.device, generator=g)
    x0 = torch.randint(-(cw // 2), w - cw // 2 + 1, (n, 1, 1), device=x.device, generator=g)
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    inside = (ys >= y0) & (ys < y0 + ch) & (xs >= x0) & (xs < x0 + cw)   # (N, H, W)
    return torch.where(inside.unsqueeze(1), torch.full_like(x, FILL), x)


TRANSFORMS = {"color": color, "translation": translation, "cutout": cutout}


def augment(x: torch.Tensor, policy: tuple[str, ...], g: torch.Generator) -> torch.Tensor:
    """``x`` (N, C, H, W) through each transform of ``policy`` in order. Config writes every policy
    in one order, translation, cutout, color (``config.AUGMENTS``); DiffAugment's own is color
    first, so a colour change here also shifts the blanked square."""
    for name in policy:
        x = TRANSFORMS[name](x, g)
    return x
