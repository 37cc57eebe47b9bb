"""Image grids, PNG and GIF files, and reading a user's images for the discriminator."""

from __future__ import annotations

import io
import math
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch

from .errors import DcganError
from .fsutil import atomic_write
from .limits import check_pixels


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Generator output in [-1, 1] -> uint8 [0, 255], the inverse of ``to_unit``."""
    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 [0, 255] -> float [-1, 1], the scaling every tutorial applies before training."""
    return x.float().sub_(127.5).div_(127.5)


def make_grid(images: torch.Tensor, nrow: int | None = None, padding: int = 2,
              pad_value: int = 0) -> np.ndarray:
    """uint8 (N, C, H, W) -> one (H', W', C) uint8 array, ``nrow`` images per row."""
    if images.dtype != torch.uint8:
        images = to_uint8(images)
    n, c, h, w = images.shape
    nrow = nrow or math.ceil(math.sqrt(n))
    rows = math.ceil(n / nrow)
    grid = np.full((padding + rows * (h + padding), padding + nrow * (w + padding), c), pad_value,
                   dtype=np.uint8)
    arr = images.permute(0, 2, 3, 1).numpy()
    for i in range(n):
        r, col = divmod(i, nrow)
        y, x = padding + r * (h + padding), padding + col * (w + padding)
        grid[y:y + h, x:x + w] = arr[i]
    return grid


def _pil(array: np.ndarray):
    from PIL import Image

    return Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)


def png_bytes(array: np.ndarray, scale: int = 1) -> bytes:
    img = _pil(array)
    if scale > 1:
        from PIL import Image

        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def save_png(array: np.ndarray, path: str | Path, scale: int = 1) -> Path:
    return atomic_write(path, png_bytes(array, scale))


def save_gif(frames: list[Path], path: str | Path, ms_per_frame: int = 200) -> Path:
    """An animated GIF of PNG frames (the tutorials' progress animation); the last frame lingers."""
    from PIL import Image

    if not frames:
        raise DcganError("no sample grids to animate yet; train at least one epoch")
    images = [Image.open(f).convert("RGB") for f in frames]
    durations = [ms_per_frame] * (len(images) - 1) + [ms_per_frame * 5]
    buf = io.BytesIO()
    images[0].save(buf, format="GIF", save_all=True, append_images=images[1:], duration=durations,
                   loop=0)
    return atomic_write(path, buf.getvalue())


SIXTEEN_BIT = ("I;16", "I;16L", "I;16B", "I;16N", "I")  # how PIL opens 16-bit grey PNGs


@contextmanager
def open_image(path: str | Path, draft: tuple[str, tuple[int, int]] | None = None):
    """A user's image file opened lazily (PIL reads the header only) and refused, before a pixel
    is decoded, when it claims more than ``limits.MAX_IMAGE_PIXELS``; damaged files, decoding
    bombs and unknown formats are one-line ``DcganError``s. ``draft``: (mode, size) for PIL's
    reduced-scale JPEG decoding, applied before the pixel count is checked (it is what is decoded).
    The image is loaded on entry, so a truncated file fails here."""
    from PIL import Image, UnidentifiedImageError

    try:
        img = Image.open(path)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError, SyntaxError) as exc:
        raise DcganError(f"cannot read image {path}: {exc}") from None
    with img:
        try:
            if draft is not None:
                img.draft(*draft)
            check_pixels(img.width, img.height, path)
            img.load()
        except (OSError, Image.DecompressionBombError, ValueError, SyntaxError, EOFError) as exc:
            raise DcganError(f"cannot read image {path}: {exc}") from None
        yield img


def convert(img, mode: str):
    """``img.convert(mode)``, with 16-bit grey scaled to 8 bits (65535 -> 255) rather than
    clipped at 255, which turns every 16-bit image near-white."""
    if img.mode in SIXTEEN_BIT:
        from PIL import Image

        wide = np.clip(np.asarray(img), 0, 65535).astype(np.uint32)
        img = Image.fromarray(((wide * 255 + 32767) // 65535).astype(np.uint8), "L")
    return img.convert(mode)


def load_image(path: str | Path, channels: int, resolution: int) -> torch.Tensor:
    """A user's image as uint8 (C, H, W) in the model's format; wrong sizes are an error, not a resize."""
    with open_image(path) as img:
        img = convert(img, "L" if channels == 1 else "RGB")
    if img.size != (resolution, resolution):
        raise DcganError(f"{path} is {img.width}x{img.height} but this discriminator takes "
                         f"{resolution}x{resolution} images; resize it first")
    arr = np.asarray(img, dtype=np.uint8)
    arr = arr[:, :, None] if arr.ndim == 2 else arr
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)
