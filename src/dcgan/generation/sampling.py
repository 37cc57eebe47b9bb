"""Using a trained generator: seeded noise to uint8 images (grids, arrays, folders), and D's decision."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..checkpoint import d_output
from ..errors import DcganError
from ..fsutil import atomic_open
from ..images import load_image, make_grid, png_bytes, save_png, to_uint8, to_unit
from .loading import load_discriminator, load_generator


NOISE_CHUNK = 1024  # noise is drawn in chunks of this size whatever the batch size
DISCRIMINATE_BATCH = 256  # images through D at once


@torch.no_grad()
def render(G: nn.Module, z: torch.Tensor, batch_size: int = 500) -> Iterator[torch.Tensor]:
    """Yield uint8 (b, C, H, W) images of noise ``z`` (N, dim) through G, ``batch_size`` at a time:
    the one place noise becomes images (sampling, evaluation, latent walks, training's checks)."""
    device = next(G.parameters()).device
    for part in z.split(batch_size):
        yield to_uint8(G(part.to(device)))


def generate(G: nn.Module, n: int, seed: int = 0, batch_size: int = 500) -> Iterator[torch.Tensor]:
    """Yield uint8 (b, C, H, W) batches of ``n`` images from one seeded noise stream.

    The noise is drawn in fixed chunks, so image k of ``seed`` is the same image whatever the
    batch size, and memory stays bounded however large ``n`` is.
    """
    g = torch.Generator().manual_seed(seed)
    for start in range(0, n, NOISE_CHUNK):
        z = torch.randn(min(NOISE_CHUNK, n - start), G.noise_dim, generator=g)
        yield from render(G, z, batch_size)


def sample(target: str | Path, n: int = 64, seed: int = 0, out: str | Path | None = None,
           device: str = "cpu", batch_size: int = 500, bn: str | None = None,
           ema: bool | None = None) -> Path | torch.Tensor:
    """Sample ``n`` images. ``out`` ending in .png: a grid; .npz: a uint8 array (streamed, bounded
    memory); a folder (trailing slash or existing dir): one PNG each; None: return the tensor."""
    if n < 1:
        raise DcganError("--n must be at least 1")
    if batch_size < 1:
        raise DcganError(f"--batch-size {batch_size}: give at least 1 image per batch")
    G, meta = load_generator(target, device, bn, ema)
    _check_room(n, meta["arch"], out)
    if out is None:
        return torch.cat(list(generate(G, n, seed, batch_size)))
    out_s = str(out)
    out = Path(out)
    if out_s.endswith(".npz"):
        _write_npz(out, generate(G, n, seed, batch_size), n)
    elif out_s.endswith(".png"):
        imgs = torch.cat(list(generate(G, n, seed, batch_size)))
        save_png(make_grid(imgs), out)
    elif out_s.endswith(("/", "\\")) or out.is_dir() or not out.suffix:
        k = 0
        for batch in generate(G, n, seed, batch_size):
            for img in batch:
                save_png(make_grid(img[None], nrow=1, padding=0), out / f"{k:06d}.png")
                k += 1
    else:
        raise DcganError(f"--out {out}: use a .png (grid), a .npz (array) or a folder/ (one PNG each)")
    return out


PNG_MIN_BYTES = 100  # the least one PNG file of an image takes on disk (header, IDAT, IEND, entry)


def _check_room(n: int, arch: dict, out: str | Path | None) -> None:
    """Refuse, before drawing one image, an ``n`` whose images cannot fit: in memory (a returned
    tensor, a grid PNG: ``limits.MAX_IMAGES_BYTES``) or on the disk (an .npz, a folder, streamed)."""
    import shutil

    from ..limits import MAX_IMAGES_BYTES, mib

    per_image = arch["channels"] * arch["resolution"] ** 2
    if out is None or str(out).endswith(".png"):
        if n * per_image > MAX_IMAGES_BYTES:
            raise DcganError(f"--n {n}: {n:,} images take {mib(n * per_image)}, more than dcgan holds "
                             f"at once ({mib(MAX_IMAGES_BYTES)}); give at most "
                             f"{MAX_IMAGES_BYTES // per_image:,}, or --out a folder/ or an .npz")
        return
    need = n * (per_image if str(out).endswith(".npz") else PNG_MIN_BYTES)
    where = Path(out).resolve()
    while not where.exists():
        where = where.parent
    free = shutil.disk_usage(where).free
    if need > free:
        raise DcganError(f"--n {n}: the images need at least {mib(need)} on disk and {where} has "
                         f"{mib(free)} free; give a smaller --n or --out another disk")


def _write_npz(path: Path, batches, n: int) -> None:
    """Stream batches into an uncompressed .npz (one 'images' member) without holding all of them."""
    import zipfile

    first = next(batches)
    shape = (n, *first.shape[1:])
    header = {"descr": np.lib.format.dtype_to_descr(np.dtype(np.uint8)), "fortran_order": False,
              "shape": shape}
    with atomic_open(path) as fh, zipfile.ZipFile(fh, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        with zf.open("images.npy", "w", force_zip64=True) as member:
            np.lib.format.write_array_header_2_0(member, header)
            member.write(first.numpy().tobytes())
            for batch in batches:
                member.write(batch.numpy().tobytes())


@torch.no_grad()
def discriminate(target: str | Path, images: list[str | Path] | torch.Tensor,
                 device: str = "cpu") -> list[dict]:
    """The tutorials' "decision": D's logit and probability of being real, per image: image files,
    or a tensor of them (uint8 in [0, 255], or float in [-1, 1]; (N, C, H, W) or one (C, H, W))."""
    D, meta = load_discriminator(target, device)
    arch = meta["arch"]
    dev = next(D.parameters()).device
    shape = (arch["channels"], arch["resolution"], arch["resolution"])
    if isinstance(images, torch.Tensor):
        x = images[None] if images.ndim == 3 else images
        if x.ndim != 4 or tuple(x.shape[1:]) != shape:
            raise DcganError(f"images are {tuple(images.shape)} but this discriminator takes (N, "
                             f"{', '.join(map(str, shape))}) tensors; resize them first")
        x = to_unit(x) if x.dtype == torch.uint8 else x.float()
        if x.numel() and (x.min() < -1.0001 or x.max() > 1.0001):
            raise DcganError("float images must be in [-1, 1] (the generators' range); give uint8 "
                             "images in [0, 255] or scale them")
        names = [f"tensor[{i}]" for i in range(len(x))]
    elif isinstance(images, (list, tuple)) and all(isinstance(p, (str, Path)) for p in images):
        _check_room(len(images), arch, None)
        x = to_unit(torch.stack([load_image(p, *shape[:2]) for p in images])) if images else \
            torch.zeros(0, *shape)
        names = [str(p) for p in images]
    else:
        raise DcganError(f"discriminate takes image files or a tensor of images, not "
                         f"{type(images).__name__}")
    pack = int(arch.get("pack", 1))
    if not len(x) or len(x) % pack:
        raise DcganError(f"this discriminator (--pack {pack}) judges packs of {pack} images; give a "
                         f"multiple of {pack} images (got {len(x)})")
    chunk = pack * max(1, DISCRIMINATE_BATCH // pack)  # bounded activations, whole packs
    with torch.no_grad():
        logits = torch.cat([D(part.to(dev)).float().cpu() for part in x.split(chunk)])
    probability = d_output(meta) == "probability"  # recorded with the run (checkpoint.d_output)
    groups = [names[i:i + pack] for i in range(0, len(names), pack)]
    return [{"image": g[0] if pack == 1 else " + ".join(g), "logit": float(v),
             "p_real": float(torch.sigmoid(v)) if probability else None}
            for g, v in zip(groups, logits)]


__all__ = ["load_generator", "load_discriminator", "generate", "sample", "discriminate", "png_bytes"]
