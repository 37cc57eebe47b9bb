"""The metrics, by name: each takes the real and generated features/predictions and returns numbers.

A metric is a function ``(Sets) -> dict[str, float | list]`` registered under a name; ``compute``
runs a list of them. The formulas:

* FID — Fréchet distance between Gaussians fitted to the two feature sets (Heusel et al., 2017).
* KID — unbiased MMD² with the cubic polynomial kernel, mean ± std over subsets (Bińkowski et al.).
* precision / recall — k-NN manifolds, k = 3 (Kynkäänniemi et al., 2019).
* density / coverage — k-NN balls around real samples, k = 5 (Naeem et al., 2020).
* classes — histogram of predicted classes, modes covered, KL(generated ‖ uniform), mean confidence,
  classifier score exp(E KL(p(y|x) ‖ p(y))) (the Inception Score's analogue).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

PR_K = 3          # Kynkäänniemi et al.'s k
DC_K = 5          # Naeem et al.'s k
KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
MODE_MIN_SHARE = 0.1  # a class counts as covered if it holds >= 10 % of its uniform share


@dataclass
class Sets:
    """Everything a metric may read; float64 numpy features (N, D), class probabilities (N, K)."""

    real: np.ndarray
    fake: np.ndarray
    fake_probs: np.ndarray | None = None
    fake_labels: np.ndarray | None = None  # predicted classes (for multi-digit data, combined)
    n_classes: int = 10
    mode_min_count: int | None = None      # None: MODE_MIN_SHARE of the uniform share
    digits: int = 1                        # > 1: labels are digit tuples, 10**digits classes (Stacked MNIST)
    seed: int = 0
    kid_subsets: int = KID_SUBSETS
    cache: dict = field(default_factory=dict)


# -- closed-form pieces -----------------------------------------------------------------------

def gaussian_stats(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    return x.mean(0), np.cov(x, rowvar=False)


def frechet_distance(mu1: np.ndarray, s1: np.ndarray, mu2: np.ndarray, s2: np.ndarray) -> float:
    """||mu1-mu2||² + tr(S1 + S2 - 2 (S1 S2)^½), via symmetric eigendecompositions.

    tr((S1 S2)^½) = tr((S1^½ S2 S1^½)^½) and the inner matrix is symmetric PSD, so two ``eigh``
    calls replace the non-symmetric ``sqrtm`` (no scipy, no complex round-off).
    """
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    inner = root1 @ s2 @ root1
    tr_cross = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    return float(max(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * tr_cross, 0.0))


def _kth_nn_radius(x: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each row to its k-th nearest other row."""
    radii = []
    for chunk in x.split(2048):
        d = torch.cdist(chunk, x)
        radii.append(d.kthvalue(k + 1, dim=1).values)  # +1: the point itself at distance 0
    return torch.cat(radii)


