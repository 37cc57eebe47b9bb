"""CUDA graphs: one whole training step (G and D forward, both backward passes, both Adam updates)
captured once and replayed, so a step costs one launch instead of a few hundred.

On a GPU the tf-tutorial step is a few milliseconds of small convolutions; launched one by one from
Python, the launch overhead is as large as the work itself. A captured step replays the same
kernels on the same memory: the real batch (and its labels under ``--cond``) is copied into static
input tensors, every random draw
(noise, labels, dropout masks) comes from generators registered with the graph, so each replay draws
fresh numbers exactly as an eager step would, Adam runs with ``capturable=True`` so its step
count lives on the device, and an ``--ema`` average is updated inside the graph too.

What the graph cannot express runs eagerly, with the same math: a batch of another size (the
epoch's last, partial batch), and the first ``WARMUP_STEPS`` steps (cuDNN picks its algorithms and
autograd allocates gradients before capture). Anything that replaces the optimisers' state tensors
or their learning rates (a resume, a rollback) calls ``reset()``: the graph is captured again.

``--cuda-graphs auto`` (the default) uses a graph where one is possible: on CUDA, one process,
no ``--compile``, the simultaneous or alternating updates with ``--n-critic 1``, no gradient
penalty (it differentiates through D's gradient), no fp16 (GradScaler checks for inf on the host).

A ``--cond`` run is graphed like any other: the real labels are copied into a static buffer beside
the real images before each replay, and the fakes' labels are drawn inside the step from the run's
registered generator (``StepContext.generate``), so every replay draws fresh ones. Only a batch over
``EMBEDDING_CAPTURE_MAX`` labels is refused: there nn.Embedding's backward (G's class scales and
shifts, a projection D's embedding) sorts its indices with a host sync, which a capture cannot hold.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING

import torch

from ..errors import DcganError
from .speed import unwrap
from .updates import UPDATES, StepContext, Update, run_update

if TYPE_CHECKING:
    from .config import TrainConfig
    from .distributed import Dist

WARMUP_STEPS = 3  # eager steps before capture: cuDNN autotuning and gradient allocation
# Up to this many indices nn.Embedding's CUDA backward runs one kernel; above, it sorts them and
# syncs with the host, and a capture fails (pytorch/pytorch#82886).
EMBEDDING_CAPTURE_MAX = 3072


def why_not(cfg: TrainConfig, device: torch.device, dist: Dist) -> str | None:
    """The reason a training step cannot be one CUDA graph, or None when it can."""
    if device.type != "cuda":
        return f"CUDA graphs need a CUDA device (this run is on {device.type})"
    if dist.world > 1:
        return "CUDA graphs are not used under torchrun (DistributedDataParallel)"
    if cfg.compile:
        return "--compile brings its own graphs; drop one of the two"
    if UPDATES[cfg.update].not_graphed:
        return UPDATES[cfg.update].not_graphed
    if cfg.n_critic != 1:
        return "--n-critic > 1 makes steps differ; use --n-critic 1"
    if cfg.gp_weight or cfg.r1 or cfg.r2:
        return "a gradient penalty (WGAN-GP, --r1, --r2) differentiates through D's gradient"
    if cfg.lr_schedule != "constant":
        return "--lr-schedule changes the learning rate every step; a graph holds it fixed"
    if cfg.precision == "fp16":
        return "fp16's GradScaler checks for infinities on the host; use --precision bf16"
    if cfg.cond != "none" and cfg.batch_size > EMBEDDING_CAPTURE_MAX:
        return (f"--cond with --batch-size {cfg.batch_size}: the class embeddings' backward syncs with the "
                f"host above {EMBEDDING_CAPTURE_MAX} labels; use --batch-size {EMBEDDING_CAPTURE_MAX} or less")
    if not hasattr(torch.cuda.CUDAGraph, "register_generator_state"):
        return f"torch {torch.__version__} cannot register a generator with a CUDA graph (needs >= 2.6)"
    return None


def wanted(cfg: TrainConfig, device: torch.device, dist: Dist) -> bool:
    """Whether this run replays its steps as a CUDA graph, per ``--cuda-graphs`` (checked by config)."""
    mode = cfg.cuda_graphs
    if mode == "off":
        return False
    reason = why_not(cfg, device, dist)
    if reason and mode == "on":
        raise DcganError(f"--cuda-graphs on: {reason}; use --cuda-graphs auto or off")
    return reason is None


class GraphedStep:
    """One training step (the update, then the --ema average) for a graphed run: eager warm-up,
    capture, then replays. Called with the same arguments as the eager step."""

    def __init__(self, ctx: StepContext, update: Update, ema: torch.nn.Module | None, ema_decay: float,
                 batch: int):
        self.ctx, self.update, self.ema, self.ema_decay = ctx, update, ema, ema_decay
        self.batch = batch  # the per-process batch the graph is captured for
        self.reset()

    def reset(self) -> None:
        """Forget the graph (its memory goes back to the allocator); the next steps warm up anew."""
        self.graph: torch.cuda.CUDAGraph | None = None
        self.static_real: torch.Tensor | None = None
        self.static_y: torch.Tensor | None = None  # the real labels under --cond
        self.static_stats: torch.Tensor | None = None
        self.static_grads: list[tuple[torch.Tensor, torch.Tensor]] = []
        self.eager_steps = 0
        self.stream: torch.cuda.Stream | None = None
        self._grads_moved = False

    def __call__(self, real: torch.Tensor, step: int, y: torch.Tensor | None = None) -> torch.Tensor:
        if len(real) != self.batch:           # the epoch's partial last batch: same math, eagerly
            self._grads_moved = self.graph is not None
            return self._eager(real, step, y)
        if self.graph is None:
            if self.eager_steps < WARMUP_STEPS:
                return self._warmup(real, step, y)
            self._capture(real, step, y)
        self.static_real.copy_(real)
        if y is not None:
            self.static_y.copy_(y)
        self.graph.replay()
        if self.ema is not None:
            self.ema.n_averaged += 1  # AveragedModel counts on the host; the graph did the average
        if self._grads_moved:  # an eager step re-pointed .grad; the graph still writes its own
            for p, g in self.static_grads:
                p.grad = g
            self._grads_moved = False
        return self.static_stats

    def _warmup(self, real: torch.Tensor, step: int, y: torch.Tensor | None) -> torch.Tensor:
        # Warm-up on a side stream, as torch.cuda.graphs asks: these are real training steps.
        if self.stream is None:
            self.stream = torch.cuda.Stream(device=real.device)
        self.stream.wait_stream(torch.cuda.current_stream(real.device))
        with torch.cuda.stream(self.stream):
            stats = self._eager(real, step, y)
        torch.cuda.current_stream(real.device).wait_stream(self.stream)
        self.eager_steps += 1
        return stats

    def _eager(self, real: torch.Tensor, step: int, y: torch.Tensor | None = None) -> torch.Tensor:
        with warnings.catch_warnings():  # capturable Adam outside a capture, on purpose
            warnings.filterwarnings("ignore", message=".*capturable=True.*")
            stats = run_update(self.update, self.ctx, real, step, y)
        if self.ema is not None:
            self.ema.update_parameters(unwrap(self.ctx.G))
        return stats

    def _capture(self, real: torch.Tensor, step: int, y: torch.Tensor | None) -> None:
        ctx = self.ctx
        graph = torch.cuda.CUDAGraph()
        graph.register_generator_state(ctx.rng)  # noise and labels: fresh draws on every replay
        self.static_real = real.clone()
        self.static_y = None if y is None else y.clone()
        torch.cuda.synchronize(real.device)
        with torch.cuda.graph(graph):  # step only matters for --n-critic, which is 1 when graphed
            self.static_stats = run_update(self.update, ctx, self.static_real, step, self.static_y)
            if self.ema is not None:
                _ema_update(self.ema, unwrap(ctx.G), self.ema_decay)
        self.graph = graph
        self.static_grads = [(p, p.grad) for m in (ctx.G, ctx.D) for p in m.parameters()
                             if p.grad is not None]


def _ema_update(ema: torch.nn.Module, G: torch.nn.Module, decay: float) -> None:
    """``AveragedModel.update_parameters`` past its first update, without its host-side work.

    The same lerp as ``get_ema_multi_avg_fn(decay)``. Eagerly, AveragedModel also copies its step
    count from the host to the GPU every step, which waits for the GPU; the count is kept on the
    host by ``GraphedStep`` instead. The warm-up steps make the first, copying update.
    """
    torch._foreach_lerp_([p.detach() for p in ema.parameters()],
                         [p.detach() for p in G.parameters()], 1.0 - decay)
