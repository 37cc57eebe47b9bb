"""Walking the generator's noise space: seeds as vectors, interpolation, vector arithmetic, directions.

A seed ``s`` names the noise vector ``torch.randn(1, dim, generator=Generator().manual_seed(s))``,
which is also the first image of ``dcgan sample --seed s``, so every picture here can be made again.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import DcganError
from ..fsutil import atomic_write
from ..images import make_grid, save_png
from ..limits import MAX_FRAMES
from . import classes as _classes
from . import sampling
from .loading import ExportedGenerator, load_generator

METHODS = ("slerp", "lerp")
GIF_MS = 80          # per interpolation frame
GIF_SCALE = 4        # 28 px digits are too small to look at; nearest-neighbour upscale
STRIP_SCALE = 2


MAX_SEEDS = 10_000  # a seed list draws one image each: refuse a typo that asks for millions


def parse_seeds(text: str, flag: str = "--seeds", minimum: int = 1) -> list[int]:
    """``1,2,3`` or ranges as stylegan2-ada writes them, ``0-35,40`` (both ends included)."""
    seeds: list[int] = []
    try:
        for part in str(text).replace(" ", "").split(","):
            if not part:
                continue
            lo, dash, hi = part.partition("-") if not part.startswith("-") else (part, "", "")
            if dash:
                a, b = int(lo), int(hi)
                if b < a or b - a + 1 + len(seeds) > MAX_SEEDS:
                    raise DcganError(f"{flag} {part}: give a range low-high with at most {MAX_SEEDS} seeds")
                seeds.extend(range(a, b + 1))
            else:
                seeds.append(int(part))
    except ValueError:
        raise DcganError(f"{flag} takes comma-separated integers or ranges, e.g. 1,2,3 or 0-35,40; "
                         f"got {text!r}") from None
    if len(seeds) < minimum:
        raise DcganError(f"{flag} needs at least {minimum} seed(s), e.g. {flag} 1,2,3")
    if len(seeds) > MAX_SEEDS:
        raise DcganError(f"{flag}: {len(seeds)} seeds; give at most {MAX_SEEDS}")
    return seeds


def seed_z(seed: int, dim: int) -> torch.Tensor:
    """The noise vector (dim,) a seed names."""
    return torch.randn(1, dim, generator=torch.Generator().manual_seed(int(seed)))[0]


def seeds_z(seeds: list[int], dim: int) -> torch.Tensor:
    return torch.stack([seed_z(s, dim) for s in seeds])  # (n, dim)


def lerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    if t == 1:  # the end point exactly (a + (b - a) misses b by rounding)
        return b.clone()
    return a + (b - a) * t


def slerp(a: torch.Tensor, b: torch.Tensor, t: float) -> torch.Tensor:
    """Along the great circle from a to b, scaling the norm linearly: Gaussian noise lives near a
    sphere, and a straight line between two samples dips through its low-density inside. The end
    points are exact: t=0 is a and t=1 is b, bit for bit, so a walk ends on its seed's own image."""
    if t == 0 or t == 1:
        return (a if t == 0 else b).clone()
    na, nb = a.norm(), b.norm()
    ua, ub = a / na, b / nb
    omega = torch.arccos((ua * ub).sum().clamp(-1.0, 1.0))
    if omega.abs() < 1e-6:  # (nearly) the same direction: slerp degenerates to lerp
        return lerp(a, b, t)
    so = torch.sin(omega)
    u = (torch.sin((1 - t) * omega) / so) * ua + (torch.sin(t * omega) / so) * ub
    return u * lerp(na, nb, t)


