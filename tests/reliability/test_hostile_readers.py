"""Property-based fuzzing of the CIFAR-10 tarball reader and the image-folder reader.

Each test builds a small valid input (a CIFAR-10 tarball with two-image batches; a folder of PNG and
JPEG files), then feeds the reader random bytes, truncations and byte flips of it. The reader must
return data or fail with dcgan's own error, and nothing else: ``DcganError``, or ``SourceFailed``
for the CIFAR reader (one source failing; ``sources.first_working`` turns it into a ``DcganError``
naming every source tried). Unreadable images in a folder are skipped and counted, never a crash.
No hang (2 s hypothesis deadline per example) and bounded memory (tracemalloc peak under 64 MiB).
"""

from __future__ import annotations

import io
import pickle
import shutil
import tarfile
import tempfile
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dcgan.data import cifar
from dcgan.data.folder import load_folder
from dcgan.data.sources import SourceFailed
from dcgan.errors import DcganError

from conftest import bounded

FUZZ = settings(max_examples=80, deadline=2000, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
CLEAN = (DcganError, SourceFailed)


def mutate(data: bytes, cut: int, flips: list[tuple[int, int]]) -> bytes:
    """``data`` cut to ``cut`` bytes (when shorter than it), with ``flips`` XORed in."""
    out = bytearray(data[:cut] if cut < len(data) else data)
    for pos, mask in flips:
        if out:
            out[pos % len(out)] ^= mask or 1
    return bytes(out)


MUTATIONS = (st.integers(0, 1 << 16), st.lists(st.tuples(st.integers(0, 1 << 16), st.integers(0, 255)), max_size=8))


# -- CIFAR-10 --------------------------------------------------------------------------------------
def cifar_batch(n: int, seed: int, protocol: int = 2) -> bytes:
    rng = np.random.default_rng(seed)
    batch = {b"batch_label": b"fuzz", b"labels": [int(v) for v in rng.integers(0, 10, n)],
             b"data": rng.integers(0, 256, (n, 3 * cifar.SIDE * cifar.SIDE), dtype=np.uint8),
             b"filenames": [b"x.png"] * n}
    return pickle.dumps(batch, protocol=protocol)


def cifar_members() -> dict[str, bytes]:
    members = {name: cifar_batch(2, i) for i, name in enumerate((*cifar.TRAIN_BATCHES, *cifar.TEST_BATCHES))}
    members[cifar.META] = pickle.dumps({b"label_names": [c.encode() for c in cifar.CLASSES],
                                        b"num_cases_per_batch": 2}, protocol=2)
    return members


def cifar_tarball(mode: str = "w:gz") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:
        for name, data in cifar_members().items():
            info = tarfile.TarInfo(f"{cifar.FOLDER}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


TAR_GZ, TAR = cifar_tarball("w:gz"), cifar_tarball("w")


def read_tarball(data: bytes):
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / cifar.TARBALL
        path.write_bytes(data)
        return cifar.from_tarball(path)


def test_the_valid_cifar_tarball_reads():
    for data in (TAR_GZ, TAR):
        sets = read_tarball(data)
        assert sets["train"].images.shape == (10, 3, 32, 32) and sets["test"].images.shape == (2, 3, 32, 32)
        assert sets["train"].classes == cifar.CLASSES


@FUZZ
@given(st.binary(max_size=4096))
def test_cifar_tarball_random_bytes(data):
    assert isinstance(bounded(read_tarball, data, clean=CLEAN), CLEAN)


@FUZZ
@given(st.booleans(), *MUTATIONS)
def test_cifar_tarball_truncated_or_flipped(gz, cut, flips):
    valid = TAR_GZ if gz else TAR
    bounded(read_tarball, mutate(valid, cut, [(p * 7, m) for p, m in flips]), clean=CLEAN)


@FUZZ
@given(st.sampled_from([2, 3, 4]), *MUTATIONS)
def test_cifar_batch_truncated_or_flipped(protocol, cut, flips):
    """Mutations inside one batch pickle, past the tar and gzip layers that would catch most."""
    members = cifar_members()
    members["data_batch_1"] = mutate(cifar_batch(2, 0, protocol), cut, flips)
    bounded(cifar.decode_batches, members, cifar.TRAIN_BATCHES, "fuzz", clean=CLEAN)


# -- image folders ---------------------------------------------------------------------------------
def image_bytes(fmt: str, seed: int, size=(12, 9)) -> bytes:
    from PIL import Image

    rgb = np.random.default_rng(seed).integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, format=fmt)
    return buf.getvalue()


IMAGES = {"a/one.png": image_bytes("PNG", 0), "a/two.jpg": image_bytes("JPEG", 1),
          "b/three.png": image_bytes("PNG", 2), "b/four.jpeg": image_bytes("JPEG", 3)}


def read_folder(files: dict[str, bytes]):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "images"
        for rel, data in files.items():
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)
        try:
            return load_folder(root, 8, data_dir=Path(tmp) / "cache")
        finally:
            shutil.rmtree(root, ignore_errors=True)


def skipped_count(err: str) -> int:
    for line in err.splitlines():
        if line.startswith("dcgan: skipped "):
            return int(line.split()[2])
    return 0


def test_the_valid_folder_reads(capsys):
    data = read_folder(IMAGES)
    assert data.images.shape == (4, 3, 8, 8) and data.classes == ["a", "b"]
    assert skipped_count(capsys.readouterr().err) == 0


@FUZZ
@given(st.sampled_from(sorted(IMAGES)), *MUTATIONS)
def test_folder_with_one_damaged_image(capsys, victim, cut, flips):
    """One truncated or byte-flipped image: the others load, or it is skipped and counted."""
    files = dict(IMAGES, **{victim: mutate(IMAGES[victim], cut, flips)})
    capsys.readouterr()
    data = bounded(read_folder, files, clean=CLEAN)
    assert not isinstance(data, Exception), data  # three good images are always there
    skipped = skipped_count(capsys.readouterr().err)
    assert skipped in (0, 1) and len(data.images) == 4 - skipped


@FUZZ
@given(st.lists(st.binary(max_size=2048), min_size=1, max_size=3), st.sampled_from(["png", "jpg", "webp"]))
def test_folder_of_random_bytes(capsys, blobs, ext):
    """Files that only claim to be images: each skipped and counted, then one clear error for none."""
    capsys.readouterr()
    data = bounded(read_folder, {f"x/{i}.{ext}": b for i, b in enumerate(blobs)}, clean=CLEAN)
    err = capsys.readouterr().err
    if isinstance(data, DcganError):
        assert "could be read" in str(data) and skipped_count(err) == len(blobs)
    else:  # random bytes that happen to decode (vanishingly rare) must still be a proper image set
        assert not isinstance(data, Exception) and len(data.images) + skipped_count(err) == len(blobs)
