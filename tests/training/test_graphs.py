"""CUDA graphs: which steps cannot be graphed and why, that a graphed step computes what the eager
step computes (class-conditional ones too: on a stand-in graph on the CPU, and on CUDA), and that a
graphed GPU run resumes on the CPU. The CPU tests run everywhere; the
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


LEAN_COND = {"model": "lean", "r1": 0.0, "r2": 0.0}  # the lean recipe's R1/R2 are not graphed


@cuda
@pytest.mark.gpu
@pytest.mark.parametrize("ema, settings", [(0.0, {}), (0.9, {}), (0.9, {**LEAN_COND, "cond": "projection"}),
                                           (0.0, {**LEAN_COND, "cond": "acgan"})],
                         ids=["plain", "ema", "cond-projection-ema", "cond-acgan"])
def test_graphed_steps_compute_what_eager_steps_compute(tiny_mnist, tmp_path, ema, settings):
    """Warm-up, capture, replays and the partial last batch, over three epochs (21 steps); under
    --cond with the real labels copied in and the fakes' drawn inside the graph."""
    torch.backends.cudnn.deterministic = True  # the same algorithms in both runs
    runs = {}
    for mode in ("off", "on"):
        runs[mode] = dcgan.train(out=str(tmp_path / mode), device="cuda", cuda_graphs=mode, epochs=3,
                                 sample_bn="running", ema=ema, **TINY_32, **settings)
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


# -- class-conditional runs (--cond): labels in the graph -----------------------------------------
COND = {"device": "cuda", "model": "lean", "cond": "projection", "r1": 0.0, "r2": 0.0}


class _FakeGraph:
    """torch.cuda.CUDAGraph on the CPU, to check what GraphedStep feeds a graph: a capture records
    the calls made inside ``torch.cuda.graph`` (without running them, as a real capture computes
    nothing), a replay runs them again on the same tensors, as a real replay reruns its kernels on
    the same memory. So a replay sees only what was copied into the static inputs."""

    capturing: "_FakeGraph | None" = None

    def __init__(self):
        self.calls, self.generators = [], []

    def register_generator_state(self, g):
        self.generators.append(g)

    def replay(self):
        for call in self.calls:
            call()


def _fake_cuda(monkeypatch):
    import contextlib

    from dcgan.training import graphs as g

    class Stream:
        def __init__(self, device=None):
            pass

        def wait_stream(self, other):
            pass

    @contextlib.contextmanager
    def capture(graph):
        _FakeGraph.capturing = graph
        try:
            yield
        finally:
            _FakeGraph.capturing = None

    real_update = g.run_update

    def run_update(update, ctx, real, step, y=None):
        graph = _FakeGraph.capturing
        if graph is None:
            return real_update(update, ctx, real, step, y)
        out = torch.zeros(4)  # the graph's static output, filled in by each replay
        graph.calls.append(lambda: out.copy_(real_update(update, ctx, real, step, y)))
        return out

    for name, value in (("CUDAGraph", _FakeGraph), ("graph", capture), ("Stream", Stream),
                        ("stream", lambda s: contextlib.nullcontext()), ("current_stream", lambda device=None: Stream()),
                        ("synchronize", lambda device=None: None)):
        monkeypatch.setattr(torch.cuda, name, value)
    monkeypatch.setattr(g, "run_update", run_update)


def test_a_conditional_run_is_graphed_unless_its_batch_is_too_big_for_the_embeddings_capture(monkeypatch):
    monkeypatch.setattr(torch.cuda, "CUDAGraph", _FakeGraph)  # a torch whose graphs take a generator
    cuda_device = torch.device("cuda")
    for cond in ("projection", "acgan"):
        assert graphs.why_not(resolve({**COND, "cond": cond}), cuda_device, ONE_PROCESS) is None
        big = resolve({**COND, "cond": cond, "batch_size": graphs.EMBEDDING_CAPTURE_MAX + 1})
        assert "class embeddings' backward" in graphs.why_not(big, cuda_device, ONE_PROCESS)
        assert graphs.why_not(resolve({**COND, "cond": cond, "batch_size": graphs.EMBEDDING_CAPTURE_MAX}),
                              cuda_device, ONE_PROCESS) is None
    assert graphs.why_not(resolve({**COND, "cond": "none", "batch_size": 4096}), cuda_device, ONE_PROCESS) is None
    # the lean recipe's R1/R2 are what keeps its default conditional run eager, said as for any run
    assert "gradient penalty" in graphs.why_not(resolve({"device": "cuda", "model": "lean", "cond": "acgan"}),
                                                cuda_device, ONE_PROCESS)


@pytest.mark.parametrize("cond", ["projection", "acgan"])
def test_a_graphed_conditional_step_replays_with_each_batch_s_labels(monkeypatch, cond):
    """GraphedStep on a stand-in graph (CPU): warm-up, capture, replays and a partial batch compute
    exactly what eager steps compute, so each replay trains on its own batch's labels (copied into
    the static label buffer) and draws the fakes' labels afresh from the run's generator."""
    from dcgan.models import build_discriminator, build_generator, get_preset
    from dcgan.training.losses import LOSSES
    from dcgan.training.updates import UPDATES, StepContext, run_update

    _fake_cuda(monkeypatch)
    arch = get_preset("lean").arch(resolution=8, cond=cond, class_names=[str(i) for i in range(4)], width=4)

    def context():
        torch.manual_seed(0)
        G, D = build_generator(arch), build_discriminator(arch)
        return StepContext(G=G, D=D, opt_g=torch.optim.Adam(G.parameters(), 1e-3),
                           opt_d=torch.optim.Adam(D.parameters(), 1e-3),
                           scaler=torch.amp.GradScaler("cpu", enabled=False), loss=LOSSES["rpgan"],
                           rng=torch.Generator().manual_seed(1), noise_dim=G.noise_dim,
                           device=torch.device("cpu"), precision="fp32", images=None, cond=cond, classes=4)

    data = torch.Generator().manual_seed(2)
    batches = [(torch.rand(n, 1, 8, 8, generator=data) * 2 - 1, torch.randint(0, 4, (n,), generator=data))
               for n in [6] * 6 + [3] + [6] * 2]  # 3 warm-up, capture, replays, a partial batch, replays
    eager, graphed = context(), context()
    step = graphs.GraphedStep(graphed, UPDATES["simultaneous"], None, 0.0, batch=6)
    for i, (real, y) in enumerate(batches):
        expected = run_update(UPDATES["simultaneous"], eager, real, i, y)
        torch.testing.assert_close(step(real.clone(), i, y.clone()), expected, rtol=0, atol=0)
    assert step.graph is not None and step.graph.generators == [graphed.rng]  # it did capture, with the rng
    assert torch.equal(step.static_y, batches[-1][1])  # the last replay's labels, copied in
    for a, b in zip([*eager.G.parameters(), *eager.D.parameters()], [*graphed.G.parameters(), *graphed.D.parameters()]):
        assert torch.equal(a, b)
    assert torch.equal(eager.rng.get_state(), graphed.rng.get_state())
