"""Sanity numbers for the metrics: real train images and uniform noise against the reference split
(MNIST's test split; emoji's held-out tenth, in Inception-v3 features).

    PYTHONPATH=src python benchmarks/eval_sanity.py --n 10000 [--data mnist|emoji]

Prints one JSON line per case (the same dict `dcgan eval` prints), with the wall time.
"""

from __future__ import annotations

import argparse
import json

import torch

from dcgan import data as datasets
from dcgan.metrics import evaluate


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="mnist")
    p.add_argument("--n", type=int, default=10000)
    args = p.parse_args()
    train = datasets.load(args.data, "train")
    spec = datasets.get_spec(args.data)
    if "test" not in spec.splits:  # emoji: stored by category; a content-hash shuffle is a fair sample
        from dcgan.data.holdout import by_hash

        train = by_hash(train)
    noise = torch.randint(0, 256, (args.n, spec.channels, spec.resolution, spec.resolution),
                          dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    cases = {"real train split": train.images[:args.n], "uniform noise": noise}
    if train.labels is not None and args.data != "stacked-mnist":
        cases["one class (label 1) of the train split"] = train.images[train.labels == 1][:args.n]
    for name, images in cases.items():
        r = evaluate(images, data=args.data, n=args.n)
        print(json.dumps({"case": name, **r}), flush=True)


if __name__ == "__main__":
    main()
