"""Per-class metrics of a class-conditional generator (``--cond``), beside the overall numbers.

* class accuracy — the share of generated images the shipped classifier reads as the class they
  were asked for (the "classification accuracy score" idea, Ravuri & Vinyals 2019, read the other
  way round: a fixed real-data classifier judging generated images), overall and per class;
* intra-FID — the FID of each class's generated images against the reference split's images of
  that class (true labels), and their mean over the classes (Miyato & Koyama 2018).

The images are the overall evaluation's own, so no image is drawn twice: without a class asked, a
conditional generator's image i asks for the class ``models.lean.default_labels`` gives it
(``generation.sampling.generate``): in the training labels' shares where the run recorded them
(``arch.class_prior``), so the overall numbers compare like with like; else class i mod K.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..models.lean import default_labels
from .registry import frechet_distance, gaussian_stats

INTRA_FID_MIN = 50   # images of a class, real and generated, below which its FID is not reported
MAX_LISTED = 100     # classes listed one by one (Stacked MNIST's 1,000 get the overall accuracy only)
RULE = (f"image i asks for class i mod K, or where the run recorded its classes' shares, the class "
        f"they give it (models.lean.prior_labels); class accuracy: the classifier's reading equals the class "
        f"asked for; intra-FID: each class's generated images vs the reference images of that class "
        f"(true labels), mean over the classes with >= {INTRA_FID_MIN} of each")


def requested(n: int, k: int, prior: list[float] | None = None) -> np.ndarray:
    """The class each of ``n`` generated images asked for (``prior``: the classes' shares, if any)."""
    return default_labels(0, n, k, prior).numpy()


def measure(names: list[str], real: np.ndarray, real_labels: np.ndarray | None, fake: np.ndarray,
            fake_read: np.ndarray | None, classifier_classes: int,
            prior: list[float] | None = None) -> dict[str, Any]:
    """Class accuracy (where the classifier reads these ``names``' classes: same count) and
    intra-FID (where the reference has labels), overall and per class; ``prior``: the shares the
    images' classes were drawn in (``requested``)."""
    k = len(names)
    y = requested(len(fake), k, prior)
    out: dict[str, Any] = {}
    hit = None
    if fake_read is not None and classifier_classes == k:
        hit = np.asarray(fake_read) == y
        out["class_accuracy"] = float(hit.mean())
    if k > MAX_LISTED:
        return out
    rows, fids = [], []
    for c in range(k):
        row: dict[str, Any] = {"class": names[c], "n": int((y == c).sum())}
        if hit is not None:
            row["accuracy"] = float(hit[y == c].mean()) if row["n"] else None
        if real_labels is not None:
            r, f = real[np.asarray(real_labels) == c], fake[y == c]
            if len(r) >= INTRA_FID_MIN and len(f) >= INTRA_FID_MIN:
                row["fid"] = frechet_distance(*gaussian_stats(r), *gaussian_stats(f))
                fids.append(row["fid"])
        rows.append(row)
    if fids:
        out["intra_fid"] = float(np.mean(fids))
        out["intra_fid_max"] = float(np.max(fids))
    out["per_class"] = rows
    return out


def format_rows(metrics: dict[str, Any]) -> list[str]:
    """The table lines of ``dcgan eval`` for the per-class numbers ([] for an unconditional run)."""
    lines = []
    if "class_accuracy" in metrics:
        lines.append(f"{'class accuracy':<20} {metrics['class_accuracy']:.4f}")
    if "intra_fid" in metrics:
        lines.append(f"{'intra-FID (mean)':<20} {metrics['intra_fid']:.3f} (worst class {metrics['intra_fid_max']:.3f})")
    rows = metrics.get("per_class") or []
    if rows:
        lines.append(f"{'  class':<20} {'accuracy':>8}  {'FID':>8}")
        for r in rows:
            acc = "-" if r.get("accuracy") is None else f"{r['accuracy']:.4f}"
            fid = "-" if r.get("fid") is None else f"{r['fid']:.3f}"
            lines.append(f"  {r['class'][:18]:<18} {acc:>8}  {fid:>8}")
    return lines
