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


def kl_uniform(labels: np.ndarray) -> float:
    """KL(p || uniform) of the mode labels' histogram, as ``dcgan eval``'s classes metric computes it."""
    from dcgan.metrics.registry import kl_to_uniform

    return kl_to_uniform(np.bincount(labels, minlength=1000) / len(labels))


def main() -> int:
    from dcgan.data import load

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=26_000, help="samples per histogram (the eval's --n)")
    ap.add_argument("--repeats", type=int, default=200)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    labels = load("stacked-mnist", "train").labels.numpy()
    train = np.bincount(labels, minlength=1000) / len(labels)
    rng = np.random.default_rng(args.seed)
    rows = [("the training split itself", len(labels), [kl_uniform(labels)])]
    for name, p in (("uniform draws", None), ("draws from the training split's frequencies", train)):
        rows.append((name, args.n, [kl_uniform(rng.choice(1000, args.n, p=p)) for _ in range(args.repeats)]))
    for name, n, v in rows:
        print(json.dumps({"generator": name, "n": n, "kl_median": round(float(np.median(v)), 4),
                          "kl_5_95": [round(float(q), 4) for q in np.percentile(v, [5, 95])]}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
