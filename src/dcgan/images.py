"""Image grids, PNG and GIF files, and reading a user's images for the discriminator."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import torch

from .errors import DcganError
from .fsutil import atomic_write


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


def load_image(path: str | Path, channels: int, resolution: int) -> torch.Tensor:
    """A user's image as uint8 (C, H, W) in the model's format; wrong sizes are an error, not a resize."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            img.load()
            img = img.convert("L" if channels == 1 else "RGB")
    except (OSError, UnidentifiedImageError) as exc:
        raise DcganError(f"cannot read image {path}: {exc}") from None
    if img.size != (resolution, resolution):
        raise DcganError(f"{path} is {img.width}x{img.height} but this discriminator takes "
                         f"{resolution}x{resolution} images; resize it first")
    arr = np.asarray(img, dtype=np.uint8)
    arr = arr[:, :, None] if arr.ndim == 2 else arr
    return torch.from_numpy(arr.copy()).permute(2, 0, 1)
