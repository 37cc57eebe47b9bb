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
"""

from __future__ import annotations

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


class Health:
    """The ``--eval-every`` checks of one run; the Trainer calls ``epoch_end`` after each grid."""

    def __init__(self, trainer: Trainer) -> None:
        from .. import data as datasets
        from ..metrics import real_features
        from ..metrics.features import ClassifierFeatures
        from ..metrics.registry import gaussian_stats

        cfg = trainer.cfg
        self.every, self.on_failure = cfg.eval_every, cfg.on_failure
        self.sample_bn, self.batch_size = cfg.sample_bn, cfg.batch_size
        self.run_dir: Path = trainer.run_dir
        self.spec = datasets.get_spec(cfg.data)  # a folder of images has no evaluator
        self.ext = ClassifierFeatures(cfg.data, "cpu")
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
                    mode_min_count=self.ext.protocol.mode_min_count)
        cls = classes(sets)
        return {METRIC: round(frechet_distance(*self.real_stats, *gaussian_stats(feats)), 4),
                "modes": cls["modes"], "n_modes": cls["n_modes"],
                "kl_uniform": round(cls["kl_uniform"], 5)}

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
        path = self.run_dir / "stats.jsonl"
        rows = read_jsonl(path)[self.stats_seen:] if path.exists() else []
        self.stats_seen += len(rows)
        rows = [r for r in rows if "event" not in r]  # rollback events are not intervals
        if len(rows) >= MIN_ROWS:
            if self.probability and all(r["d_x"] > D_WINS_REAL and r["d_g_z"] < D_WINS_FAKE for r in rows):
                problems.append(("d_wins", f"D(x) > {D_WINS_REAL} and D(G(z)) < {D_WINS_FAKE} in all "
                                           f"{len(rows)} logged intervals since the last check"))
            spread = max(max(r[k] for r in rows) - min(r[k] for r in rows) for k in ("d_loss", "g_loss"))
            if spread < FROZEN_SPREAD:
                problems.append(("frozen", f"d_loss and g_loss have not moved in {len(rows)} logged "
                                           "intervals"))
        return problems

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


def make_health(trainer: Trainer) -> Health | None:
    return Health(trainer) if trainer.cfg.eval_every else None
