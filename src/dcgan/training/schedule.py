"""Learning-rate and R1/R2-gamma schedules over a run (``--lr-schedule``, ``--gamma-schedule``).

A schedule is a factor of the run's progress t = step / (``--epochs`` x batches per epoch), from 1
at the start to ``end`` at the last step (``--max-steps`` stops a run early; it does not shorten
the schedule, so a run stopped by it and resumed follows the schedule of one that never stopped). R3GAN
(Huang et al., 2024) decays both its learning rate and its gamma this way; ``constant`` (the
default) never touches the optimisers, so such runs stay exactly what they were.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .trainer import Trainer


def factor(kind: str, step: int, total: int, end: float) -> float:
    t = min(max(step / max(total, 1), 0.0), 1.0)
    if kind == "linear":
        return 1.0 - (1.0 - end) * t
    if kind == "cosine":
        return end + (1.0 - end) * 0.5 * (1.0 + math.cos(math.pi * t))
    return 1.0


def apply(tr: Trainer) -> None:
    """Set this step's learning rates (times the rollbacks' ``lr_scale``) and R1/R2 gamma scale;
    constant schedules touch nothing."""
    cfg = tr.cfg
    if cfg.lr_schedule != "constant":
        f = factor(cfg.lr_schedule, tr.step, tr.schedule_steps, cfg.lr_end) * tr.lr_scale
        for opt, base in ((tr.opt_g, cfg.lr_g), (tr.opt_d, cfg.lr_d)):
            for group in opt.param_groups:
                group["lr"] = base * f
    if cfg.gamma_schedule != "constant":
        tr.ctx.gamma_scale = factor(cfg.gamma_schedule, tr.step, tr.schedule_steps, cfg.gamma_end)
