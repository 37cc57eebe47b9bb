"""How long ``--clusters K`` takes to cluster a data set, and how well its clusters match the
labels the run never reads (the share of images in their cluster's most common class), for the
shipped spectral clustering and for plain k-means on the pixels (the first version's).

    python benchmarks/cluster_purity.py --data mnist --k 10 50 100 --method spectral kmeans
"""

from __future__ import annotations

import argparse
import json
import time

import torch


def main() -> int:
    from dcgan.data import load
    from dcgan.training.clusters import features, kmeans, spectral

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="mnist")
    p.add_argument("--k", type=int, nargs="+", default=[10, 50])
    p.add_argument("--method", nargs="+", choices=["spectral", "kmeans"], default=["spectral", "kmeans"])
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    train = load(args.data, "train")
    x = features(train.images)
    for method in args.method:
        for k in args.k:
            t0 = time.perf_counter()
            labels = spectral(x, k, args.seed) if method == "spectral" else kmeans(x, k, args.seed)[0]
            secs = time.perf_counter() - t0
            row = {"data": args.data, "method": method, "k": k, "images": len(x), "seconds": round(secs, 1),
                   "sizes_min_max": [int(c) for c in torch.bincount(labels, minlength=k).aminmax()]}
            if train.labels is not None:
                row["purity"] = round(sum(int(torch.bincount(train.labels[labels == j]).max())
                                          for j in range(k) if (labels == j).any()) / len(labels), 4)
            print(json.dumps(row), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
