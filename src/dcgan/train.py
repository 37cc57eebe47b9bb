"""The training loop: one tight loop over a device-resident uint8 data set.

A run is a folder (``runs/0001-tf-tutorial-mnist/``):

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
import os
import re
import signal
import sys
import time
from pathlib import Path
from typing import Any

import torch
from torch import nn

from . import bnstats
from . import checkpoint as ckpt
from . import data as datasets
from . import distributed, fast, graphs
from .config import TrainConfig, check_resume, resolve
from .devices import autocast, configure, describe, pick_device, sync
from .errors import DcganError
from .fsutil import RunLock, append_jsonl, write_json
from .images import make_grid, save_gif, save_png, to_unit
from .losses import LOSSES, gradient_penalty
from .models import build_discriminator, build_generator, get_preset
from .models.layers import Dropout

N_FIXED = 16                 # the tutorial's 4x4 grid of fixed noise vectors
FIXED_NOISE_SEED = 1_000_003  # offset so the grid's noise never equals the first training batch
STATS_KEYS = ("d_loss", "g_loss", "d_x", "d_g_z")
NAN_LR_FACTOR = 0.5          # --on-nan rollback multiplies both learning rates by this
MAX_ROLLBACKS = 5            # then it gives up: the run diverges whatever the learning rate
DEVICE_CHANGE_SEED = 7_919   # reseeds the noise stream of a run resumed on another device type


class _RolledBack(Exception):
    """Raised inside the loop after a NaN rollback restored a checkpoint; fit() starts over from it."""


def epoch_permutation(n: int, seed: int, epoch: int) -> torch.Tensor:
    """The data order of one epoch: a pure function of (seed, epoch), so resume needs no state."""
    g = torch.Generator().manual_seed(seed * 100_003 + epoch)
    return torch.randperm(n, generator=g)


def new_run_dir(root: Path, model: str, data: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name.split("-")[0]) for p in root.iterdir() if p.name.split("-")[0].isdigit()]
    tag = Path(data).name if os.sep in data or Path(data).exists() else data
    tag = re.sub(r"[^A-Za-z0-9._-]+", "-", tag)  # `emoji:black` -> `emoji-black`, valid everywhere
    return root / f"{max(numbers, default=0) + 1:04d}-{model}-{tag}"


class Trainer:
    """Builds everything a run needs from a TrainConfig and trains it; ``fit()`` does the work."""

    def __init__(self, cfg: TrainConfig, run_dir: Path, state: dict[str, Any] | None = None,
                 resume_from: Path | None = None):
        self.cfg, self.run_dir = cfg, run_dir
        # Under torchrun: one process per device, each training on its shard of every global batch.
        self.dist = distributed.setup(cfg.device)
        self.device = self.dist.device if self.dist.world > 1 else pick_device(cfg.device)
        configure(self.device, cfg.precision)
        self.fast = fast.resolve(cfg, self.device)  # Adam implementation, memory format
        self.preset = get_preset(cfg.model)
        self.loss = LOSSES[cfg.loss]

        train = self._load_data()
        self.n = len(train)
        self.arch = self.preset.arch(channels=cfg.channels or train.images.shape[1],
                                     resolution=cfg.resolution or self._native_res(train),
                                     pack=cfg.pack, **cfg.arch_options)
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
            _add_dropout(self.G, cfg.g_dropout)
        if self.fast.channels_last:
            self.G, self.D = self.G.to(memory_format=torch.channels_last), self.D.to(memory_format=torch.channels_last)
        # A CUDA-graphed step needs Adam's step count on the device (capturable), decided up front.
        self.use_graphs = graphs.wanted(cfg, self.device, self.dist)
        adam = self.fast.adam_kwargs(capturable=self.use_graphs)
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
        self.step, self.epoch, self.batch = 0, 0, 0
        self.elapsed = 0.0
        self._stop: str | None = None
        self._rollbacks = 0
        from .steps import UPDATES

        self._update = UPDATES[cfg.update]
        if state is not None:
            self._restore(state, resume_from)
        # Wrappers last: weights are loaded into, and saved from, the plain modules (ckpt.unwrap).
        self.G, self.D = fast.wrap(self.G, self.D, cfg.compile, self.dist)
        self._graphed = graphs.GraphedStep(self) if self.use_graphs else None
        if self.dist.rank:  # other ranks draw their own noise and dropout masks
            saved = (state or {}).get("rank_rng") or []
            if len(saved) == self.dist.world:  # resumed on the same world size: exactly where it was
                self._set_rng(saved[self.dist.rank])
            else:                              # a new run, or a new world size: a fresh stream
                seed = cfg.seed + distributed.RANK_SEED_STRIDE * self.dist.rank + self.step
                self.rng.manual_seed(seed)
                torch.manual_seed(seed)
        from .observers import make_observers

        self.observers = make_observers(self)  # epochs.jsonl, --tensorboard, report.html at the end
        from .monitor import make_monitor

        self.monitor = make_monitor(self)  # --eval-every: metrics, best checkpoint, health checks

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

    def _restore(self, state: dict[str, Any], resume_from: Path | None) -> None:
        if state.get("arch") != self.arch:
            raise DcganError(f"the checkpoint was trained with {state.get('arch')} but this config "
                             f"builds {self.arch}; start a new run instead")
        assert resume_from is not None
        ckpt.load_weights(self.G, resume_from / ckpt.G_FILE)
        ckpt.load_weights(self.D, resume_from / ckpt.D_FILE)
        self.load_optimizers(state)
        if "scaler" in state and state["scaler"]:
            self.scaler.load_state_dict(state["scaler"])
        self._set_rng(state)
        if self.ema is not None:
            if not (resume_from / ckpt.EMA_FILE).is_file():
                raise DcganError(f"{resume_from} has no EMA generator; it was saved without --ema")
            ckpt.load_weights(self.ema.module, resume_from / ckpt.EMA_FILE)
            self.ema.n_averaged.copy_(state["ema_n_averaged"])
        self.step, self.epoch, self.batch = state["step"], state["epoch"], state["batch"]
        self.elapsed = state.get("elapsed", 0.0)

    def load_optimizers(self, state: dict[str, Any]) -> None:
        """Both optimisers' saved state, run with this run's Adam kernel (fast.load_optimizer).

        New state tensors invalidate a captured CUDA graph, and so do the new learning rates that
        rollbacks set next, so the graph is dropped here and captured again after warm-up.
        """
        for opt, key in ((self.opt_g, "opt_g"), (self.opt_d, "opt_d")):
            fast.load_optimizer(opt, state[key])
        if getattr(self, "_graphed", None) is not None:
            self._graphed.reset()

    def _set_rng(self, saved: dict[str, Any]) -> None:
        ours = self.rng.get_state()
        if saved["rng"].numel() == ours.numel():
            self.rng.set_state(saved["rng"].to(ours.device))
        else:  # saved by another device type's generator (a GPU run resumed on the CPU, or back)
            self.rng.manual_seed(self.cfg.seed + DEVICE_CHANGE_SEED + int(saved.get("step", 0)))
            print(f"dcgan: the checkpoint's noise stream comes from another device type; on "
                  f"{self.device.type} it starts afresh (the run continues, not bit for bit)", file=sys.stderr)
        torch.set_rng_state(saved["torch_rng"])
        if self.device.type == "cuda" and saved.get("cuda_rng") is not None:
            torch.cuda.set_rng_state(saved["cuda_rng"], self.device)

    def _rng_state(self) -> dict[str, Any]:
        return {"rng": self.rng.get_state(), "torch_rng": torch.get_rng_state(),
                "cuda_rng": torch.cuda.get_rng_state(self.device) if self.device.type == "cuda" else None}

    def state(self, rank_rng: list | None = None) -> dict[str, Any]:
        return {"rank_rng": rank_rng,  # under torchrun: every rank's streams, for exact resume

            "arch": self.arch, "config": self.cfg.to_dict(),
            "step": self.step, "epoch": self.epoch, "batch": self.batch, "elapsed": self.elapsed,
            "opt_g": self.opt_g.state_dict(), "opt_d": self.opt_d.state_dict(),
            "scaler": self.scaler.state_dict() if self.scaler.is_enabled() else {},
            "ema_n_averaged": self.ema.n_averaged.cpu() if self.ema is not None else None,
            **self._rng_state(),
        }

    # -- helpers used by the update schemes ---------------------------------------------------
    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.arch["noise_dim"], device=self.device, generator=self.rng)

    def autocast(self):
        return autocast(self.device, self.cfg.precision)

    def targets(self, n_real: int, n_fake: int) -> tuple[torch.Tensor | float, torch.Tensor | float]:
        """D's targets for real and fake outputs: 1 and 0, or softened / flipped per the flags."""
        cfg = self.cfg
        if not cfg.soft_labels and not cfg.label_flip:
            return 1.0, 0.0
        kw = {"device": self.device, "generator": self.rng}
        real, fake = torch.ones(n_real, device=self.device), torch.zeros(n_fake, device=self.device)
        if cfg.soft_labels:
            real = 0.7 + 0.3 * torch.rand(n_real, **kw)
            fake = 0.3 * torch.rand(n_fake, **kw)
        if cfg.label_flip:
            real = torch.where(torch.rand(n_real, **kw) < cfg.label_flip, 1 - real, real)
            fake = torch.where(torch.rand(n_fake, **kw) < cfg.label_flip, 1 - fake, fake)
        return real, fake

    def d_loss(self, real: torch.Tensor, fake: torch.Tensor, real_out: torch.Tensor,
               fake_out: torch.Tensor) -> torch.Tensor:
        rt, ft = self.targets(len(real_out), len(fake_out))
        loss = self.loss.d(real_out.float(), fake_out.float(), rt, ft)
        if self.cfg.gp_weight:
            loss = loss + self.cfg.gp_weight * gradient_penalty(self.D, real, fake, self.rng).float()
        return loss

    def readable(self, out: torch.Tensor) -> torch.Tensor:
        """What the stats call D(x): a probability for BCE, the raw score for other losses."""
        out = out.detach().float()
        return torch.sigmoid(out).mean() if self.loss.probability else out.mean()

    # -- the loop -------------------------------------------------------------------------------
    def train_step(self, real: torch.Tensor) -> torch.Tensor:
        """One update of the preset's scheme, then of the --ema average; replayed as one CUDA
        graph where possible (graphs.py)."""
        if self._graphed is not None:
            return self._graphed(real)
        stats = self._update(self, real)
        self.update_ema()
        return stats

    def update_ema(self) -> None:
        if self.ema is not None:
            self.ema.update_parameters(ckpt.unwrap(self.G))

    def _real_batch(self, perm: torch.Tensor, b: int) -> torch.Tensor:
        idx = perm[b * self.cfg.batch_size:(b + 1) * self.cfg.batch_size]
        if self.dist.world > 1:  # this rank's shard of the global batch
            idx = idx[self.dist.rank::self.dist.world]
        real = to_unit(self.images[idx])  # gather uint8 first: 4x less memory traffic than float
        return real.contiguous(memory_format=torch.channels_last) if self.fast.channels_last else real

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
        total_steps = cfg.epochs * self.batches_per_epoch
        if cfg.max_steps:
            total_steps = min(total_steps, cfg.max_steps)
        handlers = self._install_signals()
        self.G.train()
        self.D.train()
        acc = torch.zeros(len(STATS_KEYS), device=self.device)
        acc_n, acc_imgs, t_log = 0, 0, time.perf_counter()
        last_saved = self.step
        if self.dist.rank == 0:
            print(f"dcgan: training {cfg.model} on {cfg.data} ({self.n} images, "
                  f"{self.arch['resolution']}x{self.arch['resolution']}x{self.arch['channels']}) on "
                  f"{describe(self.device)}{self.dist.describe()}; run folder {self.run_dir}", file=sys.stderr)
        try:
            while self.epoch < cfg.epochs and self.step < total_steps and not self._stop:
                perm = epoch_permutation(self.n, cfg.seed, self.epoch).to(self.device)
                t_epoch = time.perf_counter()
                bar = self._bar(total_steps)
                while self.batch < self.batches_per_epoch:
                    real = self._real_batch(perm, self.batch)
                    acc += self.train_step(real)  # G and D, and the EMA under --ema
                    self.step += 1
                    self.batch += 1
                    acc_n += 1
                    acc_imgs += len(real)
                    if bar is not None:
                        bar.update(1)
                    if self.step % cfg.log_every == 0:
                        acc, acc_n, acc_imgs, t_log = self._log(acc, acc_n, acc_imgs, t_log)
                    if cfg.ckpt_every_steps and self.step % cfg.ckpt_every_steps == 0:
                        self._save_progress(t_epoch)
                        last_saved = self.step
                    if self._stop or self.step >= total_steps:
                        break
                if bar is not None:
                    bar.close()
                sync(self.device)  # queued GPU work belongs to this epoch's time
                self.elapsed += time.perf_counter() - t_epoch
                if self.batch >= self.batches_per_epoch:  # a whole epoch is done
                    self.epoch, self.batch = self.epoch + 1, 0
                    secs = time.perf_counter() - t_epoch
                    self._epoch_end(secs)
                    if self.epoch % cfg.ckpt_every == 0:
                        self.save()
                        last_saved = self.step
            if acc_n:
                self._log(acc, acc_n, acc_imgs, t_log)
            if self.step != last_saved or not ckpt.all_checkpoints(self.run_dir / "checkpoints"):
                self.save()
        finally:
            self._restore_signals(handlers)
        frames = sorted((self.run_dir / "samples").glob("epoch_*.png"))
        if frames and self.dist.rank == 0:
            save_gif(frames, self.run_dir / "progress.gif")
        self.observers.finish(self.run_dir)
        if self._stop:
            raise KeyboardInterrupt(self._stop)
        return self.run_dir

    def _save_progress(self, t_epoch: float) -> None:
        # Fold the running epoch's time into `elapsed` without double counting it at epoch end.
        now = time.perf_counter()
        self.elapsed += now - t_epoch
        self.save()
        self.elapsed -= now - t_epoch

    def _bar(self, total_steps: int):
        if not (self.cfg.progress and sys.stderr.isatty()):
            return None
        from tqdm import tqdm

        left = min(self.batches_per_epoch - self.batch, total_steps - self.step)
        return tqdm(total=left, desc=f"epoch {self.epoch + 1}/{self.cfg.epochs}", unit="step",
                    leave=False, dynamic_ncols=True)

    def _log(self, acc: torch.Tensor, n: int, imgs: int, t0: float):
        # The only host sync of the loop, once per interval (averaged over ranks under torchrun).
        values = distributed.all_mean(acc / n, self.dist).tolist()
        now = time.perf_counter()
        imgs *= self.dist.world
        row = {"epoch": self.epoch + 1, "step": self.step, "images_per_s": round(imgs / (now - t0), 1),
               "elapsed_s": round(self.elapsed, 2)}
        row.update({k: round(v, 6) for k, v in zip(STATS_KEYS, values)})
        health = self._health()
        row.update({k: round(v, 6) for k, v in health.items() if k.endswith("grad_norm")})
        if self.scaler.is_enabled():  # fp16: inf gradients are routine, GradScaler skips those steps
            health = {k: v for k, v in health.items() if not k.endswith("grad_norm")}
        if not all(math.isfinite(v) for v in [*values, *health.values()]):
            self.save_stats([row])
            bad = [k for k, v in zip(STATS_KEYS, values) if not math.isfinite(v)]
            bad += [k for k, v in health.items() if not math.isfinite(v)]
            self._on_nonfinite(f"{', '.join(bad)} became non-finite at step {self.step}")
        self.save_stats([row])
        self.observers.log(row)
        return torch.zeros_like(acc), 0, 0, time.perf_counter()

    def _health(self) -> dict[str, float]:
        """Norms of G's and D's weights and latest gradients: one host sync, once per log line.

        A norm is finite exactly when every element is (or nearly: an overflowing norm also means
        the run has diverged), so four numbers cover every weight and gradient.
        """
        norms, names = [], []
        for tag, module in (("g", self.G), ("d", self.D)):
            params = list(module.parameters())
            grads = [p.grad.detach() for p in params if p.grad is not None]
            norms.append(torch.linalg.vector_norm(torch.stack(
                [torch.linalg.vector_norm(p.detach().float()) for p in params])))
            names.append(f"{tag}_weight_norm")
            if grads:
                norms.append(torch.linalg.vector_norm(torch.stack(
                    [torch.linalg.vector_norm(g.float()) for g in grads])))
                names.append(f"{tag}_grad_norm")
        return dict(zip(names, torch.stack(norms).tolist()))

    def _on_nonfinite(self, problem: str) -> None:
        """--on-nan stop: a clear error. rollback: restore the newest good checkpoint, lower the
        learning rates, record it in stats.jsonl, and raise _RolledBack so fit() goes on from there."""
        if self.cfg.on_nan != "rollback":
            raise DcganError(f"{problem}; lower the learning rate or try --precision fp32, then "
                             f"`dcgan train --resume {self.run_dir}` continues from the last good "
                             "checkpoint (or train with --on-nan rollback to do that automatically)")
        good = ckpt.newest_good(self.run_dir)
        if good is None or self._rollbacks >= MAX_ROLLBACKS:
            why = "no good checkpoint" if good is None else f"{MAX_ROLLBACKS} rollbacks did not help"
            raise DcganError(f"{problem} and {why}; start again with a lower learning rate")
        failed_step = self.step
        rates = [[g["lr"] * NAN_LR_FACTOR for g in opt.param_groups] for opt in (self.opt_g, self.opt_d)]
        self._restore(ckpt.load_state(good), good)
        for opt, lrs in zip((self.opt_g, self.opt_d), rates):  # lower than when it failed, so
            for group, lr in zip(opt.param_groups, lrs):           # repeated rollbacks compound
                group["lr"] = lr
        self._rollbacks += 1
        event = {"event": "nan_rollback", "step": failed_step, "problem": problem,
                 "restored": good.name, "restored_step": self.step,
                 "lr_g": self.opt_g.param_groups[0]["lr"], "lr_d": self.opt_d.param_groups[0]["lr"]}
        self.save_stats([event])
        print(f"dcgan: {problem}; rolled back to {good.name} and lowered the learning rates to "
              f"{event['lr_g']:g} (G) and {event['lr_d']:g} (D)", file=sys.stderr)
        raise _RolledBack

    def save_stats(self, rows: list[dict]) -> None:
        if self.dist.rank == 0:
            append_jsonl(self.run_dir / "stats.jsonl", rows)

    def _epoch_end(self, secs: float) -> None:
        if self.dist.rank != 0:
            return
        grid = self.sample_grid()
        save_png(grid, self.run_dir / "samples" / f"epoch_{self.epoch:04d}.png", scale=2)
        self.observers.epoch_end(self, secs, grid)
        print(f"epoch {self.epoch}/{self.cfg.epochs}: {secs:.1f} s, "
              f"{self.batches_per_epoch * self.cfg.batch_size / secs:.0f} img/s, step {self.step}",
              file=sys.stderr)
        if self.monitor is not None:
            self.monitor.epoch_end(self)

    def sampler(self) -> nn.Module:
        """The generator that grids and evaluations show: the EMA one under --ema, else G."""
        return self.ema.module if self.ema is not None else ckpt.unwrap(self.G)

    @torch.no_grad()
    def sample_grid(self):
        # Inference mode, as the tutorial's `generator(seed, training=False)`, with BatchNorm
        # statistics per --sample-bn: re-estimated for the current weights, or the running ones.
        with bnstats.inference(self.sampler(), self.cfg.sample_bn, self.cfg.batch_size) as G:
            fake = G(self.fixed_noise)
        return make_grid(fake, nrow=4)

    def save(self) -> Path:
        health = self._health()
        if not all(math.isfinite(v) for k, v in health.items() if k.endswith("weight_norm")):
            # Never checkpoint a diverged model: the newest checkpoint must stay a good one.
            self._on_nonfinite(f"weights became non-finite by step {self.step}")
        rank_rng = distributed.all_gather(self._rng_state(), self.dist) if self.dist.world > 1 else None
        if self.dist.rank != 0:
            self.dist.barrier()  # wait for rank 0's checkpoint, so no rank races ahead of it
            return self.run_dir
        meta = {"arch": self.arch, "config": self.cfg.to_dict(), "epoch": self.epoch,
                "noise": {"distribution": "normal", "mean": 0.0, "std": 1.0, "dim": self.arch["noise_dim"]},
                "output_range": [-1.0, 1.0]}
        path = ckpt.save(self.run_dir / "checkpoints", self.step, self.G, self.D, self.state(rank_rng), meta,
                         keep=self.cfg.keep,
                         protect=self.monitor.protected() if getattr(self, "monitor", None) else None,
                         G_ema=self.ema.module if self.ema is not None else None)
        self.dist.barrier()
        return path

    # -- signals: Ctrl-C / SIGTERM finish the step, save, and stop ----------------------------
    def _install_signals(self):
        def handler(signum, _frame):
            self._stop = signal.Signals(signum).name

        old = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                old[sig] = signal.signal(sig, handler)
            except ValueError:  # not the main thread
                pass
        return old

    @staticmethod
    def _restore_signals(old) -> None:
        for sig, h in old.items():
            signal.signal(sig, h)