def _in_balls(query: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """(Q, C) count per query of balls (centres, radii) that contain it -> counts (Q,)."""
    counts = []
    for chunk in query.split(2048):
        counts.append((torch.cdist(chunk, centres) <= radii[None]).sum(1))
    return torch.cat(counts)


# -- the registry --------------------------------------------------------------------------------

@dataclass(frozen=True)
class Metric:
    name: str
    summary: str
    fn: Callable[[Sets], dict]
    needs_classes: bool = False


METRICS: dict[str, Metric] = {}


def register(name: str, summary: str, needs_classes: bool = False):
    def deco(fn: Callable[[Sets], dict]) -> Callable[[Sets], dict]:
        METRICS[name] = Metric(name, summary, fn, needs_classes)
        return fn
    return deco


@register("fid", "Fréchet distance of Gaussians fitted to the features (lower is better)")
def fid(s: Sets) -> dict:
    return {"fid": frechet_distance(*gaussian_stats(s.real), *gaussian_stats(s.fake))}


@register("kid", "kernel inception distance, unbiased MMD² with a cubic kernel (lower is better)")
def kid(s: Sets) -> dict:
    x, y = torch.from_numpy(s.real), torch.from_numpy(s.fake)
    d = x.shape[1]
    m = min(KID_SUBSET_SIZE, len(x), len(y))
    g = torch.Generator().manual_seed(s.seed)
    values = []

    def kernel(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:  # (x·y / d + 1)³, in place
        return (u @ v.T).div_(d).add_(1).pow_(3)

    for _ in range(s.kid_subsets):
        a = x[torch.randperm(len(x), generator=g)[:m]]
        b = y[torch.randperm(len(y), generator=g)[:m]]
        kxx, kyy = kernel(a, a), kernel(b, b)
        off_diag = (kxx.sum() - kxx.diagonal().sum() + kyy.sum() - kyy.diagonal().sum()) / (m * (m - 1))
        values.append(float(off_diag - 2 * kernel(a, b).mean()))
    v = np.array(values)
    return {"kid": float(v.mean()), "kid_std": float(v.std())}


def _pr_balls(s: Sets, k: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    key = ("radii", k)
    if key not in s.cache:
        x, y = torch.from_numpy(s.real), torch.from_numpy(s.fake)
        s.cache[key] = (x, y, _kth_nn_radius(x, k), _kth_nn_radius(y, k))
    return s.cache[key]


@register("precision_recall", f"Kynkäänniemi et al.'s improved precision and recall, k = {PR_K}")
def precision_recall(s: Sets) -> dict:
    x, y, rx, ry = _pr_balls(s, PR_K)
    precision = (_in_balls(y, x, rx) > 0).double().mean()
    recall = (_in_balls(x, y, ry) > 0).double().mean()
    return {"precision": float(precision), "recall": float(recall)}


@register("density_coverage", f"Naeem et al.'s density and coverage, k = {DC_K}")
def density_coverage(s: Sets) -> dict:
    x, y, rx, _ = _pr_balls(s, DC_K)
    density = _in_balls(y, x, rx).double().sum() / (DC_K * len(y))
    nearest_fake = torch.cat([torch.cdist(c, y).min(1).values for c in x.split(2048)])
    coverage = (nearest_fake <= rx).double().mean()
    return {"density": float(density), "coverage": float(coverage)}


def kl_to_uniform(p: np.ndarray) -> float:
    """KL(p || uniform) of a distribution over ``len(p)`` classes (empty classes add nothing)."""
    p = np.asarray(p, dtype=np.float64)
    nz = p > 0
    return float((p[nz] * np.log(p[nz] * p.size)).sum())


def position_shares(p: np.ndarray, digits: int) -> list[np.ndarray]:
    """Each position's digit shares of a distribution over digit tuples (10**digits classes, the
    label's base-10 digits one per position, the first digit the first position)."""
    p = np.asarray(p, dtype=np.float64).reshape((10,) * digits)
    return [p.sum(axis=tuple(a for a in range(digits) if a != i)) for i in range(digits)]


def kl_split(p: np.ndarray, digits: int) -> tuple[float, float]:
    """KL(p || uniform) of a distribution over digit tuples split exactly into its two parts: the
    digits' marginals (the sum over positions of KL(that position's digit shares || uniform)) and
    their combination (the rest: the tuples' total correlation, zero when the positions are drawn
    independently)."""
    marginals = sum(kl_to_uniform(s) for s in position_shares(p, digits))
    return marginals, kl_to_uniform(p) - marginals


@register("classes", "class histogram, modes covered, KL(generated ‖ uniform) (for digit tuples also "
          "split into the digits' shares and their combination), mean confidence, classifier score",
          needs_classes=True)
def classes(s: Sets) -> dict:
    k = s.n_classes
    labels = s.fake_labels if s.fake_labels is not None else s.fake_probs.argmax(1)
    hist = np.bincount(labels, minlength=k)[:k]
    n = len(labels)
    min_count = s.mode_min_count or max(1, math.ceil(MODE_MIN_SHARE * n / k))
    kl = kl_to_uniform(hist / n)
    out = {"modes": int((hist >= min_count).sum()), "n_modes": k, "mode_min_count": int(min_count),
           "kl_uniform": kl, "histogram": hist.tolist()}
    if s.digits > 1 and k == 10 ** s.digits:
        out["kl_marginals"], out["kl_combination"] = kl_split(hist / n, s.digits)
    if s.fake_probs is not None:
        probs = np.clip(s.fake_probs, 1e-12, 1.0)
        marginal = probs.mean(0)
        out["mean_confidence"] = float(s.fake_probs.max(1).mean())
        out["classifier_score"] = float(np.exp((probs * (np.log(probs) - np.log(marginal))).sum(1).mean()))
    return out


DEFAULT = ("fid", "kid", "precision_recall", "density_coverage", "classes")


def compute(s: Sets, names: tuple[str, ...] | list[str] = DEFAULT) -> dict:
    out: dict = {}
    for name in names:
        metric = METRICS[name]
        if metric.needs_classes and s.fake_probs is None and s.fake_labels is None:
            continue
        out.update(metric.fn(s))
    return out
