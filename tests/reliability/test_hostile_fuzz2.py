"""Property-based fuzzing of the readers issue 15 bounded: .npy/.npz headers, PNG headers, weights
metadata (the one schema, then the parameter count on the meta device) and training-state schemas.

Same contract as test_hostile.py: the reader returns data or raises DcganError and nothing else,
within the hypothesis deadline, under conftest's traced-memory bound. (Peak RSS, which also sees
torch and PIL, is measured on hostile files by test_memory_bounds.py.)
"""

from __future__ import annotations

import io
import struct
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np
import torch
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from PIL import Image

from dcgan.errors import DcganError
from dcgan.generation.loading import GENERATOR, check_meta
from dcgan.images import load_image
from dcgan.limits import load_array
from dcgan.models import PRESETS
from dcgan.models.bounds import Footprint, footprint
from dcgan.training.state import check_state

from conftest import bounded

FUZZ = settings(max_examples=60, deadline=2000, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

dims = st.integers(0, 2**40)
shapes = st.lists(dims, max_size=4).map(tuple)


def _npy(shape: tuple[int, ...], descr: str, body: bytes) -> bytes:
    head = io.BytesIO()
    np.lib.format.write_array_header_2_0(head, {"descr": descr, "fortran_order": False, "shape": shape})
    return head.getvalue() + body


@FUZZ
@given(shapes, st.sampled_from(["|u1", "<f4", "<i8", "|b1", "<U3"]), st.binary(max_size=512),
       st.sampled_from(["npy", "npz stored", "npz deflated"]), st.integers(0, 64))
def test_array_any_header(shape, descr, body, container, cut):
    """Any shape up to 2^40 per dimension, any dtype, any body, as .npy or an .npz member (stored
    or deflated), possibly truncated: an array whose size the header and the bytes agree on, or
    DcganError."""
    blob = _npy(shape, descr, body)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ("x.npy" if container == "npy" else "x.npz")
        if container == "npy":
            path.write_bytes(blob[:len(blob) - cut] if cut else blob)
        else:
            kind = zipfile.ZIP_DEFLATED if container.endswith("deflated") else zipfile.ZIP_STORED
            with zipfile.ZipFile(path, "w", kind) as zf:
                zf.writestr("images.npy", blob)
        result = bounded(load_array, path)
        assert isinstance(result, (np.ndarray, DcganError))
        if isinstance(result, np.ndarray):
            assert result.nbytes <= len(blob)


def _png(width: int, height: int, depth: int, colour: int, tail: bytes) -> bytes:
    buf = io.BytesIO()
    Image.new("L", (2, 2)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    i = data.index(b"IHDR")
    data[i + 4:i + 14] = struct.pack(">IIBB", width, height, depth, colour)
    data[i + 17:i + 21] = struct.pack(">I", zlib.crc32(bytes(data[i:i + 17])))
    return bytes(data) + tail


@FUZZ
@given(st.integers(0, 2**31 - 1), st.integers(0, 2**31 - 1), st.sampled_from([1, 2, 4, 8, 16, 3]),
       st.sampled_from([0, 2, 3, 4, 6, 5]), st.binary(max_size=64))
def test_png_any_header(width, height, depth, colour, tail):
    """Any claimed size, bit depth and colour type in a PNG's IHDR: an image tensor or DcganError
    (PIL's own errors, its DecompressionBombError included, never escape)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "x.png"
        path.write_bytes(_png(width, height, depth, colour, tail))
        result = bounded(load_image, path, 1, 2)
        assert isinstance(result, (torch.Tensor, DcganError))


json_values = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_subnormal=False)
                           | st.text(max_size=8), lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=8), inner, max_size=3), max_leaves=8)
ARCH_KEYS = ["model", "channels", "resolution", "noise_dim", "pack", "spectral_norm", "ngf", "ndf", "width"]


def _arch(model, fields, junk):
    return {"model": model, **fields, **junk}


archs = st.builds(_arch, st.sampled_from([*PRESETS, "nope", 3]),
                  st.dictionaries(st.sampled_from(ARCH_KEYS[1:]),
                                  st.integers(-5, 5000) | json_values, max_size=8),
                  st.dictionaries(st.sampled_from(ARCH_KEYS[1:]) | st.text(max_size=6), json_values, max_size=2))


footprint(PRESETS["dcgan64"].arch())  # the meta device's first use imports modules (~60 MB traced), once


def check_and_count(meta):
    meta = check_meta(meta, "fuzz.safetensors", (GENERATOR,))
    return footprint(meta["arch"])


@FUZZ
@given(archs, st.dictionaries(st.sampled_from(["batch_size", "sample_bn", "data"]),
                              st.integers(-5, 10**9) | json_values, max_size=3) | json_values,
       json_values)
@example({"model": "dcgan64", "channels": 3, "resolution": 1024, "noise_dim": 4096, "ngf": 4096,
          "ndf": 1}, {"batch_size": 256}, 0)
@example({"model": "lean", "channels": 1, "resolution": 28, "noise_dim": 64, "width": 32},
         {"batch_size": 10**9}, 3)
def test_weights_metadata_any_values(arch, config, step):
    """Any values for the architecture's fields and the config's batch size: the one schema
    (``check_meta``) passes only what the preset table builds within MAX_PARAMETERS, or DcganError."""
    meta = {"format": GENERATOR, "arch": arch, "config": config, "step": step}
    assert isinstance(bounded(check_and_count, meta), (Footprint, DcganError))


state_values = json_values | st.builds(lambda n: torch.zeros(n, dtype=torch.uint8), st.integers(0, 8))


@FUZZ
@given(st.dictionaries(st.sampled_from(["step", "epoch", "batch", "opt_g", "opt_d", "rng", "torch_rng",
                                        "arch", "config", "elapsed", "scaler", "rollbacks"]),
                       state_values, max_size=12) | state_values)
def test_training_state_any_schema(state):
    """Any loadable structure where training_state.pt belongs: a dict with the schema's keys and
    types, or DcganError (never AttributeError, KeyError or TypeError)."""
    result = bounded(check_state, state, Path("fuzz.pt"))
    assert isinstance(result, (dict, DcganError))
