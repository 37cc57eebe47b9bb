"""What a class-conditional run (``--cond``) adds to training: the labels and the class grid.

The labels come from the data set (MNIST and Fashion-MNIST 10 digits or garments, a folder its
sub-folders, Stacked MNIST its 1,000 digit triples); data without them is refused in one line. They
stay on the device beside the images and are gathered by the same permutation (``Trainer.real_batch``),
so a resumed run sees the same labels; the fakes' labels are drawn from the run's random stream
(``updates.StepContext.generate``), whose state every checkpoint holds, in the classes' shares of
the training images (``arch.class_prior``). Under ``--clusters`` the labels are clusters of the
images instead (clusters.py), and the fakes' labels follow the clusters' sizes.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ..data import ImageSet
from ..errors import DcganError

GRID_COLUMNS = 8      # fixed noise vectors per row of the class grid: a column is one noise vector
GRID_MAX_ROWS = 10    # classes shown in the training grid (the first ten; Stacked MNIST has 1,000)


def count_clusters(cfg: Any, n_images: int) -> None:
    """``--clusters auto`` made a number once the training set's size is known (clusters.auto_count),
    and such a run conditions by projection as ``--clusters K`` alone does."""
    if cfg.clusters == "auto":
        from .clusters import auto_count

        cfg.clusters = auto_count(n_images)
        if cfg.clusters and cfg.cond == "none":
            cfg.cond = "projection"


def labelled(cfg: Any, train: ImageSet, run_dir: Path | None = None, log: Callable[[str], None] | None = None,
             resumed: dict[str, Any] | None = None) -> tuple[ImageSet, list[str], list[float] | None]:
    """The training set with the labels a run conditions on, their class names in label order ([]
    for --cond none) and the classes' shares of the images (None for --cond none): --clusters K
    replaces the labels by clusters of the images (clusters.py).

    The shares are what G's labels follow when none is asked (the fakes of every step, ``dcgan
    sample`` without --class, ``dcgan eval``), so a conditional G's samples follow the data's
    classes as an unconditional G's do: drawn in turn instead, in equal numbers, real MNIST
    training images measure FID 0.23-0.26 against 0.12-0.14 in their own proportions
    (BENCHMARKS.md, "A conditional G samples the classes in the data's shares"). ``resumed``: the
    training state resumed from; a labelled run saved before runs recorded the shares resumes as it
    was saved (classes drawn in turn)."""
    if not cfg.clusters:
        names = class_names(cfg.cond, cfg.data, train)
        from ..models.lean import label_shares

        old = resumed is not None and "class_prior" not in (resumed.get("arch") or {})
        return train, names, label_shares(train.labels, len(names)) if names and not old else None
    from . import clusters

    labels, prior = clusters.cluster(train.images, cfg.clusters, cfg.seed, run_dir, log)
    train = dataclasses.replace(train, labels=labels, classes=clusters.names(cfg.clusters))
    return train, class_names(cfg.cond, cfg.data, train), prior


def class_edges(arch: dict, device: torch.device) -> torch.Tensor | None:
    """The classes' slices of [0, 1) by their shares (``models.lean.share_edges``, float32) on
    ``device``, from which the fakes' labels are drawn (updates.StepContext.generate); None where
    the architecture records no shares (uniform labels: a run saved before labelled runs did)."""
    from ..models.lean import share_edges

    prior = arch.get("class_prior")
    return share_edges(prior).float().to(device) if prior else None


def class_names(cond: str, data: str, train: ImageSet) -> list[str]:
    """The classes a ``--cond`` run conditions on, in label order ([] for --cond none)."""
    if cond == "none":
        return []
    if train.labels is None:
        raise DcganError(f"--cond {cond}: data set {data} has no class labels; give labelled data "
                         "(mnist, fashion, stacked-mnist, or a folder with one sub-folder per class)")
    k = max(len(train.classes), int(train.labels.max()) + 1 if len(train.labels) else 0)
    names = list(train.classes) if len(train.classes) == k else [str(i) for i in range(k)]
    return check_classes(cond, data, [str(n) for n in names])


def check_classes(cond: str, data: str, names: list[str]) -> list[str]:
    """``names``, refused in one line when there are fewer than two classes to condition on."""
    if len(names) < 2:
        raise DcganError(f"--cond {cond}: data set {data} has a single class; give a folder with one "
                         "sub-folder per class, or use --cond none")
    return names


DRY_RUN_NAMES = 12  # class names a dry run prints before "... (N in all)"


def shown_classes(arch: dict) -> dict:
    """``arch`` as a dry run prints it: a long class list cut to its first DRY_RUN_NAMES names."""
    names = arch.get("class_names")
    if not isinstance(names, list) or len(names) <= DRY_RUN_NAMES:
        return arch
    return {**arch, "class_names": names[:DRY_RUN_NAMES] + [f"... ({len(names)} in all)"]}


def fixed_inputs(arch: dict, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None, int]:
    """The training grid's inputs: (noise, labels, images per row). Unconditional: ``noise`` as it
    is, 4 per row. Conditional: one row per class (the first GRID_MAX_ROWS), the same GRID_COLUMNS
    noise vectors (the first of ``noise``, drawn from its own seed) in every row."""
    if arch.get("cond", "none") == "none":
        return noise, None, 4
    rows = min(int(arch["classes"]), GRID_MAX_ROWS)
    cols = noise[:GRID_COLUMNS]
    y = torch.arange(rows, device=noise.device).repeat_interleave(len(cols))  # (rows * cols,)
    return cols.repeat(rows, 1), y, len(cols)
