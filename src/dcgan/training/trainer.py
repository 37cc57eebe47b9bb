"""The training loop: one tight loop over a device-resident uint8 data set.

The Trainer builds what a run needs from a resolved TrainConfig (models, optimisers, the update
scheme's StepContext, the CUDA graph, trackers and health checks) and ``fit()`` trains. It writes
into the run folder (``runs/0001-tf-tutorial-mnist/``, claimed by run.py):

* ``config.json`` — the resolved TrainConfig, written before step 0;
* ``stats.jsonl`` — one line per logging interval (losses, D outputs, gradient norms, images/s,
  elapsed), and an ``{"event": "nan_rollback"}`` line for each ``--on-nan rollback``;
* ``samples/epoch_0001.png`` — a grid from 16 fixed noise vectors after every epoch;
* ``progress.gif`` — those grids animated, at the end;
* ``checkpoints/step_*/`` — see checkpoint.py; every ``ckpt_every`` epochs, at the end, on Ctrl-C.

Determinism: the weights come from ``torch.manual_seed(seed)``; every random draw inside a step
(noise, resampled indices, soft labels) comes from one ``torch.Generator`` whose state is
checkpointed; dropout draws from the global generator, also checkpointed; the data order of epoch
``e`` is a permutation seeded by ``(seed, e)``, so a checkpoint only needs (epoch, batch) to
continue exactly where it stopped.
"""

from __future__ import annotations

import math
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .. import checkpoint as ckpt
from .. import data as datasets
from ..devices import configure, describe, pick_device, sync
from ..errors import DcganError
from ..fsutil import append_jsonl
from ..generation import batchnorm
from ..images import make_grid, save_gif, save_png, to_unit
from ..models import build_discriminator, build_generator, get_preset
from ..models.layers import add_dropout
from . import conditioning, distributed, graphs, schedule, signals, speed
from . import state as run_state
from .config import TrainConfig
from .health import make_health, norms
from .losses import LOSSES
from .progress import Progress, nan_advice, summary
from .trackers import make_trackers
from .updates import UPDATES, StepContext, run_update

N_FIXED = 16                 # the tutorial's 4x4 grid of fixed noise vectors
FIXED_NOISE_SEED = 1_000_003  # offset so the grid's noise never equals the first training batch
STATS_KEYS = ("d_loss", "g_loss", "d_x", "d_g_z")


