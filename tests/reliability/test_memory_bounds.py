"""Small files that claim a lot are refused before dcgan allocates, measured as a real process would.

Each test writes a hostile file of a few KB, then reads it in a fresh subprocess through dcgan's
own loader and measures that subprocess's peak resident memory (``ru_maxrss`` of a wrapper's only
child; ``tracemalloc`` cannot see torch's or PIL's allocations). The peak must stay within
``BUDGET_MIB`` of a baseline process that imports the same modules and reads nothing, and the
loader must refuse with the limit's own one-line message. The child also runs under an address
space limit of its baseline plus ``HEADROOM_MIB``, so a loader without the check fails here with
a MemoryError (a different message) instead of taking the machine's memory.
"""

from __future__ import annotations

import io
import json
import os
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

import dcgan
from dcgan import checkpoint as ckpt
from dcgan.models import build_generator, get_preset

BUDGET_MIB = 400     # a refusal may cost this much above the baseline process
HEADROOM_MIB = 1024  # the child's address space above its baseline (a missing check fails, not swaps)
SRC = str(Path(dcgan.__file__).resolve().parents[1])

WRAPPER = r"""
import resource, subprocess, sys
child = subprocess.run([sys.executable, "-c", sys.argv[1]], capture_output=True, text=True)
print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)  # KiB: the child's peak RSS
sys.stdout.write(child.stdout)
sys.stdout.write(child.stderr)
"""

PRELUDE = f"""
import re, resource, sys
import numpy, torch, PIL.Image, safetensors.torch
import dcgan.cli, dcgan.checkpoint, dcgan.data.folder, dcgan.generation.sampling, dcgan.metrics, dcgan.training.state
from dcgan.errors import DcganError
vm = int(re.search(r"VmSize:\\s+(\\d+)", open("/proc/self/status").read()).group(1)) * 1024
resource.setrlimit(resource.RLIMIT_AS, (vm + {HEADROOM_MIB} * 2**20, resource.RLIM_INFINITY))
"""


def peak_rss_mib(body: str) -> tuple[float, str]:
    """(peak RSS in MiB of a fresh python running PRELUDE + ``body``, its output)."""
    env = {**os.environ, "PYTHONPATH": SRC, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", WRAPPER, PRELUDE + body], capture_output=True,
                          text=True, env=env, timeout=120)
    first, _, rest = proc.stdout.partition("\n")
    return int(first) / 1024, rest


@pytest.fixture(scope="module")
def baseline_mib() -> float:
    return peak_rss_mib("pass")[0]


def refused(cases: list[tuple[str, str]], baseline: float) -> float:
    """Run each ``(expression, message)`` in one fresh process (each expression reads a hostile
    file); assert each is refused with a one-line DcganError containing its message, and that the
    process's peak RSS (so every refusal's) stays within the budget; return the MiB above baseline."""
    body = "".join(f"try:\n    {expr}\n    print('ACCEPTED', {i})\n"
                   f"except DcganError as exc:\n    print('REFUSED', {i}, str(exc).replace(chr(10), '|'))\n"
                   for i, (expr, _) in enumerate(cases))
    peak, out = peak_rss_mib(body)
    lines = {int(line.split()[1]): line for line in out.splitlines() if line.startswith(("REFUSED", "ACCEPTED"))}
    for i, (expr, message) in enumerate(cases):
        line = lines.get(i, f"(no result: {out[-1500:]})")
        assert line.startswith("REFUSED") and message in line and "|" not in line, (expr, line)
    above = peak - baseline
    print(f"{len(cases)} refusals: peak RSS {peak:.0f} MiB, baseline {baseline:.0f} MiB, {above:+.0f} MiB")
    assert above < BUDGET_MIB, f"peak RSS {peak:.0f} MiB, {above:.0f} MiB above the baseline"
    return above


def weights(path: Path, arch: dict, config: dict | None = None, tensors: dict | None = None,
            fmt: str = "dcgan-generator") -> Path:
    meta = {"format": fmt, "arch": arch, "config": config or {}, "step": 0}
    save_file(tensors or {"w": torch.zeros(1)}, str(path), metadata={k: json.dumps(v) for k, v in meta.items()})
    assert tensors is not None or path.stat().st_size < 2000
    return path


