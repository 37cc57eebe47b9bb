"""``--clusters K``: condition G and D on k-means clusters of the training images, no labels needed.

A self-conditioned GAN (Liu et al., "Diverse Image Generation via Self-Conditioned GANs", CVPR
2020): the training images are clustered once, before the first step, and the run trains as a
``--cond`` run whose classes are the clusters. Each cluster is a narrower distribution than the
whole data set, so G is asked to cover every one of them (the paper's gain in mode coverage and
FID; BENCHMARKS.md for this project's). Sampling without a class draws the clusters in proportion
to their size (``class_prior`` in the architecture, ``models.lean.prior_labels``), so the samples
follow the data set as a whole, as an unconditional generator's do.

The clustering is spectral (Ng, Jordan & Weiss 2001) on the images' nearest-neighbour graph: the
pixels (average-pooled to at most ``MAX_SIDE`` px a side) are projected on their ``PCA_DIMS``
principal components, each image is joined to its ``NEIGHBOURS`` nearest others, the graph's
leading ``EMBED_DIMS`` eigenvectors of its normalised adjacency (exact up to ``DENSE_MAX`` images,
else by subspace iteration) embed every image, and Lloyd's k-means with k-means++ seeding splits
the row-normalised embedding into K. A digit's nearest neighbours are nearly always the same digit
(96 % on MNIST) where k-means on the pixels mixes them, so the clusters follow the classes much more closely (purity 0.96 against
0.80 for MNIST's 60,000 into 50: BENCHMARKS.md, "No labels"). Sets over ``MAX_GRAPH`` images build
the graph on a seeded sample of that many and give every other image its nearest sampled image's
cluster, so time and memory stay bounded. Everything is seeded by the run's seed. It is computed
once and saved beside the run (``RUN/clusters.safetensors``: every image's cluster, the clusters'
mean images, the sizes), so a resumed run reads its clusters back rather than recomputing them on
another machine's float rounding.
"""

from __future__ import annotations

from collections.abc import Callable
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F

from ..errors import DcganError
from ..fsutil import atomic_write
from ..models.lean import label_shares

MAX_CLUSTERS = 1000      # Stacked MNIST's 1,000 digit triples is the largest count anyone needs
MAX_SIDE = 32            # images are clustered at most this many pixels a side
ITERATIONS = 25          # Lloyd iterations after the seeding (stops early once nothing moves)
CHUNK = 8192             # images per distance block (memory stays bounded however many images)
PCA_DIMS = 50            # the pixels' principal components the neighbours are found in
NEIGHBOURS = 10          # each image's edges in the graph
EMBED_DIMS = 20          # the graph's leading eigenvectors k-means runs on
POWER_STEPS = 200        # subspace iterations for them
DENSE_MAX = 2048         # graphs up to this many images are solved exactly (eigh), larger ones iterated
MAX_GRAPH = 65_536       # images in the graph at most (more: a seeded sample, the rest by nearest image)
BLOCK_FLOATS = 1 << 26   # a neighbour search's distance block: 256 MB of float32
FILE = "clusters.safetensors"
# --clusters auto (the lean recipe's): 50 clusters split MNIST and Fashion-MNIST best in ten minutes
# (BENCHMARKS.md, "No labels"); a set under 10,000 images (~200 a cluster) trains unclustered.
AUTO_K = 50
AUTO_MIN_IMAGES = 10_000


def names(k: int) -> list[str]:
    """The classes a clustered run records: "cluster 0", "cluster 1", ..."""
    return [f"cluster {j}" for j in range(k)]


def auto_count(n_images: int) -> int:
    """The clusters ``--clusters auto`` makes of ``n_images`` training images: AUTO_K, or 0 (off)
    under AUTO_MIN_IMAGES."""
    return AUTO_K if n_images >= AUTO_MIN_IMAGES else 0


def auto_rule() -> str:
    """What ``--clusters auto`` will do, in words (the dry run's, before any image is read)."""
    return (f"--clusters auto: {AUTO_K} clusters of the images if the training set holds "
            f"{AUTO_MIN_IMAGES:,} or more, else none (--clusters 0 turns it off)")


def check_count(k: int) -> None:
    """``--clusters K`` refused in one line unless K is a whole number from 2 to MAX_CLUSTERS."""
    if isinstance(k, bool) or not isinstance(k, int) or not 2 <= k <= MAX_CLUSTERS:
        raise DcganError(f"--clusters {k}: give a number of clusters from 2 to {MAX_CLUSTERS}, "
                         "e.g. --clusters 50, or auto (0 turns clustering off)")


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
            return labels, label_shares(labels, k)
    if log is not None:
        log(f"clustering {len(images):,} images into {k} clusters (spectral, on the images' "
            f"{NEIGHBOURS}-nearest-neighbour graph; once" + (f"; kept in {path})" if keep else ")"))
    x = features(images)
    labels = spectral(x, k, seed)
    if keep:
        counts = torch.bincount(labels, minlength=k)
        means = torch.zeros(k, x.shape[1]).index_add_(0, labels, x) / counts.clamp(min=1)[:, None]
        atomic_write(path, save({"labels": labels.to(torch.int32), "centres": means.contiguous(),
                                 "sizes": counts}))
    return labels, label_shares(labels, k)


