"""A conditional run saved before runs recorded their classes' shares, evaluated both ways: its
classes drawn in turn (as it was saved) and in the training labels' shares (as runs are now asked),
the generator untouched. ``dcgan eval``'s protocol otherwise (10,000 images, the shipped classifier,
the test split).

    PYTHONPATH=src python benchmarks/eval_in_shares.py runs/cond10-lr8-s0 runs/cond10-lr8-s1
"""
from __future__ import annotations

import sys

import torch

from dcgan import data as datasets
from dcgan.generation.loading import load_generator
from dcgan.generation.sampling import generate
from dcgan.metrics import evaluate
from dcgan.models.lean import label_shares

KEYS = ("fid", "kid", "precision", "recall", "density", "coverage", "kl_uniform")


def main(runs: list[str], data: str = "mnist") -> None:
    labels = datasets.load(data, "train").labels
    for run in runs:
        G, meta = load_generator(run, "cpu")
        shares = label_shares(labels, int(meta["arch"]["classes"]))
        for mode, prior in (("in turn", None), ("in shares", shares)):
            G.class_prior = prior
            images = torch.cat(list(generate(G, 10_000, 0)))
            m = evaluate(images, data=data, n=10_000)["metrics"]
            print(f"{run} {mode:<9} " + "  ".join(f"{k} {m[k]:.4f}" for k in KEYS), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
