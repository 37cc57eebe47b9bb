"""Real data's own overall and intra-FID at ``dcgan eval``'s sizes: 10,000 training images against
the 10,000 test images, in the shipped classifier's features, with the images' classes drawn the two
ways a conditional G can be asked for them:

* ``shares``: image i of the class ``models.lean.prior_labels`` gives it from the training labels'
  shares (what a labelled ``--cond`` run records and ``dcgan eval`` asks of it);
* ``balanced``: image i of class i mod K (what runs saved before the shares were recorded are asked).

Each row takes, per draw, a seeded permutation of the training images and gives image i the next
unused image of its class. The yardstick for issue 16's intra-FID and "no worse than
unconditional" targets: what a generator that copied its training data would score.

    PYTHONPATH=src python benchmarks/intra_fid_baseline.py mnist --draws 3
    PYTHONPATH=src python benchmarks/intra_fid_baseline.py fashion-mnist
"""
from __future__ import annotations

import argparse

import numpy as np
import torch

from dcgan import data as datasets
from dcgan.metrics import extract, features, perclass
from dcgan.metrics.registry import frechet_distance, gaussian_stats
from dcgan.models.lean import label_shares

N = 10_000  # dcgan eval's --n of BENCHMARKS.md


def pick(labels: np.ndarray, asked: np.ndarray, seed: int) -> np.ndarray:
    """Indices of training images, image i of class ``asked[i]``, each image at most once."""
    order = np.random.default_rng(seed).permutation(len(labels))
    pools = {c: list(order[labels[order] == c]) for c in np.unique(asked)}
    return np.array([pools[c].pop() for c in asked])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("data", nargs="?", default="mnist")
    ap.add_argument("--draws", type=int, default=3, help="seeded draws of the training images per row")
    args = ap.parse_args()
    train, test = datasets.load(args.data, "train"), datasets.load(args.data, "test")
    ext = features.extractor(args.data)
    labels = train.labels.numpy()
    k = len(train.classes) or 10
    names = [str(c) for c in range(k)]
    shares = label_shares(train.labels, k)
    feats = extract(ext, train.images)[0]
    real = extract(ext, test.images)[0]
    stats = gaussian_stats(real)
    for mode, prior in (("shares", shares), ("balanced", None)):
        asked = perclass.requested(N, k, prior)
        for seed in range(args.draws):
            fake = feats[pick(labels, asked, seed)]
            m = perclass.measure(names, real, test.labels.numpy(), fake, None, k, prior)
            print(f"{args.data} {mode:<8} draw {seed}: overall FID "
                  f"{frechet_distance(*stats, *gaussian_stats(fake)):.3f}; intra-FID mean "
                  f"{m['intra_fid']:.3f}, worst {m['intra_fid_max']:.3f}; per class "
                  + ", ".join(f"{r['fid']:.2f}" for r in m["per_class"]), flush=True)


if __name__ == "__main__":
    torch.set_grad_enabled(False)
    main()