class _RolledBack(Exception):
    """Raised inside the loop after a NaN rollback restored a checkpoint; fit() starts over from it."""


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The data order of one epoch: a pure function of (seed, epoch), so resume needs no state."""
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return torch.randperm(n, generator=g)


class Trainer:
    """Builds everything a run needs from a TrainConfig and trains it; ``fit()`` does the work."""

    def __init__(self, cfg: TrainConfig, run_dir: Path, state: dict[str, Any] | None = None,
                 resume_from: Path | None = None, data: datasets.ImageSet | None = None):
        """``state``/``resume_from``: a checkpoint to continue from (run.py); ``data``: train on
        these images instead of loading ``cfg.data`` (``dcgan bench``'s synthetic set)."""
        self.cfg, self.run_dir = cfg, run_dir
        # Under torchrun: one process per device, each training on its shard of every global batch.
        self.dist = distributed.setup(cfg.device)
        self.device = self.dist.device if self.dist.world > 1 else pick_device(cfg.device)
        cfg.precision = configure(self.device, cfg.precision)  # "auto" made concrete, as config.json saves it
        self.speed = speed.resolve(cfg, self.device)  # Adam implementation, memory format
        self.preset = get_preset(cfg.model)
        self.loss = LOSSES[cfg.loss]

        train = self._load_data() if data is None else data
        self.n = len(train)
        conditioning.count_clusters(cfg, self.n)  # --clusters auto made concrete, as config.json saves it
        # --cond: the labels' classes; --clusters: clusters of the images, and their shares
        say = (lambda m: print(f"dcgan: {m}", file=sys.stderr)) if self.dist.rank == 0 else None
        train, names, prior = conditioning.labelled(cfg, train, run_dir, say, state)
        self.arch = self.preset.arch(channels=cfg.channels or train.images.shape[1],
                                     resolution=cfg.resolution or self._native_res(train), pack=cfg.pack,
                                     spectral_norm=cfg.spectral_norm, cond=cfg.cond, class_names=names,
                                     class_prior=prior, class_source="clusters" if cfg.clusters else "labels",
                                     **cfg.arch_options)
        self.labels = train.labels.to(self.device) if names else None  # (N,) int64, beside the images
        self.images = datasets.fit_images(train.images, self.arch["channels"],
                                          self.arch["resolution"]).to(self.device)
        self.batches_per_epoch = math.ceil(self.n / cfg.batch_size)
        self.local_batch = distributed.local_batch(cfg.batch_size, self.dist.world)
        last = self.n - (self.batches_per_epoch - 1) * cfg.batch_size  # the epoch's last batch
        if cfg.pack > 1 and (self.local_batch % cfg.pack or last % (cfg.pack * self.dist.world)):
            raise DcganError(f"--pack {cfg.pack}: every batch D sees must hold whole packs, but with "
                             f"{self.n} images, batch {cfg.batch_size} and {self.dist.world} process(es) "
                             f"one holds {last if last % (cfg.pack * self.dist.world) else self.local_batch}; "
                             "change --batch-size or --limit")

        torch.manual_seed(cfg.seed)
        self.G = build_generator(self.arch).to(self.device)
        self.D = build_discriminator(self.arch).to(self.device)
        if cfg.g_dropout:
            add_dropout(self.G, cfg.g_dropout)
        if self.speed.channels_last:
            self.G, self.D = self.G.to(memory_format=torch.channels_last), self.D.to(memory_format=torch.channels_last)
        # A CUDA-graphed step needs Adam's step count on the device (capturable), decided up front.
        self.use_graphs = graphs.wanted(cfg, self.device, self.dist)
        adam = self.speed.adam_kwargs(capturable=self.use_graphs)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr=cfg.lr_g, betas=(cfg.beta1, cfg.beta2),
                                      eps=cfg.adam_eps, **adam)
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr=cfg.lr_d, betas=(cfg.beta1, cfg.beta2),
                                      eps=cfg.adam_eps, **adam)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=cfg.precision == "fp16")
        self.ema = _ema(self.G, cfg.ema) if cfg.ema else None  # --ema: an average of G's weights
        self.rng = torch.Generator(self.device).manual_seed(cfg.seed)
        self.fixed_noise = torch.randn(N_FIXED, self.arch["noise_dim"],
                                       generator=torch.Generator().manual_seed(cfg.seed + FIXED_NOISE_SEED)
                                       ).to(self.device)
        # --cond: one row per class, the same noise in every row (conditioning.fixed_inputs)
        self.fixed_noise, self.fixed_labels, self.grid_row = conditioning.fixed_inputs(self.arch, self.fixed_noise)
        self.step, self.epoch, self.batch = 0, 0, 0
        # Schedules run over --epochs; --max-steps stops a run early like Ctrl-C (so a run stopped
        # by it and resumed follows the same schedule as one that never stopped).
        self.schedule_steps = cfg.epochs * self.batches_per_epoch
        self.total_steps = min(self.schedule_steps, cfg.max_steps or self.schedule_steps)
        self.lr_scale = 1.0  # rollbacks multiply it (state.rollback); --lr-schedule runs on top
        self.elapsed = 0.0
        self._epoch_start = time.perf_counter()  # when the running epoch began (stats' elapsed_s)
        self.stop_reason: str | None = None  # set by Ctrl-C / SIGTERM: finish the step, save, stop
        self.last_row: dict[str, Any] | None = None  # the newest stats.jsonl line
        self.rollbacks = 0
        self.update = UPDATES[cfg.update]
        self._graphed: graphs.GraphedStep | None = None
        if state is not None:
            assert resume_from is not None
            run_state.restore(self, state, resume_from)
            self.rollbacks = int(state.get("rollbacks") or 0)
            self.lr_scale = float(state.get("lr_scale") or 1.0)
        # Wrappers last: weights are loaded into, and saved from, the plain modules (speed.unwrap).
        self.G, self.D = speed.wrap(self.G, self.D, cfg.compile, self.dist)
        # What the update scheme may touch (updates.py), built once over the wrapped modules.
        self.ctx = StepContext(G=self.G, D=self.D, opt_g=self.opt_g, opt_d=self.opt_d, scaler=self.scaler,
                               loss=self.loss, rng=self.rng, noise_dim=self.arch["noise_dim"],
                               device=self.device, precision=cfg.precision, images=self.images,
                               n_critic=cfg.n_critic, gp_weight=cfg.gp_weight or 0.0,
                               soft_labels=cfg.soft_labels, label_flip=cfg.label_flip,
                               r1=cfg.r1, r2=cfg.r2, reg_every=cfg.reg_every,
                               policy=tuple(a for a in cfg.augment.split(",") if a),
                               cond=cfg.cond, classes=self.arch.get("classes", 0),
                               class_edges=conditioning.class_edges(self.arch, self.device))
        if self.use_graphs:
            self._graphed = graphs.GraphedStep(self.ctx, self.update, self.ema, cfg.ema, self.local_batch)
        if self.dist.rank:  # other ranks draw their own noise and dropout masks
            saved = (state or {}).get("rank_rng") or []
            if len(saved) == self.dist.world:  # resumed on the same world size: exactly where it was
                run_state.set_rng(self, saved[self.dist.rank])
            else:                              # a new run, or a new world size: a fresh stream
                seed = cfg.seed + distributed.RANK_SEED_STRIDE * self.dist.rank + self.step
                self.rng.manual_seed(seed)
                torch.manual_seed(seed)
        self.trackers = make_trackers(self)  # epochs.jsonl, --tensorboard, report.html at the end
        self.health = make_health(self)      # --eval-every, else the default watch (health.py)

    # -- setup -------------------------------------------------------------------------------
    def _load_data(self) -> datasets.ImageSet:
        cfg = self.cfg
        train = datasets.load_any(cfg.data, "train", cfg.data_dir, self.preset.resolution)
        if cfg.limit:
            train = datasets.ImageSet(train.images[: cfg.limit],
                                      None if train.labels is None else train.labels[: cfg.limit],
                                      train.classes, train.name)
        if len(train) == 0:
            raise DcganError(f"data set {cfg.data} has no images")
        return train

    def _native_res(self, train: datasets.ImageSet) -> int:
        res = train.images.shape[-1]
        if train.images.shape[-2] != res:
            raise DcganError(f"{self.cfg.data} images are not square; pass --resolution")
        return res

    def load_optimizers(self, state: dict[str, Any]) -> None:
        """Both optimisers' saved state, run with this run's Adam kernel (speed.load_optimizer).

        New state tensors invalidate a captured CUDA graph, and so do the new learning rates that
        rollbacks set next, so the graph is dropped here and captured again after warm-up.
        """
        for opt, key in ((self.opt_g, "opt_g"), (self.opt_d, "opt_d")):
            speed.load_optimizer(opt, state[key])
        if self._graphed is not None:
            self._graphed.reset()

    # -- the loop -------------------------------------------------------------------------------
    def train_step(self, real: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """One update of the preset's scheme (``y``: the real labels under --cond), then of the
        --ema average; replayed as one CUDA graph where possible (graphs.py)."""
        schedule.apply(self)  # --lr-schedule, --gamma-schedule at this step
        if self._graphed is not None:
            return self._graphed(real, self.step, y)
        stats = run_update(self.update, self.ctx, real, self.step, y)
        if self.ema is not None:
            self.ema.update_parameters(speed.unwrap(self.G))
        return stats

    def real_batch(self, perm: torch.Tensor, b: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Batch ``b`` of an epoch's permutation, as float [-1, 1] (this rank's shard under DDP),
        and its labels under --cond (None otherwise), gathered by the same indices."""
        idx = perm[b * self.cfg.batch_size:(b + 1) * self.cfg.batch_size]
        if self.dist.world > 1:  # this rank's shard of the global batch
            idx = idx[self.dist.rank::self.dist.world]
        real = to_unit(self.images[idx])  # gather uint8 first: 4x less memory traffic than float
        y = None if self.labels is None else self.labels[idx]
        return real.contiguous(memory_format=torch.channels_last) if self.speed.channels_last else real, y

    def fit(self) -> Path:
        while True:
            try:
                return self._fit()
            except _RolledBack:  # --on-nan rollback restored a checkpoint: go on from there
                continue

    def _fit(self) -> Path:
        cfg = self.cfg
        if cfg.on_nan == "rollback" and not ckpt.all_checkpoints(self.run_dir / "checkpoints"):
            self.save()  # something to roll back to even if the very first interval diverges
        total_steps = self.total_steps
        handlers = signals.install(self.request_stop)
        self.G.train()
        self.D.train()
        acc = torch.zeros(len(STATS_KEYS), device=self.device)
        acc_n, acc_imgs, t_log = 0, 0, time.perf_counter()
        last_saved = self.step
        if self.dist.rank == 0:
            print(f"dcgan: training {cfg.model} on {cfg.data} ({self.n} images, "
                  f"{self.arch['resolution']}x{self.arch['resolution']}x{self.arch['channels']}) on "
                  f"{describe(self.device)}{self.dist.describe()}; run folder {self.run_dir}", file=sys.stderr)
        self._progress = Progress(self, total_steps)
        try:
            while (self.epoch < cfg.epochs and self.step < total_steps and not self.stop_reason
                   and not self.out_of_time()):
                perm = epoch_permutation(self.n, cfg.seed, self.epoch).to(self.device)
                t_epoch = self._epoch_start = time.perf_counter()
                while self.batch < self.batches_per_epoch:
                    real, y = self.real_batch(perm, self.batch)
                    acc += self.train_step(real, y)  # G and D, and the EMA under --ema
                    self.step += 1
                    self.batch += 1
                    acc_n += 1
                    acc_imgs += len(real)
                    self._progress.step()
                    if self.step % cfg.log_every == 0:
                        acc, acc_n, acc_imgs, t_log = self._log(acc, acc_n, acc_imgs, t_log)
                    if cfg.ckpt_every_steps and self.step % cfg.ckpt_every_steps == 0:
                        self._save_progress(t_epoch)
                        last_saved = self.step
                    if self.stop_reason or self.step >= total_steps or self.out_of_time():
                        break
                sync(self.device)  # queued GPU work belongs to this epoch's time
                self.elapsed += time.perf_counter() - t_epoch
                self._epoch_start = time.perf_counter()  # nothing of this epoch is left to count
                if self.batch >= self.batches_per_epoch:  # a whole epoch is done
                    self.epoch, self.batch = self.epoch + 1, 0
                    secs = time.perf_counter() - t_epoch
                    self._progress.epoch(self.epoch)
                    self._epoch_end(secs)
                    if self.epoch % cfg.ckpt_every == 0:
                        self.save()
                        last_saved = self.step
            if acc_n:
                self._log(acc, acc_n, acc_imgs, t_log)
            if self.step != last_saved or not ckpt.all_checkpoints(self.run_dir / "checkpoints"):
                self.save()
        finally:
            self._progress.close()
            signals.restore(handlers)
        if self.dist.rank == 0:
            frames = sorted((self.run_dir / "samples").glob("epoch_*.png"))
            if self.batch:  # stopped mid-epoch: a grid of where it stopped, the GIF's last frame
                frames.append(save_png(self.sample_grid(), self.run_dir / "samples" /
                                       f"step_{self.step:09d}.png", scale=2))
            if frames:
                save_gif(frames, self.run_dir / "progress.gif")
        self.trackers.finish(self.run_dir)
        if self.dist.rank == 0:
            print(summary(self, self.last_row), file=sys.stderr)
        if self.stop_reason:
            raise KeyboardInterrupt(self.stop_reason)
        return self.run_dir

    def out_of_time(self) -> bool:
        """--max-minutes is spent: the run has trained that long in all (epoch-end work excluded)."""
        limit = self.cfg.max_minutes
        return limit is not None and self.elapsed + time.perf_counter() - self._epoch_start >= 60 * limit

    def _save_progress(self, t_epoch: float) -> None:
        # Fold the running epoch's time into `elapsed` without double counting it at epoch end.
        now = time.perf_counter()
        self.elapsed += now - t_epoch
        self.save()
        self.elapsed -= now - t_epoch

    def _log(self, acc: torch.Tensor, n: int, imgs: int, t0: float):
        # The only host sync of the loop, once per interval (averaged over ranks under torchrun).
        values = distributed.all_mean(acc / n, self.dist).tolist()
        now = time.perf_counter()
        imgs *= self.dist.world
        row = {"epoch": self.epoch + 1, "step": self.step, "images_per_s": round(imgs / (now - t0), 1),
               "elapsed_s": round(self.elapsed + now - self._epoch_start, 2)}  # this epoch so far too
        row.update({k: round(v, 6) for k, v in zip(STATS_KEYS, values)})
        health = norms(self.G, self.D)
        row.update({k: round(v, 6) for k, v in health.items() if k.endswith("grad_norm")})
        if self.scaler.is_enabled():  # fp16: inf gradients are routine, GradScaler skips those steps
            health = {k: v for k, v in health.items() if not k.endswith("grad_norm")}
        if not all(math.isfinite(v) for v in [*values, *health.values()]):
            self.save_stats([row])
            bad = [k for k, v in zip(STATS_KEYS, values) if not math.isfinite(v)]
            bad += [k for k, v in health.items() if not math.isfinite(v)]
            self._on_nonfinite(f"{', '.join(bad)} became non-finite at step {self.step}")
        self.save_stats([row])
        self.trackers.log(row)
        self._progress.log(row)
        self.last_row = row
        return torch.zeros_like(acc), 0, 0, time.perf_counter()

    def _on_nonfinite(self, problem: str) -> None:
        """--on-nan stop: a clear error. rollback: back to the newest good checkpoint with its
        position (state.rollback), then _RolledBack makes fit() go on from there."""
        if self.cfg.on_nan != "rollback":
            raise DcganError(nan_advice(self.run_dir, problem))  # how to go on, checkpoint or none
        run_state.rollback(self, ckpt.newest_good(self.run_dir), problem, "nan_rollback", position=True)
        raise _RolledBack

    def rollback_to(self, folder: Path, problem: str) -> None:
        """--on-failure rollback (health.py): the checkpoint's weights at lower learning rates,
        training on from the current step."""
        run_state.rollback(self, folder, problem, "health_rollback", position=False)

    def save_stats(self, rows: list[dict]) -> None:
        if self.dist.rank == 0:
            append_jsonl(self.run_dir / "stats.jsonl", rows)

    def _epoch_end(self, secs: float) -> None:
        if self.dist.rank != 0:
            return
        grid = self.sample_grid()
        save_png(grid, self.run_dir / "samples" / f"epoch_{self.epoch:04d}.png", scale=2)
        self.trackers.epoch_end(self, secs, grid)
        print(f"epoch {self.epoch}/{self.cfg.epochs}: {secs:.1f} s, "
              f"{self.batches_per_epoch * self.cfg.batch_size / secs:.0f} img/s, step {self.step}",
              file=sys.stderr)
        if self.health is not None:
            self.health.epoch_end(self)

    def sampler(self) -> nn.Module:
        """The generator that grids and evaluations show: the EMA one under --ema, else G."""
        return self.ema.module if self.ema is not None else speed.unwrap(self.G)

    @torch.no_grad()
    def sample_grid(self):
        # Inference mode, as the tutorial's `generator(seed, training=False)`, with BatchNorm
        # statistics per --sample-bn: re-estimated for the current weights, or the running ones.
        with batchnorm.inference(self.sampler(), self.cfg.sample_bn, self.cfg.batch_size) as G:
            fake = G(self.fixed_noise) if self.fixed_labels is None else G(self.fixed_noise, self.fixed_labels)
        return make_grid(fake, nrow=self.grid_row)

    def save(self) -> Path:
        health = norms(self.G, self.D)
        if not all(math.isfinite(v) for k, v in health.items() if k.endswith("weight_norm")):
            # Never checkpoint a diverged model: the newest checkpoint must stay a good one.
            self._on_nonfinite(f"weights became non-finite by step {self.step}")
        rank_rng = distributed.all_gather(run_state.rng_state(self), self.dist) if self.dist.world > 1 else None
        if self.dist.rank != 0:
            self.dist.barrier()  # wait for rank 0's checkpoint, so no rank races ahead of it
            return self.run_dir
        meta = {"arch": self.arch, "config": self.cfg.to_dict(), "epoch": self.epoch,
                "noise": {"distribution": "normal", "mean": 0.0, "std": 1.0, "dim": self.arch["noise_dim"]},
                "output_range": [-1.0, 1.0], "d_output": self.loss.d_output}
        path = ckpt.save(self.run_dir / "checkpoints", self.step, speed.unwrap(self.G), speed.unwrap(self.D),
                         run_state.capture(self, rank_rng), meta, keep=self.cfg.keep,
                         G_ema=self.ema.module if self.ema is not None else None)
        self.dist.barrier()
        return path

    # -- signals: Ctrl-C / SIGTERM finish the step, save, and stop ----------------------------
    def request_stop(self, reason: str) -> None:
        """Stop after the current step, with a checkpoint (what Ctrl-C and SIGTERM do)."""
        self.stop_reason = reason


def _ema(G: nn.Module, decay: float) -> nn.Module:
    """An exponential moving average of G's weights (buffers follow G), updated after every step."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(G, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=False)