# -- weights metadata: the architecture and the config's batch size ------------------------------

HUGE = [
    ("generator", {"model": "dcgan64", "channels": 3, "resolution": 64, "noise_dim": 100,
                   "ngf": 4096, "ndf": 64}, "parameters"),
    ("generator", {"model": "lean", "channels": 1, "resolution": 1024, "noise_dim": 4096,
                   "width": 4096}, "parameters"),
    ("generator", {"model": "tf-tutorial", "channels": 1, "resolution": 28, "noise_dim": 10**9},
     "noise_dim"),
    ("generator", {"model": "tf-tutorial", "channels": 1, "resolution": 2**20, "noise_dim": 100},
     "resolution"),
    ("discriminator", {"model": "dcgan64", "channels": 3, "resolution": 64, "noise_dim": 100,
                       "ngf": 64, "ndf": 4096, "pack": 64}, "parameters"),
    ("discriminator", {"model": "lean", "channels": 1, "resolution": 28, "noise_dim": 64,
                       "width": 32, "pack": 10**6}, "pack"),
]


def test_weights_metadata_claiming_a_huge_model_or_batch_is_refused_before_building(tmp_path, baseline_mib):
    """Architectures out of range or over MAX_PARAMETERS; tensors that do not fit the architecture
    they name (12.7 M parameters claimed, 1 float held); a config batch size whose BatchNorm
    re-estimation would need 10^8 images' activations."""
    cases = []
    for i, (part, arch, message) in enumerate(HUGE):
        fmt = "dcgan-generator" if part == "generator" else "dcgan-discriminator"
        path = weights(tmp_path / f"{i}.safetensors", arch, fmt=fmt)
        cases.append((f"dcgan.generation.loading.load_{part}({str(path)!r})", message))
    path = weights(tmp_path / "unfit.safetensors", get_preset("dcgan64").arch())
    cases.append((f"dcgan.generation.loading.load_generator({str(path)!r})", "do not fit"))
    arch = get_preset("tf-tutorial").arch(resolution=8)
    G = build_generator(arch)
    path = weights(tmp_path / "batch.safetensors", arch, config={"batch_size": 10**8},
                   tensors={k: v.contiguous() for k, v in G.state_dict().items()})
    cases.append((f"dcgan.generation.loading.load_generator({str(path)!r}, bn='precise')", "activations"))
    refused(cases, baseline_mib)


# -- training_state.pt -----------------------------------------------------------------------------

