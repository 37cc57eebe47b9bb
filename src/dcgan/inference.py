"""Using a trained generator: rebuild it from a checkpoint alone, sample images, ask D for decisions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from . import bnstats
from . import checkpoint as ckpt
from .devices import pick_device
from .errors import DcganError
from .fsutil import atomic_open
from .images import load_image, make_grid, png_bytes, save_png, to_uint8, to_unit
from .models import build_discriminator, build_generator


def load_generator(target: str | Path, device: str = "cpu", bn: str | None = None,
                   ema: bool | None = None) -> tuple[nn.Module, dict[str, Any]]:
    """A run folder, checkpoint folder or generator .safetensors -> (G in eval mode, metadata).

    ``bn``: the BatchNorm statistics to sample with (see bnstats.py): ``precise`` re-estimates them
    for these weights, ``running`` keeps the stored ones; None: the run's ``sample_bn`` setting.
    ``meta["bn"]`` records which was used. ``ema``: a run trained with --ema samples its EMA
    generator unless this is False (True insists on it).
    """
    path = ckpt.resolve_weights(target, ckpt.G_FILE, ema)
    meta = ckpt.read_meta(path)
    if meta.get("format") != "dcgan-generator" or "arch" not in meta:
        raise DcganError(f"{path} is not a dcgan generator file (no architecture metadata)")
    G = build_generator(meta["arch"])
    ckpt.load_weights(G, path)
    G = G.to(pick_device(device))
    config = meta.get("config") or {}
    bn = bnstats.check_mode(bn or config.get("sample_bn") or "precise")
    if bnstats.has_batchnorm(G):
        meta["bn"] = bn
        if bn == "precise":
            bnstats.recalibrate_(G, int(config.get("batch_size") or 256))
    return G.eval(), meta


def load_discriminator(target: str | Path, device: str = "cpu") -> tuple[nn.Module, dict[str, Any]]:
    path = ckpt.resolve_weights(target, ckpt.D_FILE)
    meta = ckpt.read_meta(path)
    if meta.get("format") != "dcgan-discriminator" or "arch" not in meta:
        raise DcganError(f"{path} is not a dcgan discriminator file")
    D = build_discriminator(meta["arch"])
    ckpt.load_weights(D, path)
    return D.to(pick_device(device)).eval(), meta


NOISE_CHUNK = 1024  # noise is drawn in chunks of this size whatever the batch size


@torch.no_grad()
def generate(G: nn.Module, n: int, seed: int = 0, batch_size: int = 500):
    """Yield uint8 (b, C, H, W) batches of ``n`` images from one seeded noise stream.

    The noise is drawn in fixed chunks, so image k of ``seed`` is the same image whatever the
    batch size, and memory stays bounded however large ``n`` is.
    """
    dim = G.noise_dim
    device = next(G.parameters()).device
    g = torch.Generator().manual_seed(seed)
    for start in range(0, n, NOISE_CHUNK):
        z = torch.randn(min(NOISE_CHUNK, n - start), dim, generator=g)
        for part in z.split(batch_size):
            yield to_uint8(G(part.to(device)))


def sample(target: str | Path, n: int = 64, seed: int = 0, out: str | Path | None = None,
           device: str = "cpu", batch_size: int = 500, bn: str | None = None,
           ema: bool | None = None) -> Path | torch.Tensor:
    """Sample ``n`` images. ``out`` ending in .png: a grid; .npz: a uint8 array (streamed, bounded
    memory); a folder (trailing slash or existing dir): one PNG each; None: return the tensor."""
    if n < 1:
        raise DcganError("--n must be at least 1")
    G, _ = load_generator(target, device, bn, ema)
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
def discriminate(target: str | Path, images: list[str | Path], device: str = "cpu") -> list[dict]:
    """The tutorials' "decision": D's logit and probability of being real, per image file."""
    D, meta = load_discriminator(target, device)
    arch = meta["arch"]
    dev = next(D.parameters()).device
    x = torch.stack([load_image(p, arch["channels"], arch["resolution"]) for p in images])
    pack = int(arch.get("pack", 1))
    if len(images) % pack:
        raise DcganError(f"this discriminator (--pack {pack}) judges packs of {pack} images; give a "
                         f"multiple of {pack} images (got {len(images)})")
    logits = D(to_unit(x).to(dev)).float().cpu()
    probability = meta.get("config", {}).get("loss", "bce") == "bce"
    names = [str(p) for p in images]
    groups = [names[i:i + pack] for i in range(0, len(names), pack)]
    return [{"image": g[0] if pack == 1 else " + ".join(g), "logit": float(v),
             "p_real": float(torch.sigmoid(v)) if probability else None}
            for g, v in zip(groups, logits)]


__all__ = ["load_generator", "load_discriminator", "generate", "sample", "discriminate", "png_bytes"]
