"""What watches a training run without steering it: epoch timings, TensorBoard, the final report.

(What steers, evaluation and failure reactions, is health.py.) The Trainer calls three hooks on one
``Trackers`` object: ``log(row)`` after each stats.jsonl line,
``epoch_end(trainer, seconds, grid)`` after each epoch's sample grid, and ``finish(run_dir)`` when
fit() returns. Each hook only reads; none may change the training.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import DcganError
from ..fsutil import append_jsonl, read_jsonl

if TYPE_CHECKING:
    from .trainer import Trainer

EPOCHS_FILE = "epochs.jsonl"
TB_DIR = "tensorboard"
# stats.jsonl keys -> TensorBoard tags
TB_SCALARS = {"d_loss": "loss/d", "g_loss": "loss/g", "d_x": "D/x", "d_g_z": "D/G(z)",
              "images_per_s": "speed/images_per_s"}
TB_SKIP = {"epoch", "step", "best", "n_modes", "event", "warning", "message", "action"}


class TensorBoardLogger:
    """Scalars and the fixed-seed grid in TensorBoard's own event files, under RUN/tensorboard/."""

    def __init__(self, run_dir: Path):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # torch's writer needs the tensorboard package
            raise DcganError("--tensorboard needs the tensorboard package: pip install "
                             "'dcgan[tensorboard]' (or pip install tensorboard), or train without "
                             "--tensorboard") from None
        self.writer = SummaryWriter(log_dir=str(run_dir / TB_DIR))
        self.metrics_path = run_dir / "metrics.jsonl"
        self.metrics_seen = len(read_jsonl(self.metrics_path))  # a resumed run logged those already

    def log(self, row: dict[str, Any]) -> None:
        step = row.get("step", 0)
        for key, tag in TB_SCALARS.items():
            if isinstance(row.get(key), (int, float)):
                self.writer.add_scalar(tag, row[key], step)

    def epoch_end(self, step: int, epoch: int, seconds: float, grid: np.ndarray) -> None:
        self.writer.add_image("samples/fixed_noise", grid, step, dataformats="HWC")
        self.writer.add_scalar("speed/seconds_per_epoch", seconds, step)
        # metrics.jsonl is written by the evaluation hook at epoch ends: log the lines it added
        rows = read_jsonl(self.metrics_path)
        for row in rows[self.metrics_seen:]:
            if "event" in row or "warning" in row:
                self.writer.add_text("health", str(row.get("message") or row), row.get("step", step))
                continue
            for key, value in row.items():
                if key not in TB_SKIP and isinstance(value, (int, float)) and not isinstance(value, bool):
                    self.writer.add_scalar(f"metrics/{key}", value, row.get("step", step))
        self.metrics_seen = len(rows)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


class Trackers:
    def __init__(self, run_dir: Path, tensorboard: bool = False, report: bool = True):
        self.run_dir = run_dir
        self.report = report
        self.tb = TensorBoardLogger(run_dir) if tensorboard else None

    def log(self, row: dict[str, Any]) -> None:
        if self.tb is not None:
            self.tb.log(row)

    def epoch_end(self, trainer: Trainer, seconds: float, grid: np.ndarray) -> None:
        append_jsonl(self.run_dir / EPOCHS_FILE, [{
            "epoch": trainer.epoch, "step": trainer.step, "seconds": round(seconds, 3),
            "images_per_s": round(trainer.n / seconds, 1) if seconds > 0 else None}])
        if self.tb is not None:
            self.tb.epoch_end(trainer.step, trainer.epoch, seconds, grid)

    def finish(self, run_dir: Path) -> None:
        if self.tb is not None:
            self.tb.close()
        if self.report:
            from ..report import after_training

            after_training(run_dir)


def make_trackers(trainer: Trainer) -> Trackers:
    if trainer.dist.rank:  # only rank 0 writes into the run folder
        return Trackers(trainer.run_dir, tensorboard=False, report=False)
    return Trackers(trainer.run_dir, tensorboard=trainer.cfg.tensorboard, report=trainer.cfg.report)


__all__ = ["Trackers", "TensorBoardLogger", "make_trackers", "EPOCHS_FILE", "TB_DIR"]