def principal(x: torch.Tensor, dims: int = PCA_DIMS) -> torch.Tensor:
    """The rows of ``x`` (N, D), centred, on their top ``dims`` principal components (N, dims):
    the covariance's eigenvectors (exact and deterministic, D is at most 3 x MAX_SIDE^2). Centred a
    block at a time, so no second copy of the whole (N, D) is made (the same values as at once)."""
    mean = x.mean(0)
    if x.shape[1] <= dims:
        return x - mean
    cov = torch.zeros(x.shape[1], x.shape[1], dtype=torch.float64)
    for part in x.split(CHUNK):
        part = part - mean
        cov += (part.T @ part).double()
    vectors = torch.linalg.eigh(cov)[1][:, -dims:].flip(1).float()
    return torch.cat([(part - mean) @ vectors for part in x.split(CHUNK)])


def nearest(query: torch.Tensor, points: torch.Tensor, k: int, exclude_self: bool = False) -> torch.Tensor:
    """(Q, k) indices of each query row's ``k`` nearest rows of ``points`` (squared Euclidean),
    blockwise so no block holds more than BLOCK_FLOATS distances. ``exclude_self``: ``query`` is
    ``points`` and a row is not its own neighbour."""
    pp = (points * points).sum(1)
    rows = max(1, BLOCK_FLOATS // max(1, len(points)))
    out = []
    for s in range(0, len(query), rows):
        d = torch.addmm(pp, query[s:s + rows], points.T, alpha=-2)  # |q|^2 is the same along a row
        if exclude_self:
            i = torch.arange(len(d))
            d[i, i + s] = float("inf")
        out.append(d.topk(k, largest=False).indices)
    return torch.cat(out)


def embed(z: torch.Tensor, seed: int, neighbours: int = NEIGHBOURS, dims: int = EMBED_DIMS,
          steps: int = POWER_STEPS) -> torch.Tensor:
    """Spectral embedding (N, dims) of the rows of ``z``: the leading eigenvectors of the normalised
    adjacency D^-1/2 W D^-1/2 of their symmetric ``neighbours``-nearest-neighbour graph W (exact up
    to DENSE_MAX rows, else by subspace iteration on its lazy walk from a start drawn from ``seed``),
    rows scaled to unit length."""
    n = len(z)
    neighbours, dims = min(neighbours, n - 1), min(dims, n)
    idx = nearest(z, z, neighbours, exclude_self=True)
    rows = torch.arange(n).repeat_interleave(neighbours)
    edges = torch.stack([torch.cat([rows, idx.flatten()]), torch.cat([idx.flatten(), rows])])
    edges = torch.sparse_coo_tensor(edges, torch.ones(edges.shape[1]), (n, n), check_invariants=True).coalesce().indices()
    degree = torch.bincount(edges[0], minlength=n).float()
    scale = degree.rsqrt()
    with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta": the product is all we use
        warnings.filterwarnings("ignore", message="Sparse CSR")
        a = torch.sparse_coo_tensor(edges, scale[edges[0]] * scale[edges[1]], (n, n), is_coalesced=True,
                                    check_invariants=True).to_sparse_csr()
    if n <= DENSE_MAX:  # exact: a long chain of neighbours (a ring, a stroke) mixes too slowly to iterate
        q = torch.linalg.eigh(a.to_dense().double())[1][:, -dims:].float()
    else:
        q = torch.randn(n, dims, generator=torch.Generator().manual_seed(int(seed)))
        for _ in range(steps):
            q, _ = torch.linalg.qr(0.5 * (q + a @ q))
    return torch.nn.functional.normalize(q, dim=1)


def spectral(x: torch.Tensor, k: int, seed: int = 0, max_graph: int = MAX_GRAPH) -> torch.Tensor:
    """The cluster (N,) of each row of ``x`` (N, D): k-means into ``k`` of the spectral embedding
    of the rows' neighbour graph in their principal components. Over ``max_graph`` rows, the graph
    holds a seeded sample of that many and every other row takes its nearest sampled row's cluster."""
    z, dims = principal(x), min(k, EMBED_DIMS)  # k eigenvectors (Ng et al.), at most EMBED_DIMS
    if len(z) <= max_graph:
        return kmeans(embed(z, seed, dims=dims), k, seed)[0]
    sample = torch.randperm(len(z), generator=torch.Generator().manual_seed(int(seed)))[:max_graph]
    labels = torch.empty(len(z), dtype=torch.long)
    labels[sample] = kmeans(embed(z[sample], seed, dims=dims), k, seed)[0]
    rest = torch.ones(len(z), dtype=torch.bool)
    rest[sample] = False
    labels[rest] = labels[sample][nearest(z[rest], z[sample], 1)[:, 0]]
    return labels
