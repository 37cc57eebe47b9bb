"""Fashion-MNIST: the official mirror, then Debian's ``dataset-fashion-mnist`` (installed or fetched).

Debian ships the same IDX data recompressed, so its ``.gz`` files do not match the MD5s published for
the official ``.gz`` files. Every source is therefore verified on the *decompressed* IDX bytes, against
the MD5s that are published for them beside the official ones (and that Debian's files match); a
download from the official mirror is checked against the ``.gz`` MD5s as well.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
from collections.abc import Callable
from pathlib import Path

from .cache import ImageSet
from .mnist import idx_splits
from .sources import SourceFailed, apt_download, download, first_working

NAME = "fashion-mnist"
GZ_MD5 = {  # the official compressed files, as published by Zalando Research
    "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
    "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
    "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
    "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
}
RAW_MD5 = {  # the same files decompressed: identical in the official and the Debian copies
    "train-images-idx3-ubyte.gz": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte.gz": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte.gz": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte.gz": "15d484375f8d13e6eb1aabb0c3f46965",
}
MIRRORS = ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",)
DEBIAN_PACKAGE = "dataset-fashion-mnist"
IN_PACKAGE = "usr/share/datasets/fashion-mnist"  # where the package puts the files
DEBIAN_DIR = Path("/") / IN_PACKAGE
CLASSES = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
           "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]
MAX_RAW_BYTES = 1 << 27  # the largest file decompresses to 47 MB; refuse gzip bombs


def raw_md5(path: Path) -> str:
    """MD5 of the decompressed contents of a ``.gz`` file (bounded, so a gzip bomb cannot fill memory)."""
    digest = hashlib.md5()
    total = 0
    try:
        with gzip.open(path, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                total += len(block)
                if total > MAX_RAW_BYTES:
                    raise SourceFailed(f"{path.name} decompresses to more than {MAX_RAW_BYTES} bytes")
                digest.update(block)
    except (OSError, EOFError) as exc:
        raise SourceFailed(f"{path.name} is not a readable gzip file ({exc})") from None
    return digest.hexdigest()


def verify_folder(folder: Path) -> Path:
    """``folder`` if it holds the four files and each decompresses to the published bytes."""
    missing = [f for f in RAW_MD5 if not (folder / f).is_file()]
    if missing:
        raise SourceFailed(f"not in {folder} ({len(missing)} of {len(RAW_MD5)} files missing)")
    for fname, expected in RAW_MD5.items():
        got = raw_md5(folder / fname)
        if got != expected:
            raise SourceFailed(f"{folder / fname}: decompressed md5 {got} does not match the "
                               f"published {expected}")
    return folder


def _adopt(folder: Path, raw: Path) -> Path:
    """Copy verified files into ``raw`` so a rebuilt cache needs no network."""
    if folder.resolve() != raw.resolve():
        raw.mkdir(parents=True, exist_ok=True)
        for fname in RAW_MD5:
            shutil.copyfile(folder / fname, raw / fname)
    return raw


def fetch(root: Path) -> dict[str, ImageSet]:
    raw = root / NAME / "raw"

    def build(locate: Callable[[Path], Path]) -> Callable[[Path], dict[str, ImageSet]]:
        return lambda tmp: idx_splits(verify_folder(locate(tmp)), RAW_MD5, NAME, CLASSES)

    def mirror(url: str) -> Callable[[Path], Path]:
        def locate(_tmp: Path) -> Path:
            for fname, md5 in GZ_MD5.items():
                path = raw / fname
                if path.exists() and raw_md5(path) == RAW_MD5[fname]:
                    continue  # already verified; a damaged or foreign file is downloaded again
                download(url + fname, path, md5, "md5")
            return raw
        return locate

    def installed(_tmp: Path) -> Path:
        return _adopt(verify_folder(DEBIAN_DIR), raw)

    def apt(tmp: Path) -> Path:
        unpacked = apt_download(DEBIAN_PACKAGE, tmp)
        return _adopt(verify_folder(unpacked / IN_PACKAGE), raw)

    sources = [(f"files already in {raw}", build(lambda _tmp: raw))]
    sources += [(f"official mirror {url}", build(mirror(url))) for url in MIRRORS]
    sources += [(f"Debian package files in {DEBIAN_DIR}", build(installed)),
                (f"Debian package {DEBIAN_PACKAGE} (apt-get download)", build(apt))]
    manual = (f"put the four official files ({', '.join(GZ_MD5)}) from {MIRRORS[0]} in {raw}, or "
              f"install them with `apt-get install {DEBIAN_PACKAGE}` (they land in {DEBIAN_DIR}; run "
              "`apt-get update` first if apt cannot locate the package), and run the command again")
    return first_working("Fashion-MNIST", sources, manual)
