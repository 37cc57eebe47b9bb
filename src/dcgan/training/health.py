"""Evaluation and health checks during training (``--eval-every K --on-failure warn|stop|rollback``).

Every K epochs the ``EvalMonitor`` generates ``EVAL_N`` images from a fixed noise tensor, measures
them with the data set's evaluator classifier against the test split (FID in its feature space,
modes covered, KL to uniform) and appends one line to the run's ``metrics.jsonl``. The checkpoint
with the best FID is saved and recorded as the run's best (``checkpoint.mark_best``: the one record
that pruning, the report and resume read). Then it looks for
the failures the DCGAN tutorials warn about:

* modes covered falling (mode collapse);
* D wins: D(x) -> 1 and D(G(z)) -> 0 through every logged interval since the last check;
* losses that stop moving.

(Non-finite losses are caught by the training loop itself.) On a failure it warns, stops (after a
checkpoint), or rolls back to the best checkpoint at lower learning rates (state.rollback, the same
mechanism as ``--on-nan rollback``), per ``--on-failure``. Every warning says what happened and
what to try.

Without ``--eval-every`` (``eval_every`` None), a run on a data set with a shipped evaluator
(classifiers.PROTOCOLS) is still *watched*: ``Watch`` classifies ``WATCH_N`` fixed samples after
every epoch (modes covered and KL to uniform, no real data, no checkpoint: about 0.1 s, see
BENCHMARKS.md), appends them to ``metrics.jsonl`` and warns, in the console and the report, when
modes covered fall, D wins or the losses freeze. ``--eval-every 0`` turns it off. Like the sample
grid it draws from its own generator and samples a copy of G (or G in eval mode, restored), so the
training's numbers are the same with and without it.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from .. import checkpoint as ckpt
from ..errors import DcganError
from ..fsutil import append_jsonl, read_jsonl
from ..generation import batchnorm
from ..generation.sampling import render
from . import state as run_state
from .speed import unwrap

if TYPE_CHECKING:
    from .trainer import Trainer

EVAL_N = 2000                 # images per check: ~1 s of classifier time on a CPU
EVAL_BATCH = 500              # generator batch while measuring
EVAL_NOISE_SEED = 2_000_029   # offset from the run seed, so eval noise differs from the grid's
METRIC = "fid2k_classifier"   # the protocol in the name: n = 2000, classifier features, test split
MODES_DROP = 2                # modes lost since the best check that count as collapse
D_WINS_REAL, D_WINS_FAKE = 0.95, 0.05
MIN_ROWS = 3                  # logged intervals needed to call a stretch "long"
FROZEN_SPREAD = 1e-6          # max - min of a loss over the stretch below which it is "frozen"
WATCH_N = 1000                # images per default watch: 10 classes x 100 (a check ~0.1 s, BENCHMARKS.md)
WATCH_NOISE_SEED = 3_000_017  # its own noise, apart from the grid's and the eval's
WATCH_MODES = "modes1k_classifier"   # the protocol in the names, like METRIC
WATCH_KL = "kl1k_classifier"
WATCH_KL_SHARES = "kl_marginals1k_classifier"  # digit tuples (Stacked MNIST): the KL in each digit's shares
WATCH_DROP_SHARE = 0.1        # a fall below the peak by this share (and >= MODES_DROP modes) is collapse:
                              # with 1000 modes and n = 1000 coverage wobbles by ~10, 10 % is 6 sigma

ADVICE = {
    "modes": "mode collapse; try a lower learning rate, --soft-labels or --label-flip 0.05, or "
             "roll back with --on-failure rollback",
    "d_wins": "the discriminator wins and G gets no gradient; try --soft-labels, --label-flip 0.05, "
              "a lower --lr-d or --g-dropout",
    "frozen": "training has stalled; check the learning rate (too low?) and that the data loads",
}


def norms(G: torch.nn.Module, D: torch.nn.Module) -> dict[str, float]:
    """Norms of G's and D's weights and latest gradients: one host sync, once per log line.

    A norm is finite exactly when every element is (or nearly: an overflowing norm also means
    the run has diverged), so four numbers cover every weight and gradient.
    """
    values, names = [], []
    for tag, module in (("g", G), ("d", D)):
        params = list(module.parameters())
        grads = [p.grad.detach() for p in params if p.grad is not None]
        values.append(torch.linalg.vector_norm(torch.stack(
            [torch.linalg.vector_norm(p.detach().float()) for p in params])))
        names.append(f"{tag}_weight_norm")
        if grads:
            values.append(torch.linalg.vector_norm(torch.stack(
                [torch.linalg.vector_norm(g.float()) for g in grads])))
            names.append(f"{tag}_grad_norm")
    return dict(zip(names, torch.stack(values).tolist()))


def classifier(data: str, device: str):
    """The data set's evaluator features, loaded without a draw from the global random stream:
    building the network initialises its layers before the shipped weights replace them, and that
    stream is the training's (dropout masks, and it is checkpointed)."""
    from ..metrics.features import ClassifierFeatures

    with torch.random.fork_rng(devices=[]):
        return ClassifierFeatures(data, device)