def path(zs: torch.Tensor, steps: int, method: str = "slerp") -> torch.Tensor:
    """``steps`` frames from each z to the next (the last z included once): ((n-1)*steps+1, dim)."""
    if method not in METHODS:
        raise DcganError(f"unknown --method {method!r}; choose slerp or lerp")
    if steps < 1:
        raise DcganError("--steps must be at least 1")
    if (len(zs) - 1) * steps + 1 > MAX_FRAMES:
        raise DcganError(f"--steps {steps} with {len(zs)} seeds makes {(len(zs) - 1) * steps + 1:,} "
                         f"frames; a walk holds at most {MAX_FRAMES:,} (give fewer --steps or seeds)")
    mix = slerp if method == "slerp" else lerp
    frames = [mix(a, b, i / steps) for a, b in zip(zs[:-1], zs[1:]) for i in range(steps)]
    return torch.stack([*frames, zs[-1]])


def render(G: nn.Module, z: torch.Tensor, batch_size: int = 256,
           y: int | torch.Tensor | None = None) -> torch.Tensor:
    """Noise (n, dim) -> uint8 images (n, C, H, W), in eval mode on G's device; ``y`` one label,
    (n,) labels or (n, K) class weights of a conditional G (``class_path``)."""
    return torch.cat(list(sampling.render(G, z, batch_size, y)))


def class_mix(a: int, b: int, t: float, k: int) -> torch.Tensor:
    """The class weights (K,) a fraction ``t`` of the way from class ``a`` to class ``b``: 1 - t at
    a, t at b. G's conditional BatchNorm turns them into t emb[b] + (1 - t) emb[a]; a one-hot row
    draws exactly what the integer label draws (models.lean.ClassBatchNorm2d)."""
    w = torch.zeros(k)
    w[a] += 1 - t
    w[b] += t  # a == b: all weight on the one class
    return w


def class_path(a: int, b: int, steps: int, k: int) -> torch.Tensor:
    """``steps`` + 1 class-weight rows (steps+1, K) from class ``a`` to class ``b``, t = 0,
    1/steps, ..., 1: the first and last frames are classes a and b themselves."""
    if steps < 1:
        raise DcganError("--steps must be at least 1")
    return torch.stack([class_mix(a, b, i / steps, k) for i in range(steps + 1)])


def _class_walk(G: nn.Module, meta: dict, seeds: list[int], steps: int, classes: Any,
                to_class: Any) -> torch.Tensor:
    """(n seeds, steps+1, C, H, W): each seed's noise held fixed while the class input moves from
    ``classes`` to ``to_class``."""
    b = _classes.label(_classes.resolve(to_class, meta, "--to-class"), "--to-class")
    a = _classes.label(_classes.resolve(classes, meta))
    if a is None:
        raise DcganError(f"--to-class {to_class}: give --class too, the class the walk starts from")
    if isinstance(G, ExportedGenerator):
        raise DcganError("--to-class: a TorchScript or ONNX export takes integer labels only; walk "
                         "between classes with the run, a checkpoint or a .safetensors export")
    n = len(seeds) * (steps + 1)
    if n > MAX_FRAMES:
        raise DcganError(f"--steps {steps} with {len(seeds)} seeds makes {n:,} frames; a walk holds "
                         f"at most {MAX_FRAMES:,} (give fewer --steps or seeds)")
    w = class_path(a, b, steps, G.classes)                                  # (steps+1, K)
    z = seeds_z(seeds, G.noise_dim).repeat_interleave(steps + 1, 0)         # (n, dim)
    imgs = render(G, z, y=w.repeat(len(seeds), 1))
    return imgs.view(len(seeds), steps + 1, *imgs.shape[1:])


def _frame(img: torch.Tensor, scale: int):
    from PIL import Image

    arr = img.permute(1, 2, 0).numpy()
    pil = Image.fromarray(arr[..., 0] if arr.shape[-1] == 1 else arr)
    return pil.resize((pil.width * scale, pil.height * scale), Image.NEAREST)


