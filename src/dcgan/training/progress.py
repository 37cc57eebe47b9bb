"""What a training run says on the console: one progress bar over the whole run, why it stopped,
and a closing summary of where everything is and what to run next.

The bar (``tqdm.auto``, so it also draws in notebooks) counts steps over the run, with its ETA and
images/s, and shows the latest logged D and G losses and D's outputs: they are updated at each
``--log-every`` line, the loop's only host sync, so the bar costs no sync of its own. It is drawn
only where stderr is a terminal (or a notebook) and ``--no-progress`` is not given.
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .trainer import Trainer


def _interactive() -> bool:
    if sys.stderr.isatty():
        return True
    try:  # a Jupyter kernel: stderr is no terminal, but tqdm.auto draws a widget
        from IPython import get_ipython

        shell = get_ipython()
        return shell is not None and "IPKernelApp" in shell.config
    except Exception:  # no IPython, or not a kernel
        return False


class Progress:
    def __init__(self, trainer: Trainer, total_steps: int):
        self.bar = None
        if trainer.cfg.progress and trainer.dist.rank == 0 and _interactive():
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total_steps, initial=trainer.step, unit="step", dynamic_ncols=True,
                            desc=f"epoch {trainer.epoch + 1}/{trainer.cfg.epochs}", leave=False)
        self.epochs = trainer.cfg.epochs

    def step(self) -> None:
        if self.bar is not None:
            self.bar.update(1)

    def epoch(self, epoch: int) -> None:
        if self.bar is not None:
            self.bar.set_description(f"epoch {min(epoch + 1, self.epochs)}/{self.epochs}")

    def log(self, row: dict[str, Any]) -> None:
        if self.bar is not None:
            self.bar.set_postfix({"D": f"{row['d_loss']:.3f}", "G": f"{row['g_loss']:.3f}",
                                  "D(x)": f"{row['d_x']:.2f}", "D(G(z))": f"{row['d_g_z']:.2f}",
                                  "img/s": f"{row['images_per_s']:.0f}"}, refresh=False)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def nan_advice(run_dir: Path, problem: str) -> str:
    """--on-nan stop's one line: how to go on, from the last good checkpoint or, before the first
    one, by starting the run again in the same folder (training/run.py allows exactly that)."""
    from .. import checkpoint as ckpt

    if not ckpt.all_checkpoints(run_dir / "checkpoints"):
        return (f"{problem}, before the first checkpoint; start the run again with a lower --lr (or "
                f"--precision fp32): `dcgan train --out {run_dir}` with its other flags replaces it "
                "(with --on-nan rollback a run rolls back by itself, even before its first checkpoint)")
    return (f"{problem}; lower the learning rate or try --precision fp32, then `dcgan train --resume "
            f"{run_dir}` continues from the last good checkpoint (or train with --on-nan rollback "
            "to do that automatically)")


def _time_spent(trainer: Trainer) -> bool:
    """It stopped at --max-minutes: the training time it has counted reached the limit."""
    limit = trainer.cfg.max_minutes
    return limit is not None and trainer.elapsed >= 60 * limit


def why_stopped(trainer: Trainer) -> str:
    cfg = trainer.cfg
    if trainer.stop_reason:
        return f"interrupted ({trainer.stop_reason}) at step {trainer.step}, checkpoint saved"
    if trainer.epoch >= cfg.epochs:
        return f"all {cfg.epochs} epoch(s) done ({trainer.step} steps)"
    if _time_spent(trainer):
        return (f"stopped at --max-minutes {cfg.max_minutes:g} ({trainer.step} steps, epoch "
                f"{trainer.epoch + 1}/{cfg.epochs})")
    return f"stopped at --max-steps {cfg.max_steps} (epoch {trainer.epoch + 1}/{cfg.epochs})"


def summary(trainer: Trainer, last: dict[str, Any] | None) -> str:
    """The closing lines: why it stopped, where the files are, the last metrics, what to run next."""
    run = trainer.run_dir
    q = shlex.quote(str(run))
    lines = [f"dcgan: {why_stopped(trainer)}; run folder {run}"]
    where = [("grids", run / "samples"), ("progress GIF", run / "progress.gif"),
             ("report", run / "report.html"), ("checkpoints", run / "checkpoints")]
    have = [f"{name} {_rel(path, run)}" for name, path in where if path.exists()]
    if have:
        lines.append("  files: " + ", ".join(have))
    if last:
        lines.append(f"  last logged (step {last['step']}): D loss {last['d_loss']:.4f}, G loss "
                     f"{last['g_loss']:.4f}, D(x) {last['d_x']:.3f}, D(G(z)) {last['d_g_z']:.3f}, "
                     f"{last['images_per_s']:.0f} img/s")
    next_steps = [f"dcgan sample {q} --n 64 --out grid.png", f"dcgan report {q}"]
    if trainer.stop_reason:
        next_steps.append(f"dcgan train --resume {q}")
    elif _time_spent(trainer):
        next_steps.append(f"dcgan train --resume {q} --max-minutes {trainer.cfg.max_minutes + 10:g}")
    elif trainer.epoch < trainer.cfg.epochs:  # stopped at --max-steps: --epochs lifts that limit
        next_steps.append(f"dcgan train --resume {q} --epochs {trainer.cfg.epochs}")
    else:
        next_steps.append(f"dcgan train --resume {q} --epochs {trainer.cfg.epochs + 10}  # train on")
    lines.append("  next: " + "   |   ".join(next_steps))
    return "\n".join(lines)


def _rel(path: Path, run: Path) -> str:
    return str(path.relative_to(run)) + ("/" if path.is_dir() else "")
