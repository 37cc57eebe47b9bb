"""A trainer's state in and out of a checkpoint: resume, and the one rollback mechanism.

``capture`` is what ``training_state.pt`` holds (optimisers, scaler, EMA count, counters, random
streams, the rollback count); ``restore`` puts a checkpoint back into a live Trainer. Resume and
both kinds of rollback go through ``restore``:

* ``--on-nan rollback`` (a non-finite loss or weight): back to the newest good checkpoint, *with*
  its position and random streams, so training repeats from there at lower learning rates;
* ``--on-failure rollback`` (a health check, training/health.py): back to the best checkpoint's
  weights, EMA and optimiser moments, *keeping* the current position, at lower learning rates.

Both multiply the learning rates in force when it failed by ``LR_FACTOR`` (so repeated rollbacks
compound), count against one ``MAX_ROLLBACKS`` per run, and record an event in stats.jsonl.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch

from .. import checkpoint as ckpt
from ..errors import DcganError
from .speed import unwrap

if TYPE_CHECKING:
    from .trainer import Trainer

LR_FACTOR = 0.5            # a rollback multiplies both learning rates by this
MAX_ROLLBACKS = 5          # then it gives up: the run diverges whatever the learning rate
DEVICE_CHANGE_SEED = 7_919  # reseeds the noise stream of a run resumed on another device type


def rng_state(tr: Trainer) -> dict[str, Any]:
    return {"rng": tr.rng.get_state(), "torch_rng": torch.get_rng_state(),
            "cuda_rng": torch.cuda.get_rng_state(tr.device) if tr.device.type == "cuda" else None}


def set_rng(tr: Trainer, saved: dict[str, Any]) -> None:
    ours = tr.rng.get_state()
    if saved["rng"].numel() == ours.numel():
        tr.rng.set_state(saved["rng"].to(ours.device))
    else:  # saved by another device type's generator (a GPU run resumed on the CPU, or back)
        tr.rng.manual_seed(tr.cfg.seed + DEVICE_CHANGE_SEED + int(saved.get("step", 0)))
        print(f"dcgan: the checkpoint's noise stream comes from another device type; on "
              f"{tr.device.type} it starts afresh (the run continues, not bit for bit)", file=sys.stderr)
    torch.set_rng_state(saved["torch_rng"])
    if tr.device.type == "cuda" and saved.get("cuda_rng") is not None:
        torch.cuda.set_rng_state(saved["cuda_rng"], tr.device)


def capture(tr: Trainer, rank_rng: list | None = None) -> dict[str, Any]:
    """training_state.pt; ``rank_rng``: under torchrun every rank's streams, for exact resume."""
    return {"rank_rng": rank_rng,
            "arch": tr.arch, "config": tr.cfg.to_dict(),
            "step": tr.step, "epoch": tr.epoch, "batch": tr.batch, "elapsed": tr.elapsed,
            "opt_g": tr.opt_g.state_dict(), "opt_d": tr.opt_d.state_dict(),
            "scaler": tr.scaler.state_dict() if tr.scaler.is_enabled() else {},
            "ema_n_averaged": tr.ema.n_averaged.cpu() if tr.ema is not None else None,
            "rollbacks": tr.rollbacks, "lr_scale": tr.lr_scale,
            **rng_state(tr)}


def restore(tr: Trainer, state: dict[str, Any], folder: Path, position: bool = True) -> None:
    """Load checkpoint ``folder`` (its ``state`` already read) into ``tr``: weights, EMA, optimisers
    and scaler; with ``position`` also the random streams and the step, epoch and batch."""
    if state.get("arch") != tr.arch:
        raise DcganError(f"the checkpoint was trained with {state.get('arch')} but this config "
                         f"builds {tr.arch}; start a new run instead")
    ckpt.load_weights(unwrap(tr.G), folder / ckpt.G_FILE)
    ckpt.load_weights(unwrap(tr.D), folder / ckpt.D_FILE)
    tr.load_optimizers(state)
    if state.get("scaler"):
        tr.scaler.load_state_dict(state["scaler"])
    if tr.ema is not None:
        if not (folder / ckpt.EMA_FILE).is_file():
            raise DcganError(f"{folder} has no EMA generator; it was saved without --ema")
        ckpt.load_weights(tr.ema.module, folder / ckpt.EMA_FILE)
        tr.ema.n_averaged.copy_(state["ema_n_averaged"])
    if position:
        set_rng(tr, state)
        tr.step, tr.epoch, tr.batch = state["step"], state["epoch"], state["batch"]
        tr.elapsed = state.get("elapsed", 0.0)


def rollback(tr: Trainer, folder: Path | None, problem: str, kind: str, position: bool) -> dict[str, Any]:
    """Go back to checkpoint ``folder`` with lower learning rates; raise when that is impossible.

    Returns the event it recorded in stats.jsonl (``kind``: ``nan_rollback`` or ``health_rollback``).
    """
    if folder is None or tr.rollbacks >= MAX_ROLLBACKS:
        why = "no good checkpoint" if folder is None else f"{MAX_ROLLBACKS} rollbacks did not help"
        raise DcganError(f"{problem} and {why}; start again with a lower learning rate")
    failed_step = tr.step
    rates = [[g["lr"] * LR_FACTOR for g in opt.param_groups] for opt in (tr.opt_g, tr.opt_d)]
    restore(tr, ckpt.load_state(folder), folder, position=position)
    for opt, lrs in zip((tr.opt_g, tr.opt_d), rates):  # lower than when it failed, so
        for group, lr in zip(opt.param_groups, lrs):       # repeated rollbacks compound
            group["lr"] = lr
    tr.rollbacks += 1
    tr.lr_scale *= LR_FACTOR  # what a --lr-schedule multiplies from now on
    event = {"event": kind, "step": failed_step, "problem": problem, "restored": folder.name,
             "restored_step": tr.step, "lr_g": tr.opt_g.param_groups[0]["lr"],
             "lr_d": tr.opt_d.param_groups[0]["lr"], "rollback": tr.rollbacks}
    tr.save_stats([event])
    print(f"dcgan: {problem}; rolled back to {folder.name} and lowered the learning rates to "
          f"{event['lr_g']:g} (G) and {event['lr_d']:g} (D) (rollback {tr.rollbacks} of {MAX_ROLLBACKS})",
          file=sys.stderr)
    return event
