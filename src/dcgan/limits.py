"""Memory limits on the files dcgan reads, checked before anything is allocated.

A small file can claim a lot: a PNG header 100,000 pixels square, an ``.npy`` header shaped
(10^13,), a zip member that inflates a thousandfold, a tensor whose shape is far larger than its
storage. Every reader of a file dcgan did not just write checks what the file claims against the
limits here, and against the file's own size, *before* it decodes, decompresses or builds, and
refuses with one line. RELIABILITY.md ("Memory bounds") lists each limit with the test that
measures a subprocess's peak RSS while the limit refuses a hostile file.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import numpy as np

from .errors import DcganError

MAX_IMAGE_PIXELS = 40_000_000  # one image file, width x height: a 36-MP camera photo fits (120 MB as RGB)
MAX_ARRAY_BYTES = 2 << 30      # one .npy/.npz array of images (`dcgan eval`): 2 GiB, ~170,000 64x64 RGB images
MAX_STATE_BYTES = 4 << 30      # training_state.pt, all members together; a real one is a few times G+D's size
MAX_PARAMETERS = 400_000_000   # G or D rebuilt from a weights file's metadata (1.6 GB float32)
MAX_ACTIVATION_BYTES = 8 << 30  # one batch through G, float32 (sampling, BatchNorm re-estimation)
MAX_IMAGES_BYTES = 2 << 30     # uint8 images held at once: a returned tensor, a grid, eval's samples
MAX_FRAMES = 10_000            # frames of one `dcgan interpolate` walk (a GIF holds them all)


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def check_pixels(width: int, height: int, what: str | Path) -> None:
    """Refuse an image whose header claims more than MAX_IMAGE_PIXELS (before it is decoded)."""
    if width * height > MAX_IMAGE_PIXELS:
        raise DcganError(f"{what} is {width}x{height} pixels, more than dcgan reads "
                         f"({MAX_IMAGE_PIXELS:,} pixels); resize it first")


# -- numpy arrays -------------------------------------------------------------------------------

def _npy_header(fp: IO[bytes], what: str | Path) -> tuple[tuple[int, ...], bool, np.dtype]:
    """The (shape, fortran_order, dtype) an .npy stream declares; reads only the header."""
    fmt = np.lib.format
    try:
        version = fmt.read_magic(fp)
        read = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
        shape, fortran, dtype = read(fp, max_header_size=10_000)
    except (ValueError, OSError, EOFError, SyntaxError) as exc:
        raise DcganError(f"{what} is not a numpy array file ({exc})") from None
    if dtype.hasobject:
        raise DcganError(f"{what} holds Python objects; save uint8 images")
    return shape, fortran, dtype


def check_array_claim(shape: tuple[int, ...], dtype: np.dtype, available: int, what: str | Path,
                      limit: int = MAX_ARRAY_BYTES) -> int:
    """The bytes an array header claims, refused when over ``limit`` or over the ``available``
    bytes that could hold them (the file's size, or a zip member's uncompressed size)."""
    nbytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if nbytes > limit:
        raise DcganError(f"{what} claims an array of shape {shape} ({mib(nbytes)}), more than dcgan "
                         f"reads ({mib(limit)}); evaluate fewer images")
    if nbytes > available:
        raise DcganError(f"{what} claims an array of shape {shape} ({nbytes:,} bytes) but holds "
                         f"{available:,}; it is truncated or not written by numpy")
    return nbytes


def load_array(path: Path, key: str = "images") -> np.ndarray:
    """An .npy file, or the ``key`` member of an .npz (or its only member), read only after its
    header's shape is checked against MAX_ARRAY_BYTES and against the bytes that hold it."""
    path = Path(path)
    read = np.lib.format.read_array
    try:
        if not zipfile.is_zipfile(path):
            with open(path, "rb") as fh:
                shape, _, dtype = _npy_header(fh, path)
                check_array_claim(shape, dtype, path.stat().st_size - fh.tell(), path)
                fh.seek(0)
                return read(fh, allow_pickle=False)
        with zipfile.ZipFile(path) as zf:
            names = {n[:-4] if n.endswith(".npy") else n: n for n in zf.namelist()}
            name = names.get(key) or (next(iter(names.values())) if len(names) == 1 else None)
            if name is None:
                raise DcganError(f"{path} holds {sorted(names)}; name the image array {key!r}")
            info = zf.getinfo(name)
            with zf.open(info) as member:  # the header only: a few hundred bytes inflated
                shape, _, dtype = _npy_header(member, f"{path}:{name}")
                check_array_claim(shape, dtype, info.file_size, f"{path}:{name}")
            with zf.open(info) as member:  # numpy reads exactly the checked shape's bytes
                return read(member, allow_pickle=False)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, NotImplementedError) as exc:
        raise DcganError(f"cannot read {path} as a numpy array ({exc})") from None


# -- torch.save archives (training_state.pt) ----------------------------------------------------

def check_torch_zip(path: Path, limit: int = MAX_STATE_BYTES) -> None:
    """A ``torch.save`` zip as torch writes it: members stored, not compressed, whose sizes fit
    the file and ``limit``. torch.load would inflate a compressed member whatever it claims."""
    try:
        size = path.stat().st_size
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise DcganError(f"{path} cannot be loaded safely (not a torch.save zip: {exc}); it was "
                         "not written by dcgan or is damaged") from None
    total = 0
    for info in infos:
        if info.compress_type != zipfile.ZIP_STORED or info.file_size != info.compress_size:
            raise DcganError(f"{path} cannot be loaded safely (a compressed member "
                             f"{info.filename!r}, which torch.save never writes); it was not written by dcgan")
        total += info.file_size
    if total > size:
        raise DcganError(f"{path} cannot be loaded safely (its members claim {total:,} bytes but "
                         f"the file holds {size:,}); it is damaged")
    if total > limit:
        raise DcganError(f"{path} cannot be loaded safely: it holds {mib(total)}, more than a "
                         f"training state dcgan loads ({mib(limit)})")


def tensors_in(obj: Any, depth: int = 0) -> Iterator[Any]:
    """Every torch tensor inside nested dicts, lists and tuples."""
    import torch

    if depth > 32:
        raise DcganError("the training state nests deeper than dcgan writes; it is not dcgan's")
    if isinstance(obj, torch.Tensor):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from tensors_in(v, depth + 1)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            yield from tensors_in(v, depth + 1)


def check_tensor_storage(obj: Any, what: str | Path) -> None:
    """Refuse tensors that claim more elements than their storage holds (stride tricks: a 4-byte
    storage viewed as 10^12 elements with stride 0), which any later copy would allocate."""
    for t in tensors_in(obj):
        need = t.numel() * t.element_size()
        have = t.untyped_storage().nbytes()
        if need > have or any(s == 0 for s, n in zip(t.stride(), t.shape) if n > 1):
            raise DcganError(f"{what} cannot be loaded safely (a tensor of shape {tuple(t.shape)} over "
                             f"{have:,} bytes of storage); it was not written by dcgan")
