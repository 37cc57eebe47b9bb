"""The data cache: one verified format for every data set.

Each split is one safetensors file, ``<root>/<data set>/<split>.safetensors``, holding ``images``
(uint8, N x C x H x W) and ``labels`` (int64, N), written atomically, with its sha256 in a sidecar
``.sha256`` file. Loading memory-maps the file and checks the hash: a damaged cache is deleted and
rebuilt from the sources instead of being trained on. The bytes are a function of the data alone
(``canonical``), so a re-fetch of the same data gives the same sha256, which ``dcgan eval`` reports
as ``reference_sha256``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load as st_load
from safetensors.torch import save as st_save

from ..errors import DcganError
from ..fsutil import atomic_write, sha256_file


@dataclass
class ImageSet:
    """A split of a data set, ready to train on."""

    images: torch.Tensor                      # uint8, (N, C, H, W)
    labels: torch.Tensor | None = None        # int64, (N,)
    classes: list[str] = field(default_factory=list)
    name: str = ""

    def __post_init__(self) -> None:
        if self.images.dtype != torch.uint8 or self.images.ndim != 4:
            raise DcganError(f"{self.name or 'data set'}: expected uint8 N x C x H x W images, got "
                             f"{self.images.dtype} {tuple(self.images.shape)}")
        if self.labels is not None and len(self.labels) != len(self.images):
            raise DcganError(f"{self.name}: {len(self.images)} images but {len(self.labels)} labels")

    def __len__(self) -> int:
        return len(self.images)


def data_root(data_dir: str | os.PathLike | None = None) -> Path:
    """``--data-dir``, else ``$DCGAN_DATA``, else the user's cache folder."""
    if data_dir:
        return Path(data_dir).expanduser()
    if os.environ.get("DCGAN_DATA"):
        return Path(os.environ["DCGAN_DATA"]).expanduser()
    import platformdirs

    return Path(platformdirs.user_cache_dir("dcgan")) / "data"


def cache_path(root: Path, name: str, split: str) -> Path:
    return root / name / f"{split}.safetensors"


def canonical(blob: bytes) -> bytes:
    """The same safetensors file with its header in one order: the writer emits the metadata in
    hash-map order, which changes from one save to the next, so equal data gave different bytes.
    Only the JSON header is rewritten (metadata keys sorted; tensor offsets are relative to the data
    that follows it, which is kept as it is)."""
    n = int.from_bytes(blob[:8], "little")
    header = json.loads(blob[8:8 + n])
    meta = header.pop("__metadata__", None)
    ordered = {**({"__metadata__": dict(sorted(meta.items()))} if meta else {}), **header}
    text = json.dumps(ordered, separators=(",", ":"), ensure_ascii=False).encode()
    text += b" " * (-len(text) % 8)  # the writer's alignment of the data that follows
    return len(text).to_bytes(8, "little") + text + blob[8 + n:]


def save_split(path: Path, data: ImageSet) -> None:
    tensors = {"images": data.images.contiguous()}
    if data.labels is not None:
        tensors["labels"] = data.labels.to(torch.int64).contiguous()
    blob = canonical(st_save(tensors, metadata={"name": data.name, "classes": json.dumps(data.classes)}))
    atomic_write(path, blob)
    atomic_write(path.with_suffix(".sha256"), sha256_file(path) + "\n")


def load_split(path: Path) -> ImageSet | None:
    """The cached split, or None if it is missing or fails its checksum (then it is removed)."""
    sidecar = path.with_suffix(".sha256")
    if not path.exists() or not sidecar.exists():
        return None
    if sha256_file(path) != sidecar.read_text().strip():
        print(f"dcgan: cache file {path} is damaged (checksum mismatch); rebuilding it",
              file=__import__("sys").stderr)
        path.unlink(missing_ok=True)
        sidecar.unlink(missing_ok=True)
        return None
    try:
        blob = path.read_bytes()
        tensors = st_load(blob)
        from safetensors import safe_open

        with safe_open(str(path), "pt") as fh:
            meta = fh.metadata() or {}
        return ImageSet(tensors["images"], tensors.get("labels"),
                        json.loads(meta.get("classes", "[]")), meta.get("name", path.parent.name))
    except (SafetensorError, KeyError, ValueError, json.JSONDecodeError) as exc:
        path.unlink(missing_ok=True)
        sidecar.unlink(missing_ok=True)
        raise DcganError(f"cache file {path} is unreadable ({exc}); it was removed, run again "
                         "to rebuild it") from None
