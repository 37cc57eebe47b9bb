"""A restricted unpickler: data files may describe numpy arrays, nothing else.

Plain ``pickle.load`` runs whatever callable a file names, so a hostile "data set" could execute
code. This unpickler resolves only the handful of globals that numpy arrays need; any other global
in the stream stops loading with a DcganError before anything is called.
"""

from __future__ import annotations

import io
import math
import pickle
import pickletools
from typing import IO, Any

from ..errors import DcganError

# (module, name) pairs a pickled numpy array legitimately references, old and new numpy layouts.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # protocol-2 pickles written by Python 3 spell bytes as encode(str)
}


def _latin1_encode(text: Any, encoding: str = "utf-8") -> bytes:
    """``_codecs.encode`` as protocol-2 numpy pickles use it: array bytes stored as latin-1 text."""
    if not isinstance(text, str) or encoding != "latin1":
        raise DcganError(f"the pickle calls _codecs.encode with {encoding!r}, which numpy never "
                         "writes; refusing to load it")
    return text.encode("latin1")


def _plain_dtype(*args: Any) -> Any:
    """numpy.dtype, minus object dtypes: they hold arbitrary objects and allocate per element."""
    import numpy

    dtype = numpy.dtype(*args)
    if dtype.hasobject:
        raise DcganError("the pickle asks for a numpy object array, which a data file never holds; "
                         "refusing to load it")
    return dtype


def _empty_array(reconstruct: Any) -> Any:
    """numpy's ``_reconstruct``, allowed only as numpy itself pickles: an empty array, filled by
    ``__setstate__`` from bytes that must then match the shape (so a few bytes that claim
    10**12 elements allocate nothing)."""
    import numpy

    def safe(subtype: Any, shape: Any, dtype: Any) -> Any:
        try:
            size = math.prod(int(n) for n in shape)
        except (TypeError, ValueError):
            size = -1
        if subtype is not numpy.ndarray or size != 0:
            raise DcganError(f"the pickle builds an array of shape {shape!r} directly, which numpy "
                             "never writes; refusing to load it")
        return reconstruct(subtype, shape, _plain_dtype(dtype))

    return safe


class _Restricted(pickle.Unpickler):
    def __init__(self, fh: IO[bytes], source: str):
        super().__init__(fh, encoding="latin1")
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            import numpy

            if module == "_codecs":
                return _latin1_encode
            if name == "ndarray":
                return numpy.ndarray
            if name == "dtype":
                return _plain_dtype
            core = getattr(numpy, "_core", None) or numpy.core  # numpy 2 renamed numpy.core
            if name == "_reconstruct":
                return _empty_array(core.multiarray._reconstruct)
            return getattr(core.multiarray, name)
        raise DcganError(f"{self._source} refers to {module}.{name}, which a data file never needs; "
                         "refusing to load it (delete the file and fetch the data set again)")


def _check_lengths(data: bytes, source: str) -> None:
    """Refuse a pickle whose length-prefixed strings claim more bytes than the data holds.

    The C unpickler allocates a BINBYTES/BINUNICODE string at its claimed size before reading it, so
    one flipped length byte in a small file would allocate up to 4 GiB (found by
    tests/test_hostile_readers.py). ``pickletools.genops`` reads only what is there, and runs nothing.
    """
    try:
        for _ in pickletools.genops(io.BytesIO(data)):
            pass
    except Exception as exc:  # ValueError "expected N bytes ... only M remain", bad opcodes, ...
        raise DcganError(f"{source} is not a readable data pickle ({type(exc).__name__}: {exc}); "
                         "delete it and fetch the data set again") from None


def restricted_load(fh: IO[bytes] | bytes, source: str = "pickle file") -> Any:
    """Unpickle ``fh`` allowing only numpy arrays, dtypes and plain containers."""
    if isinstance(fh, (bytes, bytearray)):
        _check_lengths(fh, source)
        fh = io.BytesIO(fh)
    try:
        return _Restricted(fh, source).load()
    except DcganError:
        raise
    except Exception as exc:  # truncated or malformed streams raise many exception types
        raise DcganError(f"{source} is not a readable data pickle ({type(exc).__name__}: {exc}); "
                         "delete it and fetch the data set again") from None
