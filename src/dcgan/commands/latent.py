"""``dcgan interpolate`` and ``dcgan arithmetic``: pictures of walks and sums in the noise space."""

from __future__ import annotations

import argparse

from .options import add_device, output_path

ORDER = 31


def add(sub) -> None:
    p = sub.add_parser("interpolate", help="a walk through the noise of a few seeds: GIF or PNG strip")
    p.add_argument("target", metavar="RUN_DIR|CHECKPOINT")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds, at least two (default 0,1,2)")
    p.add_argument("--steps", type=int, default=16, help="frames from one seed to the next (default 16)")
    p.add_argument("--method", default="slerp", choices=("slerp", "lerp"))
    p.add_argument("--out", default="walk.gif", type=output_path,
                   help="walk.gif (animation) or walk.png (strip)")
    add_device(p, "auto")
    p.set_defaults(func=run_interpolate)

    p = sub.add_parser("arithmetic", help="mean(a) - mean(b) + mean(c) in noise space, as a picture")
    p.add_argument("target", metavar="RUN_DIR|CHECKPOINT")
    p.add_argument("--a", required=True, metavar="SEEDS", help="comma-separated seeds")
    p.add_argument("--b", required=True, metavar="SEEDS")
    p.add_argument("--c", required=True, metavar="SEEDS")
    p.add_argument("--out", default="arithmetic.png", type=output_path)
    add_device(p, "auto")
    p.set_defaults(func=run_arithmetic)


def run_interpolate(args: argparse.Namespace) -> int:
    from ..generation.latent import interpolate, parse_seeds

    out = interpolate(args.target, parse_seeds(args.seeds, "--seeds", 2), args.steps, args.method,
                      args.out, args.device)
    print(f"wrote {out}")
    return 0


def run_arithmetic(args: argparse.Namespace) -> int:
    from ..generation.latent import arithmetic, parse_seeds

    out = arithmetic(args.target, parse_seeds(args.a, "--a"), parse_seeds(args.b, "--b"),
                     parse_seeds(args.c, "--c"), args.out, args.device)
    print(f"wrote {out}")
    return 0