def _state_zip(path: Path, numel: int) -> Path:
    """A torch.save zip of {"x": float tensor}, its pickle claiming ``numel`` elements, its storage
    member ``numel`` zero floats, deflated (streamed, zlib level 1): a few MB on disk."""
    buf = io.BytesIO()
    torch.save({"x": torch.zeros(16)}, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    n = b"J" + struct.pack("<i", numel)
    with zipfile.ZipFile(path, "w", compresslevel=1) as zf:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename.endswith("data.pkl"):
                body = body.replace(b"K\x10tq\x07Q", n + b"tq\x07Q").replace(b"K\x00K\x10\x85", b"K\x00" + n + b"\x85")
                assert body.count(n) == 2
                zf.writestr(info, body)
            elif info.filename.endswith("data/0"):
                member_info = zipfile.ZipInfo(info.filename)
                member_info.compress_type = zipfile.ZIP_DEFLATED
                with zf.open(member_info, "w", force_zip64=True) as member:
                    zero = bytes(16 << 20)
                    for _ in range(numel * 4 // len(zero)):
                        member.write(zero)
            else:
                zf.writestr(info, body)
    return path


@pytest.fixture(scope="module")
def inflating_state(tmp_path_factory) -> Path:
    """A 2 MB training_state.pt whose one storage inflates to 512 MiB."""
    folder = tmp_path_factory.mktemp("bomb")
    path = folder / ckpt.STATE_FILE
    _state_zip(path, 2**27)
    assert path.stat().st_size < 4 << 20
    return folder


def test_training_state_inflating_or_stride_tricked_is_refused_before_allocating(inflating_state, tmp_path,
                                                                                  baseline_mib):
    """A 2 MB state whose deflated storage inflates to 512 MiB; a state whose 1-byte storage is
    viewed as a 1 TiB tensor (stride 0)."""
    state = {"step": 1, "epoch": 0, "batch": 1, "opt_g": {"state": {}, "param_groups": []},
             "opt_d": {"state": {}, "param_groups": []}, "arch": {}, "config": {},
             "rng": torch.zeros(1, dtype=torch.uint8).expand(2**40),  # 1 byte viewed as 1 TiB
             "torch_rng": torch.get_rng_state()}
    torch.save(state, tmp_path / ckpt.STATE_FILE)
    assert (tmp_path / ckpt.STATE_FILE).stat().st_size < 100_000
    load = "dcgan.checkpoint.load_state(__import__('pathlib').Path({!r}))"
    refused([(load.format(str(inflating_state)), "compressed member"),
             (load.format(str(tmp_path)), "over 1 bytes of storage")], baseline_mib)


# -- arrays and images given to eval / discriminate -------------------------------------------------

def _npz_claiming(path: Path, shape: tuple[int, ...], body: bytes = b"") -> Path:
    head = io.BytesIO()
    np.lib.format.write_array_header_2_0(head, {"descr": "|u1", "fortran_order": False, "shape": shape})
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("images.npy", head.getvalue() + body)
    return path


def png_claiming(path: Path, width: int, height: int) -> Path:
    """A valid PNG of one pixel whose header is rewritten to claim width x height (CRC fixed)."""
    import zlib

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (1, 1)).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = data.index(b"IHDR")
    data[ihdr + 4:ihdr + 12] = struct.pack(">II", width, height)
    data[ihdr + 17:ihdr + 21] = struct.pack(">I", zlib.crc32(bytes(data[ihdr:ihdr + 17])))
    path.write_bytes(bytes(data))
    return path


def test_arrays_and_images_claiming_more_than_they_hold_are_refused_before_allocating(tmp_path, baseline_mib):
    """npz headers claiming 10^13 bytes, or 600 MiB over 1 KB; an npy claiming 1,000 MiB over 1 KB;
    PNG headers claiming 8000x8000 (64 MP, under PIL's own bomb limit) and 100000x100000 pixels,
    read as eval, discriminate and a training folder read them."""
    read = "dcgan.metrics.read_array(__import__('pathlib').Path({!r}), 1, 28)"
    cases = [(read.format(str(_npz_claiming(tmp_path / "a.npz", (10**13,), bytes(1000)))), "more than dcgan reads"),
             (read.format(str(_npz_claiming(tmp_path / "b.npz", (600, 1, 1024, 1024), bytes(1000)))), "but holds")]
    head = io.BytesIO()
    np.lib.format.write_array_header_2_0(head, {"descr": "|u1", "fortran_order": False,
                                                "shape": (1000, 1, 1024, 1024)})
    (tmp_path / "c.npy").write_bytes(head.getvalue() + bytes(1000))
    cases.append((read.format(str(tmp_path / "c.npy")), "but holds"))
    for size in ((8000, 8000), (100_000, 100_000)):
        png = png_claiming(tmp_path / f"{size[0]}.png", *size)
        folder = tmp_path / f"imgs{size[0]}"
        folder.mkdir()
        png_claiming(folder / "0.png", *size)
        cases += [(f"dcgan.images.load_image({str(png)!r}, 3, 64)", "pixels"),
                  (f"dcgan.metrics.read_folder(__import__('pathlib').Path({str(folder)!r}), 3, 64)", "pixels"),
                  # a training folder skips (and counts) it, then has nothing left
                  (f"dcgan.data.folder.load_folder({str(folder)!r}, 64, {str(tmp_path / 'data')!r})",
                   "none of the 1 image files")]
    refused(cases, baseline_mib)
