"""``dcgan interpolate`` and ``dcgan arithmetic``: pictures of walks and sums in the noise space."""

from __future__ import annotations

import argparse

from .options import add_class, add_device, add_target, check_out, examples, output_path

ORDER = 31


def add(sub) -> None:
    from ..generation.latent import METHODS

    p = sub.add_parser("interpolate", help="a walk through the noise of a few seeds: GIF or PNG strip",
                       epilog=examples("dcgan interpolate runs/0001-lean-mnist --seeds 0,1,2 --out walk.gif",
                                       "dcgan interpolate runs/0001-lean-mnist --seeds 0-7 --steps 8 --out strip.png",
                                       "dcgan interpolate generator.safetensors --method lerp",
                                       "dcgan interpolate runs/0002-lean-mnist --class 3 --to-class 8 --seeds 0-3 "
                                       "--steps 8 --out morph.png"))
    add_target(p)
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds or ranges (0-7,9), at least "
                   "two (default 0,1,2)")
    p.add_argument("--steps", type=int, default=16, help="frames from one seed to the next (default 16)")
    p.add_argument("--method", default="slerp", choices=METHODS, help="slerp (along the sphere where "
                   "Gaussian noise lives; default) or lerp (straight line)")
    p.add_argument("--out", default="walk.gif", type=output_path,
                   help="walk.gif (animation, default) or walk.png (strip)")
    add_device(p, "auto")
    add_class(p)
    p.add_argument("--to-class", metavar="CLASS", help="walk from --class to this class (a label or a "
                   "class name) at each seed's fixed noise instead of between seeds: one strip row per "
                   "seed, one seed is enough; not for TorchScript/ONNX exports, which take integer labels only")
    p.set_defaults(func=run_interpolate)

    p = sub.add_parser("arithmetic", help="mean(a) - mean(b) + mean(c) in noise space, as a picture",
                       epilog=examples("dcgan arithmetic runs/0001-lean-mnist --a 1,2,3 --b 4,5,6 --c 7,8,9",
                                       "dcgan arithmetic runs/0002-dcgan64-emoji --a 0-3 --b 10-13 --c 20-23 "
                                       "--out sum.png",
                                       "dcgan arithmetic runs/0003-lean-mnist --class 3 --to-class 8 --a 1,2 --b 3,4 "
                                       "--c 5,6"))
    add_target(p)
    p.add_argument("--a", required=True, metavar="SEEDS", help="seeds whose mean noise is added, e.g. 1,2,3 or 0-3")
    p.add_argument("--b", required=True, metavar="SEEDS", help="seeds whose mean noise is subtracted")
    p.add_argument("--c", required=True, metavar="SEEDS", help="seeds whose mean noise is added")
    p.add_argument("--out", default="arithmetic.png", type=output_path,
                   help="the picture's .png (default arithmetic.png)")
    add_device(p, "auto")
    add_class(p)
    p.add_argument("--to-class", metavar="CLASS", help="draw the result at this class (a label or a class "
                   "name) instead of --class: the style the sum holds, as another class")
    p.set_defaults(func=run_arithmetic)


def run_interpolate(args: argparse.Namespace) -> int:
    from ..generation.latent import interpolate, parse_seeds

    check_out("--out", args.out, (".gif", ".png"))
    seeds = parse_seeds(args.seeds, "--seeds", 1 if args.to_class is not None else 2)
    out = interpolate(args.target, seeds, args.steps, args.method, args.out, args.device,
                      classes=args.classes, to_class=args.to_class)
    print(f"wrote {out}")
    return 0


def run_arithmetic(args: argparse.Namespace) -> int:
    from ..generation.latent import arithmetic, parse_seeds

    check_out("--out", args.out, (".png",))
    out = arithmetic(args.target, parse_seeds(args.a, "--a"), parse_seeds(args.b, "--b"),
                     parse_seeds(args.c, "--c"), args.out, args.device, classes=args.classes,
                     to_class=args.to_class)
    print(f"wrote {out}")
    return 0