class Health:
    """The ``--eval-every`` checks of one run; the Trainer calls ``epoch_end`` after each grid."""

    def __init__(self, trainer: Trainer) -> None:
        from .. import data as datasets
        from ..metrics import real_features
        from ..metrics.registry import gaussian_stats

        cfg = trainer.cfg
        self.every, self.on_failure = cfg.eval_every, cfg.on_failure
        self.sample_bn, self.batch_size = cfg.sample_bn, cfg.batch_size
        self.run_dir: Path = trainer.run_dir
        self.spec = datasets.get_spec(cfg.data)  # a folder of images has no evaluator
        self.ext = classifier(cfg.data, "cpu")
        real, _, _ = real_features(cfg.data, self.ext, EVAL_N, data_dir=cfg.data_dir)
        self.real_stats = gaussian_stats(real)
        self.noise = torch.randn(EVAL_N, trainer.arch["noise_dim"],
                                 generator=torch.Generator().manual_seed(cfg.seed + EVAL_NOISE_SEED))
        self.probability = trainer.loss.probability
        best = ckpt.read_best(self.run_dir) or {}
        mine = best.get("metric") == METRIC
        self.best_fid = best.get("value", float("inf")) if mine else float("inf")
        self.best_ckpt: str | None = best.get("checkpoint") if mine else None
        self.best_modes = best.get("modes", 0) if mine else 0
        self.stats_seen = len(read_jsonl(self.run_dir / "stats.jsonl")) \
            if (self.run_dir / "stats.jsonl").exists() else 0

    @torch.no_grad()
    def measure(self, G: torch.nn.Module) -> dict[str, Any]:
        from ..data import fit_images
        from ..metrics.registry import Sets, classes, frechet_distance, gaussian_stats

        with batchnorm.inference(unwrap(G), self.sample_bn, self.batch_size) as G:
            imgs = torch.cat(list(render(G, self.noise, EVAL_BATCH)))
        imgs = fit_images(imgs, self.spec.channels, self.spec.resolution)
        feats, probs, labels = self.ext(imgs)
        sets = Sets(self.real_stats[0], feats, probs, labels, n_classes=self.ext.n_classes,
                    **self.ext.protocol.counting())
        cls = classes(sets)
        return {METRIC: round(frechet_distance(*self.real_stats, *gaussian_stats(feats)), 4),
                "modes": cls["modes"], "n_modes": cls["n_modes"],
                "kl_uniform": round(cls["kl_uniform"], 5), **digit_shares(cls, "kl_marginals")}

    def epoch_end(self, trainer: Trainer) -> None:
        if trainer.epoch % self.every:
            return
        row = {"epoch": trainer.epoch, "step": trainer.step, **self.measure(trainer.sampler())}
        fid = row[METRIC]
        problems = self._health(row)
        if fid < self.best_fid:
            path = trainer.save()
            self.best_fid, self.best_ckpt, self.best_modes = fid, path.name, row["modes"]
            row["best"] = True
            ckpt.mark_best(self.run_dir, path, METRIC, fid, modes=row["modes"])
        append_jsonl(self.run_dir / "metrics.jsonl", [row])
        print(f"eval epoch {trainer.epoch}: {METRIC} {fid:.3f}, modes {row['modes']}/{row['n_modes']}, "
              f"KL {row['kl_uniform']:.4f}{' (best)' if row.get('best') else ''}", file=sys.stderr)
        for kind, what in problems:
            self._react(trainer, kind, what)

    def _health(self, row: dict[str, Any]) -> list[tuple[str, str]]:
        problems = []
        if self.best_ckpt and row["modes"] <= self.best_modes - MODES_DROP:
            problems.append(("modes", f"modes covered fell from {self.best_modes} to {row['modes']} "
                                      f"of {row['n_modes']}"))
        found, self.stats_seen = stats_problems(self.run_dir, self.stats_seen, self.probability)
        return problems + found

    def _react(self, trainer: Trainer, kind: str, what: str) -> None:
        message = f"{what} at epoch {trainer.epoch} (step {trainer.step}): {ADVICE[kind]}"
        action = self.on_failure
        if action == "rollback" and (not self.best_ckpt or trainer.rollbacks >= run_state.MAX_ROLLBACKS):
            action = "stop" if self.best_ckpt else "warn"
        append_jsonl(self.run_dir / "metrics.jsonl", [{"epoch": trainer.epoch, "step": trainer.step,
                                                       "event": kind, "action": action,
                                                       "message": message}])
        if action == "warn":
            print(f"dcgan: warning: {message}", file=sys.stderr)
        elif action == "stop":
            trainer.save()
            raise DcganError(f"{message}. Training stopped (--on-failure stop; checkpoint saved; "
                             f"best so far: {self.best_ckpt or 'none'})")
        else:
            trainer.rollback_to(self.run_dir / "checkpoints" / self.best_ckpt, f"warning: {message}")


