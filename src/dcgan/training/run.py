"""The run folder: a new numbered folder or a resumed one, locked while it trains.

``train()`` resolves the config (training/config.py), claims the folder, writes ``config.json``
before step 0 and hands over to the Trainer; ``train(resume=RUN)`` finds the newest checkpoint that
verifies, checks the flags against the saved config and continues exactly where it stopped.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
from pathlib import Path
from typing import Any

import torch

from .. import checkpoint as ckpt
from ..devices import describe
from ..errors import DcganError
from ..fsutil import RunLock, write_json
from . import conditioning, distributed
from . import state as train_state
from .config import TrainConfig, check_resume, load_config, merge_config, plan_arch, resolve
from .trainer import Trainer


def new_run_dir(root: Path, model: str, data: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name.split("-")[0]) for p in root.iterdir() if p.name.split("-")[0].isdigit()]
    tag = Path(data).name if os.sep in data or Path(data).exists() else data
    tag = re.sub(r"[^A-Za-z0-9._-]+", "-", tag)  # `emoji:black` -> `emoji-black`, valid everywhere
    return root / f"{max(numbers, default=0) + 1:04d}-{model}-{tag}"


def train(overrides: dict[str, Any] | None = None, resume: str | Path | None = None,
          dry_run: bool = False, config: str | Path | dict[str, Any] | None = None, **kwargs: Any) -> Path:
    """Train a GAN; returns the run folder. ``train(model="tf-tutorial", epochs=1, limit=512)``.

    ``config``: start from another run's settings (its config.json or folder, or a dict), in a new
    folder; the other arguments override them. ``resume``: continue that run folder itself."""
    if overrides is not None and not isinstance(overrides, dict):
        raise DcganError(f"train's settings are keyword arguments or a dict, not {type(overrides).__name__}")
    overrides = {**(overrides or {}), **kwargs}
    lr = overrides.pop("lr", None)  # as --lr: both learning rates, unless one is given too
    if lr is not None:
        overrides.setdefault("lr_g", lr)
        overrides.setdefault("lr_d", lr)
    if resume is not None:
        if config is not None:
            raise DcganError("give config= (a new run from those settings) or resume= (continue that "
                             "run), not both")
        if not isinstance(resume, (str, os.PathLike)):
            raise DcganError(f"resume= takes a run folder, not {type(resume).__name__}")
        return _resume(Path(resume), overrides)
    if config is not None:
        overrides = merge_config(load_config(config), overrides)
    cfg = resolve(overrides)
    if dry_run:  # everything the run would check, short of reading data and weights
        arch = conditioning.shown_classes(plan_arch(cfg))
        print(json.dumps({**cfg.to_dict(), "arch": arch}, indent=2, sort_keys=True))
        return Path(cfg.out or "runs")
    dist = distributed.setup(cfg.device)
    run_dir = Path(cfg.out) if cfg.out else new_run_dir(Path("runs"), cfg.model, cfg.data)
    run_dir = distributed.broadcast(run_dir, dist)  # rank 0 numbers the folder for everyone
    ckpt.refuse_checkpoint_output(run_dir, "--out")
    restart = _check_new_folder(run_dir)
    fresh, trainer = not run_dir.exists(), None  # before any rank may write into it
    dist.barrier()
    cfg.out = str(run_dir)
    try:
        with _rank0_lock(run_dir, dist):
            if restart and dist.rank == 0 and _check_new_folder(run_dir):  # again, now that it is ours
                _clear_unsaved_run(run_dir)
            trainer = Trainer(cfg, run_dir)
            if dist.rank == 0:
                _write_config(run_dir, cfg, trainer)
            return trainer.fit()
    except BaseException:
        # A run that could not even be built (bad data, a refused flag, Ctrl-C while loading) leaves
        # no empty numbered folder behind; a folder that existed before, or a built run, is kept.
        if fresh and trainer is None and dist.rank == 0:
            shutil.rmtree(run_dir, ignore_errors=True)
        raise


# What a run writes besides config.json and checkpoints/, cleared when a run that never saved a
# checkpoint starts again in its folder (so its stats and grids do not mix with the new run's).
RUN_FILES = ("stats.jsonl", "epochs.jsonl", "metrics.jsonl", "progress.gif", "report.html")
RUN_FOLDERS = ("samples", "tensorboard", "checkpoints")


def _check_new_folder(run_dir: Path) -> bool:
    """Refuse a folder a new run must not take over; True when it holds a run that stopped before
    its first checkpoint (a dead end otherwise: nothing to resume), which a new run replaces."""
    has_ckpt = bool(ckpt.all_checkpoints(run_dir / "checkpoints"))
    if not (run_dir / "config.json").exists():
        if has_ckpt:  # a new run would prune them as its own (an old step sorts after a new one)
            raise DcganError(f"{run_dir} holds checkpoints but no config.json, so it is no run a new "
                             "one may take over; choose another --out, or move its checkpoints/ away")
        return False
    if has_ckpt:
        raise DcganError(f"{run_dir} already holds a run; resume it with `dcgan train --resume "
                         f"{run_dir}` or choose another --out")
    return True


def _clear_unsaved_run(run_dir: Path) -> None:
    print(f"dcgan: {run_dir} holds a run that stopped before its first checkpoint; starting it "
          "again from step 0 (its stats and grids are replaced)", file=sys.stderr)
    for name in RUN_FILES:
        (run_dir / name).unlink(missing_ok=True)
    for name in RUN_FOLDERS:
        shutil.rmtree(run_dir / name, ignore_errors=True)


def _write_config(run_dir: Path, cfg: TrainConfig, trainer: Trainer) -> None:
    """config.json: the resolved config plus what this process built it on (rewritten on resume)."""
    write_json(run_dir / "config.json", {**cfg.to_dict(), "arch": trainer.arch,
                                         "device_name": describe(trainer.device),
                                         "world_size": trainer.dist.world, "torch": torch.__version__,
                                         "d_output": trainer.loss.d_output})


def _rank0_lock(run_dir: Path, dist: distributed.Dist):
    return RunLock(run_dir) if dist.rank == 0 else contextlib.nullcontext()


def _resume(run_dir: Path, overrides: dict[str, Any]) -> Path:
    if not (run_dir / "config.json").exists():
        raise DcganError(f"{run_dir} is not a dcgan run folder (no config.json); give the folder "
                         "that `dcgan train` created")
    dist = distributed.setup(overrides.get("device") or "auto")
    with _rank0_lock(run_dir, dist):
        newest = ckpt.newest_good(run_dir, quiet=dist.rank != 0)
        if newest is None and not ckpt.all_checkpoints(run_dir / "checkpoints"):
            raise DcganError(f"{run_dir} stopped before its first checkpoint, so there is nothing to "
                             f"resume; start it again with `dcgan train --out {run_dir}` and its flags "
                             "(a lower --lr if it diverged), which replaces it")
        if newest is None:
            raise DcganError(f"{run_dir} has no usable checkpoint to resume from (every one is "
                             "damaged); start a new run with another --out")
        state = train_state.load(newest)
        saved = TrainConfig.from_dict(train_state.resumed_config(state, run_dir))
        overrides.pop("out", None)
        cfg = check_resume(saved, overrides)
        if overrides.get("epochs") is not None and overrides.get("max_steps") is None and cfg.max_steps:
            cfg.max_steps = None  # `--epochs N` asks for N epochs: the first run's step limit is spent
        if overrides.get("epochs") is not None and overrides.get("max_minutes") is None:
            cfg.max_minutes = None  # and its time limit
        done = _already_done(cfg, state)
        if done and dist.rank == 0:  # it still finishes the run's files (grid, GIF, report) below,
            # in case the first run was stopped between its last checkpoint and them
            print(f"dcgan: nothing left to train in {run_dir}: {done}", file=sys.stderr)
        elif dist.rank == 0:
            print(f"dcgan: resuming {run_dir} from {newest.name} (epoch {state['epoch']}, "
                  f"step {state['step']})", file=sys.stderr)
        trainer = Trainer(cfg, run_dir, state=state, resume_from=newest)
        if dist.rank == 0:
            _write_config(run_dir, cfg, trainer)
        return trainer.fit()


def _already_done(cfg: TrainConfig, state: dict[str, Any]) -> str | None:
    """Why a resume would stop before its first step (one line saying how to train on), or None."""
    if state["epoch"] >= cfg.epochs:
        return (f"all {cfg.epochs} epoch(s) are done (step {state['step']}); give --epochs "
                f"{cfg.epochs + 10} (or more) to train on")
    if cfg.max_steps is not None and state["step"] >= cfg.max_steps:
        return (f"it stopped at --max-steps {cfg.max_steps}; give a larger --max-steps, or --epochs N "
                "to train to N epochs")
    if cfg.max_minutes is not None and state.get("elapsed", 0.0) >= 60 * cfg.max_minutes:
        return (f"it has trained its --max-minutes {cfg.max_minutes:g}; give a larger --max-minutes, "
                "or --epochs N to train to N epochs")
    return None
