"""Using a trained generator: seeded noise to uint8 images (grids, arrays, folders), and D's decision."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..checkpoint import d_output
from ..errors import DcganError
from ..fsutil import atomic_open
from ..images import load_image, make_grid, png_bytes, save_png, to_uint8, to_unit
from ..models.lean import default_labels
from . import classes as _classes
from .loading import load_discriminator, load_generator


NOISE_CHUNK = 1024  # noise is drawn in chunks of this size whatever the batch size
DISCRIMINATE_BATCH = 256  # images through D at once


@torch.no_grad()
def render(G: nn.Module, z: torch.Tensor, batch_size: int = 500,
           y: torch.Tensor | int | None = None) -> Iterator[torch.Tensor]:
    """Yield uint8 (b, C, H, W) images of noise ``z`` (N, dim) through G, ``batch_size`` at a time:
    the one place noise becomes images (sampling, evaluation, latent walks, training's checks).
    ``y``: a conditional G's labels, (N,) or one label for all (None: G's own, the classes in the
    data's shares), or (N, K) float class weights (a walk between classes: latent.class_path)."""
    device = next(G.parameters()).device
    if isinstance(y, int):
        y = torch.full((len(z),), y, dtype=torch.int64)
    for i, part in enumerate(z.split(batch_size)):
        if y is None:
            yield to_uint8(G(part.to(device)))
        else:
            yield to_uint8(G(part.to(device), y[i * batch_size:(i + 1) * batch_size].to(device)))


def generate(G: nn.Module, n: int, seed: int = 0, batch_size: int = 500,
             classes: list[int] | None = None) -> Iterator[torch.Tensor]:
    """Yield uint8 (b, C, H, W) batches of ``n`` images from one seeded noise stream; with
    ``classes`` (labels of a conditional G), ``n`` images of each, class after class, every class
    from the same noise (so image k of a class is the same whichever other classes are asked);
    without, a conditional G's image i is of the class ``models.lean.prior_labels`` gives it, so the
    images follow the classes' (or --clusters' clusters') shares of the training data (class i mod K
    for a run saved before runs recorded the shares).

    The noise is drawn in fixed chunks, so image k of ``seed`` is the same image whatever the
    batch size, and memory stays bounded however large ``n`` is.
    """
    if isinstance(classes, int):
        classes = [classes]
    k = int(getattr(G, "classes", 0) or 0)
    if classes is not None and not all(isinstance(c, int) and not isinstance(c, bool) and 0 <= c < k
                                       for c in classes):
        raise DcganError(f"classes {classes!r}: " + (f"give labels 0-{k - 1} of this conditional generator"
                         if k else "this generator was trained without --cond and takes no class"))
    for c in classes if classes is not None else [None]:
        g = torch.Generator().manual_seed(seed)
        for start in range(0, n, NOISE_CHUNK):
            z = torch.randn(min(NOISE_CHUNK, n - start), G.noise_dim, generator=g)
            # no class asked of a conditional G: image i follows the classes' shares of the data
            # (models.lean.prior_labels; metrics.perclass), or asks for class i mod K (no shares saved)
            y = c if c is not None or not k else default_labels(start, len(z), k, getattr(G, "class_prior", None))
            yield from render(G, z, batch_size, y)


def sample(target: str | Path, n: int = 64, seed: int = 0, out: str | Path | None = None,
           device: str = "cpu", batch_size: int = 500, bn: str | None = None,
           ema: bool | None = None, classes: Any = None) -> Path | torch.Tensor:
    """Sample ``n`` images. ``out`` ending in .png: a grid; .npz: a uint8 array (streamed, bounded
    memory); a folder (trailing slash or existing dir): one PNG each; None: return the tensor.

    ``classes`` (a conditional generator's: a label, a name, "all", or a list; see classes.py):
    ``n`` images of each, class after class, the same noise in each; a grid has one row per class."""
    if n < 1:
        raise DcganError("--n must be at least 1")
    if batch_size < 1:
        raise DcganError(f"--batch-size {batch_size}: give at least 1 image per batch")
    G, meta = load_generator(target, device, bn, ema)
    ids = _classes.resolve(classes, meta)
    classes_asked = len(ids) if ids else 1  # n images of each class asked
    _check_room(n, meta["arch"], out, classes_asked)
    if out is None:
        return torch.cat(list(generate(G, n, seed, batch_size, ids)))
    out_s = str(out)
    out = Path(out)
    if out_s.endswith(".npz"):
        _write_npz(out, generate(G, n, seed, batch_size, ids), n * classes_asked)
    elif out_s.endswith(".png"):
        imgs = torch.cat(list(generate(G, n, seed, batch_size, ids)))
        save_png(make_grid(imgs, nrow=n if ids and len(ids) > 1 else None), out)
    elif out_s.endswith(("/", "\\")) or out.is_dir() or not out.suffix:
        k = 0
        for batch in generate(G, n, seed, batch_size, ids):
            for img in batch:
                save_png(make_grid(img[None], nrow=1, padding=0), out / f"{k:06d}.png")
                k += 1
    else:
        raise DcganError(f"--out {out}: use a .png (grid), a .npz (array) or a folder/ (one PNG each)")
    return out


PNG_MIN_BYTES = 100  # the least one PNG file of an image takes on disk (header, IDAT, IEND, entry)


def _check_room(n: int, arch: dict, out: str | Path | None, classes: int = 1) -> None:
    """Refuse, before drawing one image, ``n`` images (of each of ``classes`` classes) that cannot
    fit: in memory (a returned tensor, a grid PNG: ``limits.MAX_IMAGES_BYTES``) or on the disk (an
    .npz, a folder, streamed). The message quotes the --n the user gave."""
    import shutil

    from ..limits import MAX_IMAGES_BYTES, mib

    per_image = arch["channels"] * arch["resolution"] ** 2
    total = n * classes
    flag = f"--n {n}" + (f" of each of {classes} classes" if classes > 1 else "")
    if out is None or str(out).endswith(".png"):
        if total * per_image > MAX_IMAGES_BYTES:
            raise DcganError(f"{flag}: {total:,} images take {mib(total * per_image)}, more than dcgan "
                             f"holds at once ({mib(MAX_IMAGES_BYTES)}); give at most --n "
                             f"{max(MAX_IMAGES_BYTES // per_image // classes, 0):,}, or --out a folder/ "
                             "or an .npz")
        return
    need = total * (per_image if str(out).endswith(".npz") else PNG_MIN_BYTES)
    where = Path(out).resolve()
    while not where.exists():
        where = where.parent
    free = shutil.disk_usage(where).free
    if need > free:
        raise DcganError(f"{flag}: the images need at least {mib(need)} on disk and {where} has "
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
                 device: str = "cpu", classes: Any = None) -> list[dict]:
    """The tutorials' "decision": D's logit and probability of being real, per image: image files,
    or a tensor of them (uint8 in [0, 255], or float in [-1, 1]; (N, C, H, W) or one (C, H, W)).

    A class-conditional D judges every image as the one class ``classes`` names (a projection D
    needs it); an AC-GAN D also says which class it reads (``read_as``) and, given a class, the
    probability it gives that class (``p_class``)."""
    D, meta = load_discriminator(target, device)
    arch = meta["arch"]
    cond, known = arch.get("cond", "none"), _classes.names(meta)
    c = _classes.label(_classes.resolve(classes, meta))
    if cond == "projection" and c is None:
        raise DcganError("this discriminator judges an image as a class (--cond projection): give "
                         f"--class (a label 0-{len(known) - 1} or a class name)")
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
        def judge(part: torch.Tensor) -> torch.Tensor:
            if cond != "projection":
                return D(part.to(dev)).float().cpu()
            y = torch.full((len(part),), c, dtype=torch.int64, device=dev)
            return D(part.to(dev), y).float().cpu()

        out = torch.cat([judge(part) for part in x.split(chunk)])  # acgan: (N, 1 + K), chunks in order
    logits, cls = (out[:, 0], out[:, 1:].softmax(1)) if cond == "acgan" else (out, None)
    probability = d_output(meta) == "probability"  # recorded with the run (checkpoint.d_output)
    groups = [names[i:i + pack] for i in range(0, len(names), pack)]
    rows = [{"image": g[0] if pack == 1 else " + ".join(g), "logit": float(v),
             "p_real": float(torch.sigmoid(v)) if probability else None}
            for g, v in zip(groups, logits)]
    for i, row in enumerate(rows):
        if c is not None:
            row["class"] = known[c]
        if cls is not None:
            row["read_as"] = known[int(cls[i].argmax())]
            if c is not None:
                row["p_class"] = float(cls[i, c])
    return rows


__all__ = ["load_generator", "load_discriminator", "generate", "sample", "discriminate", "png_bytes"]
