"""Where a Stacked MNIST run's KL(generated || uniform) sits: in each channel's digit shares, or in
how the three channels combine.

``dcgan eval RUN --data stacked-mnist --json --out F.json`` writes the histogram of its samples
over the 1,000 digit triples (label ``100 * d_R + 10 * d_G + d_B``). The KL of that histogram
against uniform splits exactly (``metrics.registry.kl_split``; newer evals print both parts as
``kl_marginals`` and ``kl_combination``; this script also reads older ones) into

* the marginals: the sum over the three channels of KL(the channel's digit shares || uniform over
  10), which a generator lowers by drawing each digit equally often in each channel;
* the combination: the rest, the KL of the triples against the product of their own marginals (the
  channels' total correlation), which a generator lowers by drawing the channels independently.

    python benchmarks/stacked_kl_split.py runs/stk60-s0-eval.json [more.json ...]

Each file prints one JSON line: the KL, its two parts, and each channel's digit shares in per cent.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np

CHANNELS = ("red", "green", "blue")


def split(histogram: np.ndarray) -> dict:
    """The KL of a 1,000-bin triple histogram against uniform, and its marginal/combination parts."""
    from dcgan.metrics.registry import kl_split, position_shares  # dcgan eval's own split

    p = np.asarray(histogram, dtype=np.float64)
    p = p / p.sum()
    marginals, combination = kl_split(p, 3)
    shares = position_shares(p, 3)
    return {"kl": round(marginals + combination, 4), "marginals": round(marginals, 4),
            "combination": round(combination, 4),
            "shares_pct": {name: [round(100 * float(v), 1) for v in s] for name, s in zip(CHANNELS, shares)}}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("evals", nargs="+", help="JSON files written by dcgan eval --json --out")
    args = ap.parse_args(argv)
    for path in args.evals:
        try:
            with open(path) as f:
                hist = json.load(f)["metrics"]["histogram"]
        except (OSError, ValueError, KeyError, TypeError) as e:
            print(f"stacked_kl_split: {path}: not a dcgan eval JSON with a histogram ({e})", file=sys.stderr)
            return 2
        if len(hist) != 1000:
            print(f"stacked_kl_split: {path}: {len(hist)} modes, not Stacked MNIST's 1,000", file=sys.stderr)
            return 2
        print(json.dumps({"eval": path, **split(np.array(hist))}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
