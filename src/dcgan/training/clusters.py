"""``--clusters K``: condition G and D on k-means clusters of the training images, no labels needed.

A self-conditioned GAN (Liu et al., "Diverse Image Generation via Self-Conditioned GANs", CVPR
2020): the training images are clustered once, before the first step, and the run trains as a
``--cond`` run whose classes are the clusters. Each cluster is a narrower distribution than the
whole data set, so G is asked to cover every one of them (the paper's gain in mode coverage and
FID; BENCHMARKS.md for this project's). Sampling without a class draws the clusters in proportion
to their size (``class_prior`` in the architecture, ``models.lean.prior_labels``), so the samples
follow the data set as a whole, as an unconditional generator's do.

The clustering is Lloyd's k-means with k-means++ seeding on the pixels (average-pooled to at most
``MAX_SIDE`` px a side), seeded by the run's seed. It is computed once and saved beside the run
(``RUN/clusters.safetensors``: every image's cluster, the centres, the sizes), so a resumed run
reads its clusters back rather than recomputing them on another machine's float rounding.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import DcganError
from ..fsutil import atomic_write

MAX_CLUSTERS = 1000      # Stacked MNIST's 1,000 digit triples is the largest count anyone needs
MAX_SIDE = 32            # images are clustered at most this many pixels a side
ITERATIONS = 25          # Lloyd iterations after the seeding (stops early once nothing moves)
CHUNK = 8192             # images per distance block (memory stays bounded however many images)
FILE = "clusters.safetensors"


def names(k: int) -> list[str]:
    """The classes a clustered run records: "cluster 0", "cluster 1", ..."""
    return [f"cluster {j}" for j in range(k)]


def check_count(k: int) -> None:
    """``--clusters K`` refused in one line unless K is a whole number from 2 to MAX_CLUSTERS."""
    if isinstance(k, bool) or not isinstance(k, int) or not 2 <= k <= MAX_CLUSTERS:
        raise DcganError(f"--clusters {k}: give a number of clusters from 2 to {MAX_CLUSTERS}, "
                         "e.g. --clusters 50 (0 turns clustering off)")


def check(k: int, n_images: int) -> None:
    """``--clusters K`` for a training set of ``n_images``, refused in one line when it cannot work."""
    check_count(k)
    if k * 2 > n_images:
        raise DcganError(f"--clusters {k} with {n_images} training images: give at most "
                         f"{n_images // 2} clusters (two images each at the least)")


def features(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) -> float32 (N, D) in [0, 1]: the pixels, average-pooled to at most
    MAX_SIDE a side, flattened."""
    out = []
    for part in images.split(CHUNK):
        x = part.float().div_(255)
        side = max(x.shape[-2:])
        if side > MAX_SIDE:
            x = F.adaptive_avg_pool2d(x, (min(MAX_SIDE, x.shape[-2]), min(MAX_SIDE, x.shape[-1])))
        out.append(x.flatten(1))
    return torch.cat(out)


def _sq_dist(x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
    """(N, K) squared distances, blockwise over the rows of ``x``."""
    cc = (c * c).sum(1)
    return torch.cat([((p * p).sum(1, keepdim=True) - 2 * p @ c.T + cc).clamp_(min=0) for p in x.split(CHUNK)])


def kmeans(x: torch.Tensor, k: int, seed: int = 0, iterations: int = ITERATIONS) -> tuple[torch.Tensor, torch.Tensor]:
    """Lloyd's k-means of the rows of ``x`` (N, D) with k-means++ seeding from ``seed``: returns
    (labels (N,) int64, centres (k, D)). A cluster left empty by an iteration is re-seeded at the
    point farthest from its own centre."""
    n = len(x)
    if not 1 <= k <= n:
        raise DcganError(f"k-means: {k} clusters of {n} points")
    g = torch.Generator().manual_seed(int(seed))
    centres = torch.empty(k, x.shape[1])
    centres[0] = x[torch.randint(0, n, (1,), generator=g)]
    nearest = _sq_dist(x, centres[:1])[:, 0]
    for j in range(1, k):  # k-means++: each next centre drawn with probability ~ squared distance
        total = nearest.sum()
        i = torch.multinomial(nearest / total, 1, generator=g) if total > 0 else torch.randint(0, n, (1,), generator=g)
        centres[j] = x[i]
        nearest = torch.minimum(nearest, _sq_dist(x, centres[j:j + 1])[:, 0])
    labels = _sq_dist(x, centres).argmin(1)
    for _ in range(iterations):
        counts = torch.bincount(labels, minlength=k)
        sums = torch.zeros(k, x.shape[1]).index_add_(0, labels, x)
        empty = counts == 0
        centres = torch.where(empty[:, None], centres, sums / counts.clamp(min=1)[:, None])
        d = _sq_dist(x, centres)
        if empty.any():  # an empty cluster takes the point farthest from its own centre
            far = d.gather(1, labels[:, None])[:, 0]
            for j in empty.nonzero()[:, 0].tolist():
                i = int(far.argmax())
                centres[j], far[i] = x[i], -1.0
            d = _sq_dist(x, centres)
        new = d.argmin(1)
        if torch.equal(new, labels) and not empty.any():
            break
        labels = new
    return labels, centres


def cluster(images: torch.Tensor, k: int, seed: int, run_dir: Path | None = None,
            log: Callable[[str], None] | None = None) -> tuple[torch.Tensor, list[float]]:
    """The cluster of every training image (N,) and the clusters' shares of the images (K floats,
    summing to 1): read from ``run_dir``/clusters.safetensors when it holds this many images and
    clusters (a resumed run), else computed and saved there."""
    from safetensors.torch import load_file, save

    check(k, len(images))
    path = Path(run_dir) / FILE if run_dir is not None else None
    keep = path is not None and path.parent.is_dir()  # time_to_quality's os.devnull keeps nothing
    if keep and path.is_file():
        try:
            saved = load_file(str(path))
            labels = saved["labels"].long()
            ok = len(labels) == len(images) and saved["centres"].shape[0] == k and 0 <= int(labels.min()) \
                and int(labels.max()) < k
        except Exception:  # noqa: BLE001 - an unreadable file is recomputed, never trusted
            ok = False
        if ok:
            return labels, _shares(labels, k)
    if log is not None:
        log(f"clustering {len(images):,} images into {k} clusters (k-means on the pixels, once"
            + (f"; kept in {path})" if keep else ")"))
    labels, centres = kmeans(features(images), k, seed)
    if keep:
        atomic_write(path, save({"labels": labels.to(torch.int32), "centres": centres.contiguous(),
                                 "sizes": torch.bincount(labels, minlength=k)}))
    return labels, _shares(labels, k)


def _shares(labels: torch.Tensor, k: int) -> list[float]:
    counts = torch.bincount(labels, minlength=k).double()
    return (counts / counts.sum()).tolist()
