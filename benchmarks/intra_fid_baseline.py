"""Real data's own overall and intra-FID at ``dcgan eval``'s sizes: 10,000 training images (1,000
per class, image i of class i mod 10, as a conditional G is asked) against the 10,000 test images,
in the shipped classifier's features. The yardstick for issue 16's intra-FID target.

    PYTHONPATH=src python benchmarks/intra_fid_baseline.py mnist
    PYTHONPATH=src python benchmarks/intra_fid_baseline.py fashion-mnist
"""
from __future__ import annotations

import sys

import numpy as np
import torch

from dcgan import data as datasets
from dcgan.metrics import extract, features, perclass
from dcgan.metrics.registry import frechet_distance, gaussian_stats


def main(name: str = "mnist") -> None:
    train, test = datasets.load(name, "train"), datasets.load(name, "test")
    ext = features.extractor(name)
    labels = train.labels.numpy()
    k = len(train.classes) or 10
    per = min(int((labels == c).sum()) for c in range(k))
    per = min(per, 10_000 // k)
    idx = np.stack([np.flatnonzero(labels == c)[:per] for c in range(k)], 1).reshape(-1)  # i: class i mod k
    fake = extract(ext, train.images[torch.from_numpy(idx)])[0]
    real = extract(ext, test.images)[0]
    print(f"{name}: overall FID {frechet_distance(*gaussian_stats(real), *gaussian_stats(fake)):.3f} "
          f"({len(fake)} train vs {len(real)} test)")
    m = perclass.measure([str(c) for c in range(k)], real, test.labels.numpy(), fake, None, k)
    print(f"intra-FID mean {m['intra_fid']:.3f}, worst {m['intra_fid_max']:.3f}; per class "
          + ", ".join(f"{r['fid']:.2f}" for r in m["per_class"]))


if __name__ == "__main__":
    main(*sys.argv[1:2])
