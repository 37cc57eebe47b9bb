"""What watches a training run without steering it: epoch timings, experiment trackers, the report.

(What steers, evaluation and failure reactions, is health.py.) The Trainer calls three hooks on one
``Trackers`` object: ``log(row)`` after each stats.jsonl line,
``epoch_end(trainer, seconds, grid)`` after each epoch's sample grid, and ``finish(run_dir)`` when
fit() returns. Each hook only reads; none may change the training.

Experiment trackers (``--log-to tensorboard,wandb,mlflow``) are ``Observer``s: four hooks, each
given plain numbers and arrays, so a tracker is a small class over its own client library. The
new lines of metrics.jsonl (evaluations, the default watch, health warnings) are read once per
epoch and at the end, and handed to every observer. The optional libraries are imported only when
asked for; a missing one is a one-line error that names the pip line.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ..errors import DcganError
from ..fsutil import append_jsonl, atomic_write, read_jsonl

if TYPE_CHECKING:
    from .trainer import Trainer

EPOCHS_FILE = "epochs.jsonl"
TB_DIR = "tensorboard"
IDS_FILE = "trackers.json"  # the wandb/MLflow run ids of this folder, so a resume continues them
PROJECT = "dcgan"           # wandb project and MLflow experiment, unless WANDB_PROJECT / MLFLOW_EXPERIMENT_NAME
# stats.jsonl keys -> tracker tags
TB_SCALARS = {"d_loss": "loss/d", "g_loss": "loss/g", "d_x": "D/x", "d_g_z": "D/G(z)",
              "images_per_s": "speed/images_per_s", "g_grad_norm": "grad_norm/g",
              "d_grad_norm": "grad_norm/d"}
TB_SKIP = {"epoch", "step", "best", "n_modes", "event", "warning", "message", "action", "mode_min_count"}


def _pip(package: str, name: str) -> DcganError:
    return DcganError(f"--log-to {name} needs the {package} package: pip install 'dcgan[trackers]' "
                      f"(or pip install {package}), or train without {name} in --log-to")


def _refused(name: str, where: str, exc: Exception, fix: str) -> DcganError:
    first = (str(exc).strip().splitlines() or [type(exc).__name__])[0].split(". ")[0]
    return DcganError(f"--log-to {name}: {where} refused the run ({first}); {fix}, or train "
                      f"without {name} in --log-to")


def scalars(row: dict[str, Any]) -> dict[str, float]:
    """A stats.jsonl line as tracker tags and numbers."""
    return {tag: float(row[key]) for key, tag in TB_SCALARS.items()
            if isinstance(row.get(key), (int, float)) and not isinstance(row.get(key), bool)}


def metric_scalars(row: dict[str, Any]) -> dict[str, float]:
    """A metrics.jsonl evaluation line as ``metrics/<name>`` tags and numbers."""
    return {f"metrics/{k}": float(v) for k, v in row.items()
            if k not in TB_SKIP and isinstance(v, (int, float)) and not isinstance(v, bool)}


def health_text(row: dict[str, Any]) -> str | None:
    """The message of a metrics.jsonl warning/event line, else None."""
    if "event" in row or "warning" in row:
        return str(row.get("message") or row.get("warning") or row)
    return None


class Observer(Protocol):
    """An experiment tracker: every hook only reads what it is given."""

    def log(self, row: dict[str, Any]) -> None: ...                       # a stats.jsonl line
    def epoch_end(self, step: int, epoch: int, seconds: float, grid: np.ndarray) -> None: ...
    def metrics(self, rows: list[dict[str, Any]], step: int) -> None: ...  # new metrics.jsonl lines
    def close(self) -> None: ...


class TensorBoardLogger:
    """Scalars and the fixed-seed grid in TensorBoard's own event files, under RUN/tensorboard/."""

    def __init__(self, run_dir: Path, config: dict[str, Any] | None = None):
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:  # torch's writer needs the tensorboard package
            raise DcganError("--tensorboard needs the tensorboard package: pip install "
                             "'dcgan[tensorboard]' (or pip install tensorboard), or train without "
                             "--tensorboard") from None
        self.writer = SummaryWriter(log_dir=str(run_dir / TB_DIR))

    def log(self, row: dict[str, Any]) -> None:
        for tag, value in scalars(row).items():
            self.writer.add_scalar(tag, value, row.get("step", 0))

    def epoch_end(self, step: int, epoch: int, seconds: float, grid: np.ndarray) -> None:
        self.writer.add_image("samples/fixed_noise", grid, step, dataformats="HWC")
        self.writer.add_scalar("speed/seconds_per_epoch", seconds, step)
        self.writer.flush()

    def metrics(self, rows: list[dict[str, Any]], step: int) -> None:
        for row in rows:
            text = health_text(row)
            if text is not None:
                self.writer.add_text("health", text, row.get("step", step))
                continue
            for tag, value in metric_scalars(row).items():
                self.writer.add_scalar(tag, value, row.get("step", step))
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def _ids(run_dir: Path) -> dict[str, str]:
    try:
        ids = json.loads((run_dir / IDS_FILE).read_text())
    except (OSError, ValueError):
        return {}
    return ids if isinstance(ids, dict) else {}


