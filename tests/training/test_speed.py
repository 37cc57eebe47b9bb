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
    assert (cpu.adam, cpu.channels_last) == ("foreach", False)
    assert (gpu.adam, gpu.channels_last) == ("fused", True)
    assert fast.resolve(resolve({"channels_last": False}), torch.device("cuda")).channels_last is False
    assert fast.resolve(resolve({"channels_last": True}), torch.device("cpu")).channels_last is True


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
    nhwc = _weights_after_two_steps(channels_last=True)
    assert torch.isfinite(nhwc).all() and nhwc.shape == reference.shape
