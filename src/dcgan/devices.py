"""Device choice and numeric settings. Nothing here needs, or imports, a GPU library."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import platform

import torch

from .errors import DcganError

_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def pick_device(name: str = "auto") -> torch.device:
    """``auto``: CUDA, then Apple's MPS, then the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        mps = getattr(torch.backends, "mps", None)
        if mps is not None and mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(name)
    except RuntimeError:
        raise DcganError(f"unknown device {name!r}; use auto, cpu, cuda, cuda:N or mps") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise DcganError("--device cuda was asked for but no CUDA GPU is visible; use --device cpu")
    if dev.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise DcganError("--device mps was asked for but MPS is not available; use --device cpu")
    return dev


def autocast(device: torch.device, precision: str) -> contextlib.AbstractContextManager:
    if precision == "fp32":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=_DTYPES[precision])


def native_bf16() -> bool:
    """Whether this CPU has bf16 arithmetic instructions (AVX512-BF16 or AMX), which oneDNN's bf16
    convolutions need to be fast (without them bf16 was 15x slower than fp32 on an AVX2 CPU)."""
    cpu = getattr(torch, "cpu", None)
    probes = [getattr(cpu, name, None) for name in ("_is_avx512_bf16_supported", "_is_amx_tile_supported")]
    if all(callable(p) for p in probes):
        return any(p() for p in probes)
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def resolve_precision(device: torch.device, precision: str) -> str:
    """``auto``: bf16 on a CPU with bf16 instructions (there it reached better samples than fp32 in
    the same training time, BENCHMARKS.md), fp32 elsewhere; any other value as given."""
    if precision != "auto":
        return precision
    return "bf16" if device.type == "cpu" and native_bf16() else "fp32"


def configure(device: torch.device, precision: str) -> str:
    """Process-wide numeric switches that were measured to matter; returns the precision to train
    in (``auto`` resolved for this device)."""
    if device.type == "cpu":
        # Denormal floats made a bf16 CPU step ~17x slower here; flushing them costs nothing.
        torch.set_flush_denormal(True)
        keep_freed_memory()
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
    return resolve_precision(device, precision)


# glibc's mallopt parameters (malloc.h)
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
TRIM_THRESHOLD = 1 << 30  # keep up to 1 GiB of freed heap instead of returning it to the OS
MMAP_THRESHOLD = 32 << 20  # glibc's largest: blocks under 32 MiB come from the heap, not mmap


def keep_freed_memory(trim: int = TRIM_THRESHOLD, mmap: int = MMAP_THRESHOLD) -> bool:
    """Let glibc keep the memory a training step frees for the next step (CPU only).

    By default glibc hands freed blocks over 128 KiB back to the kernel, and a CPU step allocates
    and frees its activations anew each time, so every step faulted in ~120 MB of fresh zeroed
    pages (31,000 page faults and 70 ms of kernel time per tf-tutorial step here; none after this
    call). Peak memory is unchanged: what is kept is what the last step used. PyTorch's own CPU
    allocator has no cache, which is why TensorFlow (which caches) did not pay this. A no-op,
    returning False, where the C library is not glibc.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_TRIM_THRESHOLD, trim)) and bool(mallopt(M_MMAP_THRESHOLD, mmap))


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (a no-op on the CPU), e.g. before reading a clock."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def describe(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads"