def _save_id(run_dir: Path, key: str, value: str) -> None:
    atomic_write(run_dir / IDS_FILE, json.dumps({**_ids(run_dir), key: value}, indent=1))


class WandbLogger:
    """Weights & Biases: one wandb run per run folder (resumed with it), files under RUN/wandb/.
    ``WANDB_MODE=offline`` logs without an account; ``wandb sync`` uploads later."""

    def __init__(self, run_dir: Path, config: dict[str, Any] | None = None):
        try:
            import wandb
        except ImportError:
            raise _pip("wandb", "wandb") from None
        run_id = _ids(run_dir).get("wandb") or secrets.token_hex(4)  # wandb ids: [a-z0-9]
        self.wandb = wandb
        try:
            self.run = wandb.init(project=os.environ.get("WANDB_PROJECT", PROJECT), name=run_dir.name,
                                  id=run_id, resume="allow", dir=str(run_dir), config=config or {})
        except Exception as exc:  # no login, no network, a bad setting: one line, with what to do
            raise _refused("wandb", "wandb", exc, "run `wandb login`, or set WANDB_MODE=offline") from None
        _save_id(run_dir, "wandb", run_id)
        # one x-axis for everything: metrics lines arrive an epoch late, in step order of their own
        self.run.define_metric("trainer/step")
        self.run.define_metric("*", step_metric="trainer/step")

    def log(self, row: dict[str, Any]) -> None:
        self.run.log({**scalars(row), "trainer/step": row.get("step", 0)})

    def epoch_end(self, step: int, epoch: int, seconds: float, grid: np.ndarray) -> None:
        self.run.log({"samples/fixed_noise": self.wandb.Image(grid, caption=f"epoch {epoch}"),
                      "speed/seconds_per_epoch": seconds, "trainer/step": step})

    def metrics(self, rows: list[dict[str, Any]], step: int) -> None:
        for row in rows:
            text = health_text(row)
            if text is not None:
                self.run.summary["health/last_warning"] = text
            else:
                self.run.log({**metric_scalars(row), "trainer/step": row.get("step", step)})

    def close(self) -> None:
        self.run.finish()


