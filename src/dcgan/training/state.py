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


_NUMBER = (int, float)
# training_state.pt's schema: key -> the types its value may have (None: the key may be absent)
SCHEMA: dict[str, tuple[type, ...]] = {
    "step": (int,), "epoch": (int,), "batch": (int,), "opt_g": (dict,), "opt_d": (dict,),
    "rng": (torch.Tensor,), "torch_rng": (torch.Tensor,), "arch": (dict,), "config": (dict,)}
OPTIONAL: dict[str, tuple[type, ...]] = {
    "elapsed": _NUMBER, "scaler": (dict,), "ema_n_averaged": (torch.Tensor, type(None)),
    "rollbacks": (int,), "lr_scale": _NUMBER, "rank_rng": (list, type(None)),
    "cuda_rng": (torch.Tensor, type(None))}


def check_state(state: Any, path: Path) -> dict[str, Any]:
    """``state`` if it has training_state.pt's keys with the right types, else a one-line error
    (a list, a missing key or a string where a count belongs would otherwise surface as an
    AttributeError, KeyError or TypeError deep inside resume)."""
    if not isinstance(state, dict):
        raise DcganError(f"{path} holds a {type(state).__name__}, not a dcgan training state")
    for key, types in (*SCHEMA.items(), *OPTIONAL.items()):
        if key not in state:
            if key in SCHEMA:
                raise DcganError(f"{path} has no {key!r}; it is not a dcgan training state")
            continue
        value = state[key]
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            raise DcganError(f"{path} has {key} of type {type(value).__name__}; it is not a dcgan "
                             "training state")
        if isinstance(value, int) and value < 0:
            raise DcganError(f"{path} has {key} {value}; it must be >= 0")
    for key in ("opt_g", "opt_d"):
        opt = state[key]
        if not (isinstance(opt.get("state"), dict) and isinstance(opt.get("param_groups"), list)
                and all(isinstance(g, dict) for g in opt["param_groups"])):
            raise DcganError(f"{path} has an {key} that is not an optimiser's state; it is not a "
                             "dcgan training state")
    for key in ("rng", "torch_rng"):
        if state[key].dtype != torch.uint8 or state[key].ndim != 1:
            raise DcganError(f"{path} has a {key} that is not a random generator's state")
    return state


def load(folder: Path) -> dict[str, Any]:
    """A checkpoint's training_state.pt, loaded within its memory bounds (checkpoint.load_state)
    and checked against the schema above."""
    return check_state(ckpt.load_state(folder), folder / ckpt.STATE_FILE)


def resumed_config(state: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """The config to resume with: config.json's. The state's embedded config and architecture
    must agree with it on every setting a resume may not change (``config.RESUMABLE``), so a state
    from another run, or an edited one, can never steer the run (its data folder, its model)."""
    import json

    from .config import RESUMABLE, TrainConfig

    path = run_dir / "config.json"
    try:
        recorded = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise DcganError(f"{path} cannot be read ({exc}); it is damaged") from None
    if not isinstance(recorded, dict):
        raise DcganError(f"{path} holds a {type(recorded).__name__}, not a run's config")
    names = TrainConfig().to_dict()
    theirs = {**state["config"], "arch": state["arch"]}
    for key in sorted({*names, "arch"} - RESUMABLE):
        if key in recorded and theirs.get(key) != recorded[key]:
            raise DcganError(f"the checkpoint's training state says {key}={theirs.get(key)!r} but "
                             f"{path} says {recorded[key]!r}; it belongs to another run (or was edited): "
                             "resume from that run's own checkpoints")
    return {k: v for k, v in recorded.items() if k in names}


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


def arch_change(saved: Any, built: dict[str, Any]) -> str:
    """What differs between a checkpoint's architecture and the one a run builds, short enough
    for one line: "key: checkpoint A, now B" for each differing key (long values shortened)."""
    import reprlib

    short = reprlib.Repr()  # (keyword arguments only from Python 3.12)
    short.maxlist, short.maxstring, short.maxother = 4, 40, 40
    saved = saved if isinstance(saved, dict) else {}
    keys = sorted(k for k in {*saved, *built} if saved.get(k) != built.get(k))
    return "; ".join(f"{k}: checkpoint {short.repr(saved.get(k))}, now {short.repr(built.get(k))}" for k in keys)


def restore(tr: Trainer, state: dict[str, Any], folder: Path, position: bool = True) -> None:
    """Load checkpoint ``folder`` (its ``state`` already read) into ``tr``: weights, EMA, optimisers
    and scaler; with ``position`` also the random streams and the step, epoch and batch."""
    if state.get("arch") != tr.arch:
        raise DcganError(f"{folder.name} was trained with another architecture than this run now builds "
                         f"({arch_change(state.get('arch'), tr.arch)}): the data or the flags changed since; "
                         "put them back, or start a new run")
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
    restore(tr, load(folder), folder, position=position)
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
