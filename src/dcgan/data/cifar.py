"""CIFAR-10 from the official python tarball, read in memory with the restricted unpickler.

Nothing is extracted to disk: the tarball's members are read as bytes, so a hostile archive cannot
write outside the cache (no path traversal, no links followed), and only the seven expected batch
files are looked at. No package registry ships CIFAR-10, so offline the user puts the tarball in the
data folder by hand; the error says exactly where.
"""

from __future__ import annotations

import lzma
import tarfile
import zlib
from pathlib import Path

import numpy as np
import torch

from .cache import ImageSet
from .sources import SourceFailed, check_hash, download, first_working
from .unpickle import restricted_load

NAME = "cifar10"
URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
TARBALL = "cifar-10-python.tar.gz"
MD5 = "c58f30108f718f92721af3b95e74349a"
FOLDER = "cifar-10-batches-py"
TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCHES = ("test_batch",)
META = "batches.meta"
CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
SIDE = 32
MAX_MEMBER_BYTES = 1 << 26  # each real batch is about 31 MB


def _key(d: dict, name: str, source: str):
    """CIFAR pickles come from Python 2: keys are ``str`` or ``bytes`` depending on how they are read."""
    for k in (name, name.encode()):
        if k in d:
            return d[k]
    raise SourceFailed(f"{source} has no {name!r} entry")


def read_members(tarball: Path) -> dict[str, bytes]:
    """The batch files of the tarball, as bytes, by base name (regular files only)."""
    wanted = {*TRAIN_BATCHES, *TEST_BATCHES, META}
    found: dict[str, bytes] = {}
    try:
        with tarfile.open(tarball, "r:*") as tar:
            for member in tar:
                parts = member.name.split("/")
                if len(parts) != 2 or parts[0] != FOLDER or parts[1] not in wanted:
                    continue  # anything else (README, odd paths like ../x) is never read
                if not member.isreg() or member.size > MAX_MEMBER_BYTES:
                    raise SourceFailed(f"{tarball.name}: {member.name} is not a plain batch file")
                fh = tar.extractfile(member)
                found[parts[1]] = fh.read() if fh else b""
    except (tarfile.TarError, OSError, EOFError, zlib.error, lzma.LZMAError) as exc:
        # zlib.error: a damaged .gz stream surfaces from gzip as zlib's own exception, not OSError
        raise SourceFailed(f"{tarball} is not a readable tarball ({exc})") from None
    missing = sorted(wanted - found.keys())
    if missing:
        raise SourceFailed(f"{tarball} lacks {', '.join(FOLDER + '/' + m for m in missing)}")
    return found


def decode_batches(members: dict[str, bytes], names: tuple[str, ...], source: str) -> tuple[np.ndarray, np.ndarray]:
    images, labels = [], []
    for name in names:
        batch = restricted_load(members[name], f"{source}:{FOLDER}/{name}")
        if not isinstance(batch, dict):
            raise SourceFailed(f"{name} is not a CIFAR batch (a dict)")
        data = np.asarray(_key(batch, "data", name))
        y = np.asarray(_key(batch, "labels", name), dtype=np.int64)
        if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * SIDE * SIDE or len(y) != len(data):
            raise SourceFailed(f"{name}: data {data.dtype} {data.shape} with {len(y)} labels is not "
                               f"N x {3 * SIDE * SIDE} uint8 pixels with N labels")
        if len(y) and (y.min() < 0 or y.max() >= len(CLASSES)):
            raise SourceFailed(f"{name}: labels outside 0-{len(CLASSES) - 1}")
        images.append(data.reshape(-1, 3, SIDE, SIDE))  # rows are R plane, G plane, B plane
        labels.append(y)
    return np.concatenate(images), np.concatenate(labels)


def from_tarball(tarball: Path) -> dict[str, ImageSet]:
    members = read_members(tarball)
    meta = restricted_load(members[META], f"{tarball.name}:{FOLDER}/{META}")
    classes = CLASSES
    if isinstance(meta, dict):
        names = _key(meta, "label_names", META)
        classes = [n.decode() if isinstance(n, bytes) else str(n) for n in names]
    out = {}
    for split, names in (("train", TRAIN_BATCHES), ("test", TEST_BATCHES)):
        x, y = decode_batches(members, names, tarball.name)
        out[split] = ImageSet(torch.from_numpy(x), torch.from_numpy(y), classes, NAME)
    return out


def fetch(root: Path) -> dict[str, ImageSet]:
    raw = root / NAME / "raw"
    places = [raw / TARBALL, root / TARBALL]

    def on_disk(_tmp: Path) -> dict[str, ImageSet]:
        present = [p for p in places if p.is_file()]
        if not present:
            raise SourceFailed(f"no {TARBALL} in {raw} or {root}")
        check_hash(present[0], MD5, "md5")
        return from_tarball(present[0])

    def official(_tmp: Path) -> dict[str, ImageSet]:
        return from_tarball(download(URL, raw / TARBALL, MD5, "md5"))

    manual = (f"download {URL} (MD5 {MD5}) with a browser or another machine, put it at "
              f"{raw / TARBALL} (or pass --data-dir to the folder holding it), and run the command again")
    return first_working("CIFAR-10", [(f"{TARBALL} already in the data folder", on_disk),
                                      (f"official tarball {URL}", official)], manual)
