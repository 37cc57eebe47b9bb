"""CUDA graphs: which steps cannot be graphed and why, that a graphed step computes what the eager
step computes, and that a graphed GPU run resumes on the CPU. The CPU tests run everywhere; the
``gpu`` ones need CUDA (run them on a GPU machine with ``pytest -m gpu``)."""

import pytest
import torch

import dcgan
from dcgan import checkpoint as ckpt
from dcgan.errors import DcganError
from dcgan.training import graphs
from dcgan.training.config import resolve
from dcgan.training.distributed import Dist

from conftest import TINY_32

cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
ONE_PROCESS = Dist(rank=0, world=1, device=torch.device("cpu"))


@pytest.mark.parametrize("overrides, reason", [
    ({"update": "keras-gan"}, "keras-gan"),
    ({"n_critic": 2}, "--n-critic"),
    ({"loss": "wgan-gp"}, "gradient penalty"),
    ({"precision": "fp16"}, "fp16"),
    ({"compile": True}, "--compile"),
])
def test_steps_that_cannot_be_graphed_say_why(overrides, reason):
    cfg = resolve({"device": "cuda", **overrides})
    assert reason in graphs.why_not(cfg, torch.device("cuda"), ONE_PROCESS)


def test_graphs_are_for_cuda_only_and_on_is_refused_elsewhere(tiny_mnist, tmp_path):
    cfg = resolve({})
    assert "CUDA device" in graphs.why_not(cfg, torch.device("cpu"), ONE_PROCESS)
    assert graphs.wanted(cfg, torch.device("cpu"), ONE_PROCESS) is False  # auto: quietly eager
    with pytest.raises(DcganError, match="--cuda-graphs on: CUDA graphs need a CUDA device"):
        dcgan.train(out=str(tmp_path / "run"), device="cpu", cuda_graphs="on", max_steps=1, **TINY_32)
    assert not (tmp_path / "run" / "checkpoints").exists() or not ckpt.all_checkpoints(tmp_path / "run" / "checkpoints")
    with pytest.raises(DcganError, match="unknown --cuda-graphs"):
        graphs.wanted(resolve({"cuda_graphs": "sometimes"}), torch.device("cpu"), ONE_PROCESS)


@cuda
@pytest.mark.gpu
@pytest.mark.parametrize("ema", [0.0, 0.9])
def test_graphed_steps_compute_what_eager_steps_compute(tiny_mnist, tmp_path, ema):
    """Warm-up, capture, replays and the partial last batch, over three epochs (21 steps)."""
    torch.backends.cudnn.deterministic = True  # the same algorithms in both runs
    runs = {}
    for mode in ("off", "on"):
        runs[mode] = dcgan.train(out=str(tmp_path / mode), device="cuda", cuda_graphs=mode, epochs=3,
                                 sample_bn="running", ema=ema, **TINY_32)
    (eager,), (graphed,) = (ckpt.all_checkpoints(runs[m] / "checkpoints") for m in ("off", "on"))
    assert eager.name == graphed.name == "step_000000021"
    se, sg = ckpt.load_state(eager), ckpt.load_state(graphed)
    # Every random draw happened, in the same order: the generators end in the same state.
    assert torch.equal(se["rng"], sg["rng"]) and torch.equal(se["cuda_rng"], sg["cuda_rng"])
    if ema:  # the average took every step, inside the graph as well
        assert se["ema_n_averaged"].item() == sg["ema_n_averaged"].item() == 21
    for f in (ckpt.G_FILE, ckpt.D_FILE, *([ckpt.EMA_FILE] if ema else [])):
        from safetensors.torch import load_file

        a, b = load_file(eager / f), load_file(graphed / f)
        for k in a:
            torch.testing.assert_close(a[k], b[k], rtol=1e-3, atol=1e-4, msg=f"{f}:{k}")


@cuda
@pytest.mark.gpu
def test_a_graphed_gpu_run_resumes_on_the_cpu(tiny_mnist, tmp_path):
    run = dcgan.train(out=str(tmp_path / "run"), device="cuda", max_steps=8, **TINY_32)
    state = ckpt.load_state(ckpt.all_checkpoints(run / "checkpoints")[-1])
    assert state["opt_g"]["param_groups"][0]["capturable"] is True  # it really was graphed
    dcgan.train(resume=run, device="cpu", max_steps=10)
    assert ckpt.all_checkpoints(run / "checkpoints")[-1].name == "step_000000010"