def interpolate(target: str | Path, seeds: list[int], steps: int = 16, method: str = "slerp",
                out: str | Path = "walk.gif", device: str = "cpu", classes: Any = None,
                to_class: Any = None) -> Path:
    """A walk through the seeds' noise vectors: an animated GIF (there and back) or a PNG strip
    (one row per pair of seeds); a conditional generator's at the one class ``classes`` names.

    With ``to_class``: a walk between two classes instead, at fixed noise. Each seed's noise stays
    put while G's class input moves linearly from ``classes`` to ``to_class`` (``class_path``;
    ``method`` is not used): a PNG strip has one row per seed, a GIF shows every seed side by side."""
    if len(seeds) < (1 if to_class is not None else 2):
        raise DcganError("--seeds needs at least two seeds to interpolate between, e.g. --seeds 1,2,3")
    out = Path(out)
    if out.suffix.lower() not in (".gif", ".png"):
        raise DcganError(f"--out {out}: use a .gif (animation) or a .png (strip of frames)")
    G, meta = load_generator(target, device)
    if to_class is not None:
        walk = _class_walk(G, meta, seeds, steps, classes, to_class)        # (seeds, steps+1, C, H, W)
        if out.suffix.lower() == ".png":
            return save_png(make_grid(walk.flatten(0, 1), nrow=steps + 1), out, scale=STRIP_SCALE)
        imgs = walk[0] if len(seeds) == 1 else torch.stack(
            [torch.from_numpy(make_grid(walk[:, i], nrow=len(seeds))).permute(2, 0, 1) for i in range(steps + 1)])
    else:
        y = _classes.label(_classes.resolve(classes, meta))
        imgs = render(G, path(seeds_z(seeds, G.noise_dim), steps, method), y=y)
        if out.suffix.lower() == ".png":
            # one row per segment, steps+1 frames each (the end of one row starts the next)
            rows = [imgs[k * steps:(k + 1) * steps + 1] for k in range(len(seeds) - 1)]
            return save_png(make_grid(torch.cat(rows), nrow=steps + 1), out, scale=STRIP_SCALE)
    frames = [_frame(im, GIF_SCALE).convert("RGB") for im in imgs]
    frames += frames[-2:0:-1]  # and back, so the loop has no jump
    buf = io.BytesIO()
    frames[0].save(buf, format="GIF", save_all=True, append_images=frames[1:], duration=GIF_MS, loop=0)
    return atomic_write(out, buf.getvalue())


def arithmetic_z(a: list[int], b: list[int], c: list[int], dim: int) -> torch.Tensor:
    """mean(z_a) - mean(z_b) + mean(z_c), the DCGAN paper's vector arithmetic on averaged noise."""
    return seeds_z(a, dim).mean(0) - seeds_z(b, dim).mean(0) + seeds_z(c, dim).mean(0)


ARITH_SCALE, ARITH_PAD, ARITH_LABEL_W = 3, 6, 28   # the arithmetic picture's layout (pixels)


def arithmetic_result_x(resolution: int, groups: list[list[int]]) -> int:
    """Where the result column of the arithmetic picture starts (its "=" sign; the result, its box
    and, for a conditional G, its class name lie right of it)."""
    size = resolution * ARITH_SCALE
    return ARITH_LABEL_W + (max(len(g) for g in groups) + 1) * (size + ARITH_PAD) + 3 * ARITH_PAD


