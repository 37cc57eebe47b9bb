"""Reader for the IDX format of MNIST and Fashion-MNIST, strict about every header field."""

from __future__ import annotations

import gzip
import io
import struct

import numpy as np

from ..errors import DcganError

_UBYTE = 0x08
MAX_DIMS = 4


def parse_idx(data: bytes, source: str = "IDX file") -> np.ndarray:
    """Decode an (uncompressed) IDX byte string of unsigned bytes into an array.

    The header is checked against the real length before anything is allocated, so a header that
    claims 10**12 images is refused instead of allocating.
    """
    if len(data) < 4:
        raise DcganError(f"{source} is too short to be an IDX file; delete it and fetch again")
    zero, dtype, ndim = struct.unpack(">HBB", data[:4])
    if zero != 0 or dtype != _UBYTE or not 1 <= ndim <= MAX_DIMS:
        raise DcganError(f"{source} has no IDX unsigned-byte header (magic {data[:4].hex()}); "
                         "delete it and fetch again")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DcganError(f"{source}: truncated IDX header; delete it and fetch again")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = 1
    for d in dims:
        expected *= d
    if expected != len(data) - header:
        raise DcganError(f"{source}: header says {'x'.join(map(str, dims))} = {expected} bytes but the "
                         f"file holds {len(data) - header}; delete it and fetch again")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims).copy()


def read_idx_gz(path, max_bytes: int = 1 << 30) -> np.ndarray:
    """Decompress (at most ``max_bytes``, against gzip bombs) and parse an ``.idx*-ubyte.gz`` file."""
    try:
        with gzip.open(path, "rb") as fh:
            data = fh.read(max_bytes + 1)
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise DcganError(f"{path} is not a readable gzip file ({exc}); delete it and fetch again") from None
    if len(data) > max_bytes:
        raise DcganError(f"{path} decompresses to more than {max_bytes} bytes; not an IDX data file")
    return parse_idx(data, str(path))


def encode_idx(array: np.ndarray) -> bytes:
    """The inverse of ``parse_idx`` (tests and tools write small IDX files with it)."""
    array = np.ascontiguousarray(array, dtype=np.uint8)
    buf = io.BytesIO()
    buf.write(struct.pack(">HBB", 0, _UBYTE, array.ndim))
    buf.write(struct.pack(f">{array.ndim}I", *array.shape))
    buf.write(array.tobytes())
    return buf.getvalue()
