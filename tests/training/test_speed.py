"""Speed settings change how the step is computed, not what it computes: defaults per device, Adam
kernels and memory format, and optimiser state saved by another kernel."""

from __future__ import annotations

import torch

from dcgan.training import speed as fast
from dcgan.training import throughput as bench
from dcgan.training.config import resolve
from dcgan.training.speed import unwrap


def test_optimizer_state_from_a_gpu_run_loads_with_this_runs_kernel():
    """A state saved by fused, capturable Adam (a graphed GPU run) resumes with CPU foreach Adam."""
    torch.manual_seed(0)
    w = torch.nn.Parameter(torch.randn(4))
    saved_opt = torch.optim.Adam([w], lr=1e-3, foreach=True)
    w.grad = torch.ones(4)
    saved_opt.step()
    saved = saved_opt.state_dict()
    saved["param_groups"][0].update(fused=True, foreach=None, capturable=True)  # as CUDA writes it

    opt = torch.optim.Adam([w], lr=1e-3, foreach=True)
    fast.load_optimizer(opt, saved)
    group = opt.param_groups[0]
    assert (group["foreach"], group["fused"], group["capturable"]) == (True, None, False)
    assert torch.equal(opt.state_dict()["state"][0]["exp_avg"], saved["state"][0]["exp_avg"])
    opt.step()  # capturable Adam would refuse CPU tensors here
    assert opt.state_dict()["state"][0]["step"].item() == 2


def test_speed_defaults_per_device_and_flags_override_them():
    cfg = resolve({})
    cpu, gpu = fast.resolve(cfg, torch.device("cpu")), fast.resolve(cfg, torch.device("cuda"))
    assert (cpu.adam, cpu.channels_last) == ("foreach", True)
    assert (gpu.adam, gpu.channels_last) == ("fused", True)
    assert fast.resolve(resolve({"channels_last": False}), torch.device("cuda")).channels_last is False
    assert fast.resolve(resolve({"channels_last": False}), torch.device("cpu")).channels_last is False
    assert fast.resolve(resolve({}), torch.device("mps")).channels_last is False


def _weights_after_two_steps(**overrides) -> torch.Tensor:
    tr = bench.make_trainer({"batch_size": 8, "device": "cpu", **overrides})
    step, _ = bench.train_stepper(tr)
    step()
    step()
    return torch.cat([p.detach().flatten() for m in (tr.G, tr.D) for p in unwrap(m).parameters()])


def test_fused_adam_and_channels_last_train_the_same_weights():
    reference = _weights_after_two_steps()
    torch.testing.assert_close(_weights_after_two_steps(adam="fused"), reference, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(_weights_after_two_steps(adam="for-loop"), reference, rtol=1e-4, atol=1e-5)
    nchw = _weights_after_two_steps(channels_last=False)
    torch.testing.assert_close(nchw, reference, rtol=1e-4, atol=1e-5)


def test_a_cpu_run_keeps_freed_memory_for_the_next_step(tmp_path):
    """A step allocates its activations and frees them; by default glibc trims the freed top of the
    heap back to the kernel (here 24 MB freed in three blocks) and the next step faults every page
    in again, zeroed. After ``keep_freed_memory`` (which ``devices.configure`` calls for every CPU
    run) the blocks are reused: no page faults. (A tf-tutorial step at batch 256: 14,000-31,000
    faults by default against 0-4,000 kept, BENCHMARKS.md; glibc's own thresholds adapt, so the
    test uses malloc directly for a deterministic count.)"""
    import subprocess
    import sys

    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    out = {}
    for mode in ("default", "kept"):
        res = subprocess.run([sys.executable, str(probe), mode], capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stderr
        kept, per_round = res.stdout.split()
        out[mode] = int(per_round)
    assert kept == "True"
    assert out["default"] > 3000  # most of the 6,144 pages of 24 MB, every round
    assert out["kept"] < 100


PROBE = """\
import ctypes, resource, sys
from dcgan import devices
kept = devices.keep_freed_memory() if sys.argv[1] == "kept" else None
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
SIZE = 8 << 20
def round_():
    blocks = [libc.malloc(SIZE) for _ in range(3)]
    for b in blocks:
        ctypes.memset(b, 1, SIZE)
    for b in blocks:
        libc.free(b)
round_(); round_()
f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(4):
    round_()
print(kept, (resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0) // 4)
"""


def test_precision_auto_is_bf16_only_on_a_cpu_with_bf16_instructions(monkeypatch):
    from dcgan import devices

    cpu, cuda = torch.device("cpu"), torch.device("cuda")
    monkeypatch.setattr(devices, "native_bf16", lambda: True)
    assert (devices.resolve_precision(cpu, "auto"), devices.resolve_precision(cuda, "auto")) == ("bf16", "fp32")
    assert devices.resolve_precision(cpu, "fp32") == "fp32" and devices.resolve_precision(cuda, "bf16") == "bf16"
    monkeypatch.setattr(devices, "native_bf16", lambda: False)  # an AVX2 CPU: bf16 was 15x slower there
    assert devices.resolve_precision(cpu, "auto") == "fp32"


def test_lean_trains_in_auto_precision_and_its_config_saves_the_one_it_used(tiny_mnist, tmp_path):
    import json

    from conftest import tiny
    from dcgan import devices
    from dcgan.models import get_preset

    assert get_preset("lean").recipe["precision"] == "auto"
    assert get_preset("tf-tutorial").recipe.get("precision", "fp32") == "fp32"  # the tutorials stay exact
    run = tiny(tmp_path / "r", model="lean", max_steps=1)
    saved = json.loads((run / "config.json").read_text())["precision"]
    assert saved == devices.resolve_precision(torch.device("cpu"), "auto") != "auto"
