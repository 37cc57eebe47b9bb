"""A restricted unpickler: data files may describe numpy arrays, nothing else.

Plain ``pickle.load`` runs whatever callable a file names, so a hostile "data set" could execute
code. This unpickler resolves only the handful of globals that numpy arrays need; any other global
in the stream stops loading with a DcganError before anything is called.
"""

from __future__ import annotations

import io
import pickle
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


class _Restricted(pickle.Unpickler):
    def __init__(self, fh: IO[bytes], source: str):
        super().__init__(fh, encoding="latin1")
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            import numpy

            if module == "_codecs":
                import codecs

                return codecs.encode
            if name in ("ndarray", "dtype"):
                return getattr(numpy, name)
            core = getattr(numpy, "_core", None) or numpy.core  # numpy 2 renamed numpy.core
            return getattr(core.multiarray, name)
        raise DcganError(f"{self._source} refers to {module}.{name}, which a data file never needs; "
                         "refusing to load it (delete the file and fetch the data set again)")


def restricted_load(fh: IO[bytes] | bytes, source: str = "pickle file") -> Any:
    """Unpickle ``fh`` allowing only numpy arrays, dtypes and plain containers."""
    if isinstance(fh, (bytes, bytearray)):
        fh = io.BytesIO(fh)
    try:
        return _Restricted(fh, source).load()
    except DcganError:
        raise
    except Exception as exc:  # truncated or malformed streams raise many exception types
        raise DcganError(f"{source} is not a readable data pickle ({type(exc).__name__}: {exc}); "
                         "delete it and fetch the data set again") from None