def _ema(G: nn.Module, decay: float) -> nn.Module:
    """An exponential moving average of G's weights (buffers follow G), updated after every step."""
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(G, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=False)


def _add_dropout(G: nn.Module, p: float) -> None:
    """The 'dropout in G' trick: dropout after each hidden activation (not after the output)."""
    acts = (nn.ReLU, nn.LeakyReLU)
    for module in list(G.modules()):  # a snapshot: the wrappers added below are not revisited
        if isinstance(module, nn.Sequential):
            for i, layer in enumerate(module):
                if isinstance(layer, acts):
                    module[i] = nn.Sequential(layer, Dropout(p))


def train(overrides: dict[str, Any] | None = None, resume: str | Path | None = None,
          dry_run: bool = False, **kwargs: Any) -> Path:
    """Train a GAN; returns the run folder. ``train(model="tf-tutorial", epochs=1, limit=512)``."""
    overrides = {**(overrides or {}), **kwargs}
    if resume is not None:
        return _resume(Path(resume), overrides)
    cfg = resolve(overrides)
    if dry_run:
        import json

        print(json.dumps(cfg.to_dict(), indent=2, sort_keys=True))
        return Path(cfg.out or "runs")
    dist = distributed.setup(cfg.device)
    run_dir = Path(cfg.out) if cfg.out else new_run_dir(Path("runs"), cfg.model, cfg.data)
    run_dir = distributed.broadcast(run_dir, dist)  # rank 0 numbers the folder for everyone
    if (run_dir / "config.json").exists():
        raise DcganError(f"{run_dir} already holds a run; resume it with `dcgan train --resume "
                         f"{run_dir}` or choose another --out")
    dist.barrier()
    cfg.out = str(run_dir)
    with _rank0_lock(run_dir, dist):
        trainer = Trainer(cfg, run_dir)
        if dist.rank == 0:
            write_json(run_dir / "config.json", {**cfg.to_dict(), "arch": trainer.arch,
                                                 "device_name": describe(trainer.device),
                                                 "world_size": dist.world, "torch": torch.__version__})
        return trainer.fit()


