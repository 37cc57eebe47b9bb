"""Emoji: the 64x64 Google emoji images of the npm package ``emoji-datasource-google``.

The package tarball is fetched with npm's own client and checked against its pinned sha512
integrity; images are decoded straight from the tarball in memory (nothing is extracted). The cache
keeps the RGBA images; ``load("emoji")`` composites them onto white, ``load("emoji:black")`` (or any
colour name or ``#rrggbb``: ``--data emoji:#202020``) onto that colour. Labels are the emoji's
categories from the package's ``emoji.json`` (Smileys & Emotion, People & Body, Flags, ...).
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from pathlib import Path

import numpy as np
import torch

from ..errors import DcganError
from .cache import ImageSet
from .sources import SourceFailed, check_integrity, first_working, npm_pack

NAME = "emoji"
PACKAGE = "emoji-datasource-google@16.0.0"
INTEGRITY = "sha512-ZRexfzs7MVoLnmzZmNsO4TKhnAJp5D++Vm6PpUpH/jEQQlemp3l88CjZ+DoZ2faM9R4QxZkOPJCoT8DlPhfQ3A=="
TARBALL = "emoji-datasource-google-16.0.0.tgz"
IMAGE_DIR = "package/img/google/64/"
SIDE = 64
DEFAULT_BACKGROUND = "white"
MAX_MEMBER_BYTES = 1 << 24  # emoji.json is ~1.6 MB, each 64 px PNG a few KB


def read_package(tarball: Path) -> tuple[list[dict], list[str], dict[str, bytes]]:
    """(emoji.json entries, category order, {png name: bytes}) from the npm tarball, in memory."""
    pngs: dict[str, bytes] = {}
    blobs: dict[str, bytes] = {}
    try:
        with tarfile.open(tarball, "r:gz") as tar:
            for member in tar:
                wanted = member.name in ("package/emoji.json", "package/categories.json")
                is_png = (member.name.startswith(IMAGE_DIR) and member.name.endswith(".png")
                          and "/" not in member.name[len(IMAGE_DIR):])
                if not (wanted or is_png) or not member.isreg() or member.size > MAX_MEMBER_BYTES:
                    continue
                fh = tar.extractfile(member)
                data = fh.read() if fh else b""
                if is_png:
                    pngs[member.name[len(IMAGE_DIR):]] = data
                else:
                    blobs[member.name] = data
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise SourceFailed(f"{tarball} is not a readable npm tarball ({exc})") from None
    if "package/emoji.json" not in blobs:
        raise SourceFailed(f"{tarball.name} holds no package/emoji.json")
    try:
        entries = json.loads(blobs["package/emoji.json"])
        categories = list(json.loads(blobs.get("package/categories.json", b"{}")))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SourceFailed(f"{tarball.name}: emoji.json is not JSON ({exc})") from None
    if not isinstance(entries, list):
        raise SourceFailed(f"{tarball.name}: emoji.json is not a list of emoji")
    return entries, categories, pngs


def from_tarball(tarball: Path) -> dict[str, ImageSet]:
    """Every 64x64 image the package has, RGBA, labelled with its emoji's category."""
    from PIL import Image

    entries, categories, pngs = read_package(tarball)
    image_category: dict[str, str] = {}
    for e in sorted(entries, key=lambda e: e.get("sort_order", 0)):
        for variant in (e, *(e.get("skin_variations") or {}).values()):  # skin tones share a category
            if variant.get("image") in pngs:
                image_category.setdefault(variant["image"], str(e.get("category", "")))
    if not image_category:
        raise SourceFailed(f"{tarball.name} has no {SIDE}x{SIDE} images named in emoji.json")
    for c in image_category.values():
        if c not in categories:
            categories.append(c)
    classes = [c for c in categories if c in set(image_category.values())]
    images = np.empty((len(image_category), 4, SIDE, SIDE), np.uint8)
    labels = np.empty(len(image_category), np.int64)
    for i, (fname, category) in enumerate(image_category.items()):
        try:
            with Image.open(io.BytesIO(pngs[fname])) as im:
                rgba = im.convert("RGBA")
        except (OSError, ValueError, SyntaxError) as exc:
            raise SourceFailed(f"{IMAGE_DIR}{fname} is not a readable PNG ({exc})") from None
        if rgba.size != (SIDE, SIDE):
            rgba = rgba.resize((SIDE, SIDE), Image.Resampling.LANCZOS)
        images[i] = np.asarray(rgba).transpose(2, 0, 1)  # (H, W, 4) -> (4, H, W)
        labels[i] = classes.index(category)
    return {"train": ImageSet(torch.from_numpy(images), torch.from_numpy(labels), classes, NAME)}


def parse_colour(option: str | None) -> tuple[int, int, int]:
    from PIL import ImageColor

    try:
        return ImageColor.getrgb(option or DEFAULT_BACKGROUND)[:3]
    except ValueError:
        raise DcganError(f"emoji background {option!r} is not a colour; use a name like black or a "
                         "hex code like #202020 (e.g. --data emoji:black)") from None


def composite(rgba: torch.Tensor, background: tuple[int, int, int]) -> torch.Tensor:
    """uint8 (N, 4, H, W) -> uint8 (N, 3, H, W), each pixel blended onto ``background`` by its alpha."""
    if rgba.shape[1] == 3:
        return rgba
    out = []
    bg = torch.tensor(background, dtype=torch.int32).view(1, 3, 1, 1)
    for chunk in rgba.split(1024):
        alpha = chunk[:, 3:4].to(torch.int32)
        # (rgb * a + bg * (255 - a)) / 255, rounded to nearest, in exact integer arithmetic
        blended = (chunk[:, :3].to(torch.int32) * alpha + bg * (255 - alpha) + 127) // 255
        out.append(blended.to(torch.uint8))
    return torch.cat(out)


def finish(data: ImageSet, option: str | None) -> ImageSet:
    """The cached RGBA split as training sees it: composited onto the background ``option``."""
    return ImageSet(composite(data.images, parse_colour(option)), data.labels, data.classes, data.name)


def fetch(root: Path) -> dict[str, ImageSet]:
    raw = root / NAME / "raw"

    def on_disk(_tmp: Path) -> dict[str, ImageSet]:
        if not (raw / TARBALL).is_file():
            raise SourceFailed(f"no {TARBALL} in {raw}")
        check_integrity(raw / TARBALL, INTEGRITY)
        return from_tarball(raw / TARBALL)

    def npm(tmp: Path) -> dict[str, ImageSet]:
        tarball = npm_pack(PACKAGE, INTEGRITY, tmp)
        splits = from_tarball(tarball)
        raw.mkdir(parents=True, exist_ok=True)
        shutil.move(tarball, raw / TARBALL)  # kept, so a rebuilt cache needs no network
        return splits

    manual = (f"run `npm pack {PACKAGE}` on a machine with npm and the registry, put {TARBALL} in "
              f"{raw}, and run the command again")
    return first_working("the emoji images", [(f"{TARBALL} already in {raw}", on_disk),
                                              (f"npm package {PACKAGE} (npm pack)", npm)], manual)