def arithmetic(target: str | Path, a: list[int], b: list[int], c: list[int],
               out: str | Path = "arithmetic.png", device: str = "cpu", classes: Any = None,
               to_class: Any = None) -> Path:
    """A picture of the sum: one row per group (its seeds, then the image of its mean noise, as the
    paper shows them), and the result on the right; a conditional generator's at the one class
    ``classes`` names. With ``to_class``, the result is drawn at that class instead: the style the
    sum holds (noise is what a conditional G keeps across classes), as another class."""
    from PIL import Image, ImageDraw

    out = Path(out)
    if out.suffix.lower() != ".png":
        raise DcganError(f"--out {out}: arithmetic writes a .png")
    G, meta = load_generator(target, device)
    cls = _classes.label(_classes.resolve(classes, meta))
    to = cls
    if to_class is not None:
        to = _classes.label(_classes.resolve(to_class, meta, "--to-class"), "--to-class")
        if cls is None:
            raise DcganError(f"--to-class {to_class}: give --class too, the class the seeds are drawn at")
    dim = G.noise_dim
    groups = [a, b, c]
    means = torch.stack([seeds_z(g, dim).mean(0) for g in groups])
    result = render(G, (means[0] - means[1] + means[2])[None], y=to)[0]
    scale, pad, label_w = ARITH_SCALE, ARITH_PAD, ARITH_LABEL_W
    size = G.resolution * scale
    width_n = max(len(g) for g in groups)
    x_res = arithmetic_result_x(G.resolution, groups) + label_w   # the result's left edge
    W = x_res + size + pad
    H = 3 * (size + pad) + pad + 16
    canvas = Image.new("RGB", (W, H), "white")
    draw = ImageDraw.Draw(canvas)
    for r, (name, sign, group) in enumerate(zip("abc", ("", "-", "+"), groups)):
        y = pad + r * (size + pad)
        draw.text((4, y + size // 2 - 6), f"{sign}{name}", fill="black")
        imgs = render(G, seeds_z(group, dim), y=cls)
        for k, im in enumerate(imgs):
            canvas.paste(_frame(im, scale).convert("RGB"), (label_w + k * (size + pad), y))
        x_mean = label_w + width_n * (size + pad) + pad
        canvas.paste(_frame(render(G, means[r][None], y=cls)[0], scale).convert("RGB"), (x_mean, y))
        draw.rectangle([x_mean - 2, y - 2, x_mean + size + 1, y + size + 1], outline="#888")
    y_res = pad + (size + pad)
    draw.text((x_res - label_w + 6, y_res + size // 2 - 6), "=", fill="black")
    canvas.paste(_frame(result, scale).convert("RGB"), (x_res, y_res))
    draw.rectangle([x_res - 2, y_res - 2, x_res + size + 1, y_res + size + 1], outline="#c00")
    if to is not None:  # the class the result is drawn at, under it
        draw.text((x_res, y_res + size + 4), f"class {_classes.names(meta)[to]}"[:size // 6], fill="#c00")
    draw.text((label_w, H - 16), "seeds, then the image of their mean noise (boxed); result in red",
              fill="#444")
    buf = io.BytesIO()
    canvas.save(buf, format="PNG")
    return atomic_write(out, buf.getvalue())


def directions(G: nn.Module, k: int = 4) -> torch.Tensor:
    """``k`` unit directions in noise space that G's first layer amplifies most: the top singular
    vectors of its weight over the noise dimension (a cheap, data-free relative of GANSpace's PCA).
    Returns (k, dim)."""
    dim = G.noise_dim
    for module in G.modules():
        if isinstance(module, nn.Linear) and module.in_features == dim:
            w = module.weight.detach().float().cpu()          # (out, dim)
            break
        if isinstance(module, nn.ConvTranspose2d) and module.in_channels == dim:
            w = module.weight.detach().float().cpu().reshape(dim, -1).T  # (C*k*k, dim)
            break
    else:  # no recognisable first layer: fixed random orthonormal directions
        w = torch.randn(dim, dim, generator=torch.Generator().manual_seed(0))
    _, _, vh = torch.linalg.svd(w, full_matrices=False)
    dirs = vh[:k]                                              # (k, dim), orthonormal rows
    # a sign convention, so the same weights always give the same slider direction
    signs = torch.sign(dirs[torch.arange(len(dirs)), dirs.abs().argmax(1)])
    return dirs * signs[:, None]


def as_png(img: torch.Tensor, scale: int = 1) -> bytes:
    """uint8 (C, H, W) -> PNG bytes."""
    buf = io.BytesIO()
    _frame(img, scale).save(buf, format="PNG")
    return buf.getvalue()


__all__ = ["parse_seeds", "seed_z", "seeds_z", "lerp", "slerp", "path", "render", "class_mix", "class_path", "interpolate",
           "arithmetic", "arithmetic_z", "arithmetic_result_x", "directions", "as_png", "METHODS"]
