"""A folder of images as a data set (``--data PATH``), decoded once into the cache.

Any depth; JPEG, PNG and WebP. When the folder has subfolders, the first level names the classes
(``101_ObjectCategories/bonsai/...`` -> class ``bonsai``); a flat folder is one class. Each image is
resized so its shorter side is the resolution, centre-cropped square, and made RGB, or grey when every
image in the folder is grey. The result is cached under ``<data root>/folders/`` with a key made of
every file's relative path, size and modification time plus the resolution, so the next load reads
no image file at all, and any added, removed or edited image makes a fresh cache. Images that cannot
be decoded or that claim more than ``limits.MAX_IMAGE_PIXELS`` (refused from the header), and
entries that are not usable files (dangling symlinks, symlink loops, names that are not UTF-8), are
skipped, counted and listed (also in ``skipped.txt`` beside the cache), never a crash.
"""

from __future__ import annotations

import hashlib
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import torch

from ..errors import DcganError
from ..fsutil import atomic_write
from ..images import convert, open_image
from .cache import ImageSet, data_root, load_split, save_split

EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
CACHE_VERSION = 2     # bump when decoding changes, so old caches are not reused (2: 16-bit grey scaled)
LIST_LIMIT = 20       # skipped files printed; the full list goes to skipped.txt
TOP_LEVEL = "(top level)"  # class of images lying beside the class subfolders
BACKGROUND = (255, 255, 255)  # transparent pixels are composited onto white


def find_images(folder: Path) -> list[Path]:
    """Image files under ``folder`` (any depth, hidden files and folders ignored), sorted. Entries
    that are not usable files (dangling symlinks, symlink loops, names that are not UTF-8) are
    listed too: ``unusable`` says why, and ``load_folder`` skips and counts them."""
    found = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        found += [Path(dirpath, f) for f in filenames
                  if not f.startswith(".") and f.lower().endswith(EXTENSIONS)]
    return sorted(found, key=lambda p: shown(p.relative_to(folder)))


def class_names(folder: Path) -> list[str]:
    """The classes ``load_folder`` gives ``folder``, in label order, from the image paths alone (no
    image decoded: what a dry run can say): its first-level subfolders, plus TOP_LEVEL for images
    beside them; a flat folder is one class, named after it. A class whose every image turns out
    unreadable is missing from the real run."""
    rels = [p.relative_to(folder).parts for p in find_images(folder)]
    if not rels:
        raise DcganError(f"{folder} holds no JPEG, PNG or WebP images (searched every subfolder); "
                         "point --data at the folder that holds them")
    if not any(len(r) > 1 for r in rels):
        return [folder.resolve().name]
    return sorted({shown(Path(r[0])) if len(r) > 1 else TOP_LEVEL for r in rels})


def shown(rel: Path) -> str:
    """A relative path as text that can always be printed and written: bytes that are not UTF-8
    (kept by Python as surrogates) become U+FFFD."""
    return os.fsencode(rel.as_posix()).decode("utf-8", "replace")


def unusable(path: Path) -> str | None:
    """Why ``path`` cannot be an image of the cache (before anything is decoded), or None."""
    try:
        os.fsencode(path.name).decode("utf-8")
    except UnicodeDecodeError:
        return "the file name is not valid UTF-8; rename it"
    try:
        path.stat()
    except OSError as exc:  # dangling symlink (ENOENT), symlink loop (ELOOP), no permission
        return f"{type(exc).__name__}: {exc.strerror or exc}"
    return None


def content_key(folder: Path, files: list[Path], resolution: int) -> str:
    """A hash of every file's relative path, size and mtime, and of how they are decoded (an
    entry that cannot be stat'ed counts by its name alone)."""
    digest = hashlib.sha256(f"v{CACHE_VERSION} res={resolution}\n".encode())
    for p in files:
        try:
            st = p.stat()
            facts = f"{st.st_size}\0{st.st_mtime_ns}"
        except OSError:
            facts = "unusable"
        digest.update(os.fsencode(p.relative_to(folder).as_posix()) + f"\0{facts}\n".encode())
    return digest.hexdigest()[:20]