class MLflowLogger:
    """MLflow: params from the resolved config, metrics by step, grids as artifacts, warnings as
    tags, in the tracking store ``MLFLOW_TRACKING_URI`` names (MLflow's own default without it)."""

    def __init__(self, run_dir: Path, config: dict[str, Any] | None = None):
        try:
            from mlflow.tracking import MlflowClient
        except ImportError:
            raise _pip("mlflow-skinny", "mlflow") from None
        try:
            self.client = MlflowClient()
            name = os.environ.get("MLFLOW_EXPERIMENT_NAME", PROJECT)
            exp = self.client.get_experiment_by_name(name)
            exp_id = exp.experiment_id if exp is not None else self.client.create_experiment(name)
            run_id = _ids(run_dir).get("mlflow")
            if run_id is None:
                run_id = self.client.create_run(exp_id, run_name=run_dir.name).info.run_id
                for key, value in sorted((config or {}).items()):  # params are write-once: new runs only
                    self.client.log_param(run_id, key, json.dumps(value)[:500])
                _save_id(run_dir, "mlflow", run_id)
        except Exception as exc:  # MLflow's own errors are many and long: the first sentence
            uri = os.environ.get("MLFLOW_TRACKING_URI", "(MLflow's default)")
            raise _refused("mlflow", f"the tracking store {uri}", exc,
                           "set MLFLOW_TRACKING_URI, e.g. to an `mlflow server` "
                           "(http://127.0.0.1:5000) or to file:./mlruns with MLFLOW_ALLOW_FILE_STORE=true"
                           ) from None
        self.run_id = run_id

    def _log(self, values: dict[str, float], step: int) -> None:
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        metrics = [Metric(tag.replace("(", "_").replace(")", ""), v, now, int(step)) for tag, v in values.items()]
        if metrics:
            self.client.log_batch(self.run_id, metrics=metrics)

    def log(self, row: dict[str, Any]) -> None:
        self._log(scalars(row), row.get("step", 0))

    def epoch_end(self, step: int, epoch: int, seconds: float, grid: np.ndarray) -> None:
        self._log({"speed/seconds_per_epoch": seconds}, step)
        self.client.log_image(self.run_id, grid, artifact_file=f"samples/epoch_{epoch:04d}.png")

    def metrics(self, rows: list[dict[str, Any]], step: int) -> None:
        for row in rows:
            text = health_text(row)
            if text is not None:
                self.client.set_tag(self.run_id, f"health.step_{row.get('step', step)}", text[:5000])
            else:
                self._log(metric_scalars(row), row.get("step", step))

    def close(self) -> None:
        self.client.set_terminated(self.run_id)


OBSERVERS: dict[str, type] = {"tensorboard": TensorBoardLogger, "wandb": WandbLogger,
                              "mlflow": MLflowLogger}


class Trackers:
    def __init__(self, run_dir: Path, log_to: tuple[str, ...] = (), report: bool = True,
                 config: dict[str, Any] | None = None):
        self.run_dir = run_dir
        self.report = report
        self.metrics_path = run_dir / "metrics.jsonl"
        self.metrics_seen = len(read_jsonl(self.metrics_path))  # a resumed run logged those already
        self.observers: list[Observer] = []
        try:
            for name in log_to:
                self.observers.append(OBSERVERS[name](run_dir, config))
        except BaseException:
            self.close()
            raise

    def log(self, row: dict[str, Any]) -> None:
        for obs in self.observers:
            obs.log(row)

    def _new_metrics(self, step: int) -> None:
        if not self.observers:
            return
        rows = read_jsonl(self.metrics_path)  # written by health.py at epoch ends
        new, self.metrics_seen = rows[self.metrics_seen:], len(rows)
        if new:
            for obs in self.observers:
                obs.metrics(new, step)

    def epoch_end(self, trainer: Trainer, seconds: float, grid: np.ndarray) -> None:
        append_jsonl(self.run_dir / EPOCHS_FILE, [{
            "epoch": trainer.epoch, "step": trainer.step, "seconds": round(seconds, 3),
            "images_per_s": round(trainer.n / seconds, 1) if seconds > 0 else None}])
        for obs in self.observers:
            obs.epoch_end(trainer.step, trainer.epoch, seconds, grid)
        self._new_metrics(trainer.step)

    def close(self, step: int = 0) -> None:
        """Hand the last metrics lines over and close every observer (each once)."""
        self._new_metrics(step)
        while self.observers:
            self.observers.pop().close()

    def finish(self, run_dir: Path) -> None:
        self.close()
        if self.report:
            from ..report import after_training

            after_training(run_dir)


def make_trackers(trainer: Trainer) -> Trackers:
    if trainer.dist.rank:  # only rank 0 writes into the run folder
        return Trackers(trainer.run_dir, report=False)
    from .config import parse_trackers

    cfg = trainer.cfg
    log_to, _ = parse_trackers(cfg.log_to, cfg.tensorboard)  # a resume's flags are not resolved again
    names = tuple(n for n in log_to.split(",") if n)
    return Trackers(trainer.run_dir, names, report=cfg.report, config=cfg.to_dict())


__all__ = ["Trackers", "Observer", "TensorBoardLogger", "WandbLogger", "MLflowLogger", "OBSERVERS",
           "make_trackers", "EPOCHS_FILE", "TB_DIR", "IDS_FILE"]
