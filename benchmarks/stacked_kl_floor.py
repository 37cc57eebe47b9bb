"""The KL(generated || uniform) that Stacked MNIST's mode count gives a *perfect* generator, from
the sample count alone: ``dcgan eval RUN --data stacked-mnist --n N`` histograms N samples over the
1,000 digit triples, and even exact draws leave the histogram uneven.

Two perfect generators are simulated, each over ``--repeats`` histograms of ``--n`` draws:

* uniform over the 1,000 triples (the ideal the metric is named after);
* the training split's own triple frequencies (what a generator that matches its data draws: the
  triples are random, so some are commoner than others, and MNIST's digits are not equally common).

    python benchmarks/stacked_kl_floor.py --n 26000 --repeats 200
"""

from __future__ import annotations

import argparse
import json

import numpy as np


def kl_uniform(counts: np.ndarray) -> float:
    """KL(p || uniform) of a histogram, as ``dcgan eval``'s classes metric computes it."""
    p = counts / counts.sum()
    nz = p > 0
    return float((p[nz] * np.log(p[nz] * len(p))).sum())


def main() -> int:
    from dcgan.data import load

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=26_000, help="samples per histogram (the eval's --n)")
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    labels = load("stacked-mnist", "train").labels.numpy()
    train = np.bincount(labels, minlength=1000).astype(np.float64)
    rng = np.random.default_rng(args.seed)
    rows = {"the training split itself (60,000 images)": [kl_uniform(train)]}
    for name, p in (("uniform draws", np.full(1000, 1e-3)), ("draws from the training split's frequencies", train / train.sum())):
        rows[name] = [kl_uniform(np.bincount(rng.choice(1000, args.n, p=p), minlength=1000)) for _ in range(args.repeats)]
    for name, v in rows.items():
        print(json.dumps({"generator": name, "n": args.n if len(v) > 1 else len(labels),
                          "kl_median": round(float(np.median(v)), 4),
                          "kl_5_95": [round(float(q), 4) for q in np.percentile(v, [5, 95])]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