def decode(path: Path, resolution: int) -> tuple[np.ndarray, bool]:
    """(H, W, 3) uint8 RGB at resolution x resolution, and whether the image is grey.

    Raises DcganError (damaged, a decoding bomb, or more than ``limits.MAX_IMAGE_PIXELS`` pixels
    to decode: refused from the header, before decoding) or OSError/ValueError for files PIL
    cannot read.
    """
    from PIL import Image, ImageOps

    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        # JPEG: decode at a reduced scale, much faster; the pixels checked are the ones decoded
        with open_image(path, draft=("RGB", (resolution, resolution))) as im:
            im = ImageOps.exif_transpose(im)
            if im.mode in ("RGBA", "LA", "PA") or (im.mode == "P" and "transparency" in im.info):
                rgba = im.convert("RGBA")
                im = Image.new("RGBA", rgba.size, BACKGROUND + (255,))
                im.alpha_composite(rgba)
            im = convert(im, "RGB")
    w, h = im.size
    scale = resolution / min(w, h)
    size = (max(resolution, round(w * scale)), max(resolution, round(h * scale)))
    im = im.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    left, top = (size[0] - resolution) // 2, (size[1] - resolution) // 2
    rgb = np.asarray(im.crop((left, top, left + resolution, top + resolution)))
    grey = bool(np.array_equal(rgb[..., 0], rgb[..., 1]) and np.array_equal(rgb[..., 1], rgb[..., 2]))
    return rgb, grey


def load_folder(path: str | os.PathLike, resolution: int, data_dir: str | os.PathLike | None = None) -> ImageSet:
    """The images under ``path`` as a uint8 (N, C, resolution, resolution) ImageSet, cached by content."""
    from PIL import Image

    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DcganError(f"{folder} is not a folder of images")
    if resolution < 1:
        raise DcganError(f"resolution must be at least 1, got {resolution}")
    files = find_images(folder)
    if not files:
        raise DcganError(f"{folder} holds no JPEG, PNG or WebP images (searched every subfolder); "
                         "point --data at the folder that holds them")
    key = content_key(folder, files, resolution)
    cache_dir = data_root(data_dir) / "folders" / f"{folder.resolve().name or 'root'}-{key}"
    cache_file = cache_dir / "train.safetensors"
    cached = load_split(cache_file)
    if cached is not None:
        skipped = cache_dir / "skipped.txt"
        if skipped.exists():
            n = len(skipped.read_text(encoding="utf-8").splitlines())
            print(f"dcgan: {n} unreadable images were skipped when {folder} was cached; see {skipped}",
                  file=sys.stderr)
        return cached

    subfolders = any(len(p.relative_to(folder).parts) > 1 for p in files)
    class_of = [shown(Path(p.relative_to(folder).parts[0])) if len(p.relative_to(folder).parts) > 1 else TOP_LEVEL for p in files]
    kept, greys, labels_named, skipped_list = [], [], [], []
    from tqdm import tqdm

    for p, cls in tqdm(list(zip(files, class_of)), desc=f"decoding {folder.name}", unit="img",
                       disable=len(files) < 500, file=sys.stderr):
        why = unusable(p)
        if why is None:
            try:
                rgb, grey = decode(p, resolution)
            except DcganError as exc:
                why = str(exc).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
            except (OSError, ValueError, SyntaxError, EOFError, Image.DecompressionBombError,
                    Image.DecompressionBombWarning) as exc:
                why = f"{type(exc).__name__}: {exc}"
        if why is not None:
            skipped_list.append(f"{shown(p.relative_to(folder))}: {why}")
            continue
        kept.append(rgb)
        greys.append(grey)
        labels_named.append(cls)
    if skipped_list:
        print(f"dcgan: skipped {len(skipped_list)} of {len(files)} images in {folder} that could not be "
              "read:", file=sys.stderr)
        for line in skipped_list[:LIST_LIMIT]:
            print(f"  {line}", file=sys.stderr)
        if len(skipped_list) > LIST_LIMIT:
            print(f"  ... and {len(skipped_list) - LIST_LIMIT} more (all in {cache_dir / 'skipped.txt'})",
                  file=sys.stderr)
    if not kept:
        raise DcganError(f"none of the {len(files)} image files in {folder} could be read; check they "
                         "are JPEG, PNG or WebP images")

    images = torch.from_numpy(np.stack(kept)).permute(0, 3, 1, 2)  # (N, H, W, 3) -> (N, 3, H, W)
    if all(greys):
        images = images[:, :1]
    classes = sorted(set(labels_named)) if subfolders else [folder.resolve().name]
    index = {c: i for i, c in enumerate(classes)}
    labels = torch.tensor([index.get(c, 0) for c in labels_named], dtype=torch.int64)
    data = ImageSet(images.contiguous(), labels, classes, folder.resolve().name)
    if skipped_list:  # written first: a cache never exists without its list of skipped files
        atomic_write(cache_dir / "skipped.txt", "".join(line + "\n" for line in skipped_list))
    save_split(cache_file, data)
    return data