def _rank0_lock(run_dir: Path, dist: distributed.Dist):
    import contextlib

    return RunLock(run_dir) if dist.rank == 0 else contextlib.nullcontext()


def _resume(run_dir: Path, overrides: dict[str, Any]) -> Path:
    import json

    if not (run_dir / "config.json").exists():
        raise DcganError(f"{run_dir} is not a dcgan run folder (no config.json); give the folder "
                         "that `dcgan train` created")
    dist = distributed.setup(overrides.get("device") or "auto")
    with _rank0_lock(run_dir, dist):
        newest = ckpt.newest_good(run_dir, quiet=dist.rank != 0)
        if newest is None:
            raise DcganError(f"{run_dir} has no usable checkpoint to resume from; start a new run")
        state = ckpt.load_state(newest)
        saved = TrainConfig.from_dict(state.get("config") or json.loads((run_dir / "config.json").read_text()))
        overrides.pop("out", None)
        cfg = check_resume(saved, overrides)
        if dist.rank == 0:
            print(f"dcgan: resuming {run_dir} from {newest.name} (epoch {state['epoch']}, "
                  f"step {state['step']})", file=sys.stderr)
        trainer = Trainer(cfg, run_dir, state=state, resume_from=newest)
        if dist.rank == 0:
            write_json(run_dir / "config.json", {**cfg.to_dict(), "arch": trainer.arch,
                                                 "device_name": describe(trainer.device),
                                                 "world_size": dist.world, "torch": torch.__version__})
        return trainer.fit()
