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
import sys
from pathlib import Path
from typing import Any

import torch

from .. import checkpoint as ckpt
from ..devices import describe
from ..errors import DcganError
from ..fsutil import RunLock, write_json
from . import distributed
from . import state as train_state
from .config import TrainConfig, check_resume, plan_arch, resolve
from .trainer import Trainer


def new_run_dir(root: Path, model: str, data: str) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(p.name.split("-")[0]) for p in root.iterdir() if p.name.split("-")[0].isdigit()]
    tag = Path(data).name if os.sep in data or Path(data).exists() else data
    tag = re.sub(r"[^A-Za-z0-9._-]+", "-", tag)  # `emoji:black` -> `emoji-black`, valid everywhere
    return root / f"{max(numbers, default=0) + 1:04d}-{model}-{tag}"


def train(overrides: dict[str, Any] | None = None, resume: str | Path | None = None,
          dry_run: bool = False, **kwargs: Any) -> Path:
    """Train a GAN; returns the run folder. ``train(model="tf-tutorial", epochs=1, limit=512)``."""
    overrides = {**(overrides or {}), **kwargs}
    if resume is not None:
        return _resume(Path(resume), overrides)
    cfg = resolve(overrides)
    if dry_run:  # everything the run would check, short of reading data and weights
        print(json.dumps({**cfg.to_dict(), "arch": plan_arch(cfg)}, indent=2, sort_keys=True))
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
            _write_config(run_dir, cfg, trainer)
        return trainer.fit()


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
        if newest is None:
            raise DcganError(f"{run_dir} has no usable checkpoint to resume from; start a new run")
        state = train_state.load(newest)
        saved = TrainConfig.from_dict(train_state.resumed_config(state, run_dir))
        overrides.pop("out", None)
        cfg = check_resume(saved, overrides)
        if dist.rank == 0:
            print(f"dcgan: resuming {run_dir} from {newest.name} (epoch {state['epoch']}, "
                  f"step {state['step']})", file=sys.stderr)
        trainer = Trainer(cfg, run_dir, state=state, resume_from=newest)
        if dist.rank == 0:
            _write_config(run_dir, cfg, trainer)
        return trainer.fit()