def stats_problems(run_dir: Path, seen: int, probability: bool) -> tuple[list[tuple[str, str]], int]:
    """D winning or frozen losses in the stats.jsonl lines after the first ``seen``; returns the
    problems found and the new count of lines seen."""
    path = run_dir / "stats.jsonl"
    rows = read_jsonl(path)[seen:] if path.exists() else []
    seen += len(rows)
    keys = ("d_x", "d_g_z", "d_loss", "g_loss")
    rows = [r for r in rows if "event" not in r and all(isinstance(r.get(k), (int, float)) for k in keys)]
    problems = []
    if len(rows) >= MIN_ROWS:
        if probability and all(r["d_x"] > D_WINS_REAL and r["d_g_z"] < D_WINS_FAKE for r in rows):
            problems.append(("d_wins", f"D(x) > {D_WINS_REAL} and D(G(z)) < {D_WINS_FAKE} in all "
                                       f"{len(rows)} logged intervals since the last check"))
        spread = max(max(r[k] for r in rows) - min(r[k] for r in rows) for k in ("d_loss", "g_loss"))
        if spread < FROZEN_SPREAD:
            problems.append(("frozen", f"d_loss and g_loss have not moved in {len(rows)} logged "
                                       "intervals"))
    return problems, seen


def digit_shares(cls: dict[str, Any], key: str) -> dict[str, float]:
    """``{key: the KL in the digits' shares}`` for digit tuples (Stacked MNIST), else {}. Over 1,000
    triples the KL of 1,000 or 2,000 samples is mostly noise (~0.6); over each channel's 10 digits it
    is not (~0.014 at 1,000), so a channel that draws some digits too often shows while a run trains."""
    return {key: round(cls["kl_marginals"], 5)} if "kl_marginals" in cls else {}


class Watch:
    """The default watch (``eval_every`` None): modes covered and KL of ``WATCH_N`` fixed samples
    after every epoch, warnings only; it never saves, stops or rolls back."""

    def __init__(self, trainer: Trainer) -> None:
        cfg = trainer.cfg
        self.run_dir: Path = trainer.run_dir
        self.sample_bn, self.batch_size = cfg.sample_bn, cfg.batch_size
        # the classifier runs where training does: on a GPU a check is milliseconds
        self.ext = classifier(cfg.data, str(trainer.device))
        self.noise = torch.randn(WATCH_N, trainer.arch["noise_dim"],
                                 generator=torch.Generator().manual_seed(cfg.seed + WATCH_NOISE_SEED))
        self.probability = trainer.loss.probability
        before = read_jsonl(self.run_dir / "metrics.jsonl")  # a resumed run keeps its peak
        self.peak = max((r[WATCH_MODES] for r in before if isinstance(r.get(WATCH_MODES), int)), default=0)
        self.stats_seen = len(read_jsonl(self.run_dir / "stats.jsonl"))
        self.active: set[str] = set()  # problems warned about and not yet over: warn once each

    @torch.no_grad()
    def measure(self, G: torch.nn.Module) -> dict[str, Any]:
        from ..data import fit_images
        from ..metrics.registry import Sets, classes

        with batchnorm.inference(unwrap(G), self.sample_bn, self.batch_size) as G:
            imgs = torch.cat(list(render(G, self.noise, EVAL_BATCH)))
        imgs = fit_images(imgs.cpu(), self.ext.channels, 28)
        _, probs, labels = self.ext(imgs)
        cls = classes(Sets(None, None, probs, labels, n_classes=self.ext.n_classes,
                           **self.ext.protocol.counting()))
        return {WATCH_MODES: cls["modes"], "n_modes": cls["n_modes"], WATCH_KL: round(cls["kl_uniform"], 5),
                **digit_shares(cls, WATCH_KL_SHARES)}

    def epoch_end(self, trainer: Trainer) -> None:
        row = {"epoch": trainer.epoch, "step": trainer.step, **self.measure(trainer.sampler())}
        modes, n_modes = row[WATCH_MODES], row["n_modes"]
        problems = []
        if modes <= self.peak - max(MODES_DROP, math.ceil(WATCH_DROP_SHARE * self.peak)):
            problems.append(("modes", f"modes covered fell from {self.peak} to {modes} of {n_modes} "
                                      f"({WATCH_N} samples)"))
        self.peak = max(self.peak, modes)
        found, self.stats_seen = stats_problems(self.run_dir, self.stats_seen, self.probability)
        problems += found
        rows = [row]
        for kind, what in problems:
            if kind in self.active:
                continue
            message = f"{what} at epoch {trainer.epoch} (step {trainer.step}): {ADVICE[kind]}"
            rows.append({"epoch": trainer.epoch, "step": trainer.step, "event": kind, "action": "warn",
                         "message": message})
            print(f"dcgan: warning: {message}", file=sys.stderr)
        self.active = {kind for kind, _ in problems}
        append_jsonl(self.run_dir / "metrics.jsonl", rows)


def watchable(data: str) -> bool:
    """Whether ``data`` has a shipped evaluator, so the default watch can run."""
    from ..metrics.classifiers import PROTOCOLS

    return data in PROTOCOLS


def make_health(trainer: Trainer) -> Health | Watch | None:
    """``--eval-every K``: Health; unset: the default Watch where the data set has an evaluator
    (a note, not a failure, if its classifier cannot load); 0: nothing."""
    every = trainer.cfg.eval_every
    if every:
        return Health(trainer)
    if every is not None or trainer.dist.rank or not watchable(trainer.cfg.data):
        return None
    try:
        return Watch(trainer)
    except DcganError as exc:
        print(f"dcgan: note: sample quality is not watched ({exc})", file=sys.stderr)
        return None
