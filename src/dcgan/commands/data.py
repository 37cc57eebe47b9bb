"""``dcgan data list|fetch|show``: the data sets, verified and cached."""

from __future__ import annotations

import argparse

from .options import add_data_dir, check_out, examples, output_path

ORDER = 30


def add(sub) -> None:
    from ..data import DATASETS
    from ..data.holdout import HELD_OUT

    p = sub.add_parser("data", help="list, fetch and preview data sets",
                       epilog=examples("dcgan data list", "dcgan data fetch mnist",
                                       "dcgan data show cifar10 --n 64 --out cifar.png"))
    dsub = p.add_subparsers(dest="data_command", metavar="ACTION", required=True,
                            help="list, fetch or show")
    q = dsub.add_parser("list", help="the built-in data sets",
                        epilog=examples("dcgan data list", "dcgan data list | grep mnist"))
    q.set_defaults(func=run_list)
    q = dsub.add_parser("fetch", help="download, verify and cache a data set",
                        epilog=examples("dcgan data fetch mnist", "dcgan data fetch cifar10 --data-dir /data/dcgan",
                                        "dcgan data fetch fashion-mnist --force --verbose"))
    q.add_argument("name", metavar="NAME", help=f"data set: {', '.join(DATASETS)} (options such as "
                   "emoji:black are allowed)")
    add_data_dir(q)
    q.add_argument("--force", action="store_true", help="fetch again even if cached")
    q.add_argument("--verbose", action="store_true", help="also say each source that was tried and failed")
    q.set_defaults(func=run_fetch)
    q = dsub.add_parser("show", help="a grid of the first training images",
                        epilog=examples("dcgan data show mnist", "dcgan data show emoji:black --n 16 --out emoji.png",
                                        "dcgan data show photos/bonsai --resolution 64 --out bonsai.png"))
    q.add_argument("name", help="data set name (`dcgan data list`) or image folder")
    q.add_argument("--n", type=int, default=25, help="images in the grid (default 25, a 5x5 grid)")
    q.add_argument("--out", default="preview.png", type=output_path,
                   help="the grid's .png (default preview.png)")
    add_data_dir(q)
    q.add_argument("--split", default="train", choices=("train", "test", HELD_OUT), help="which split (default "
                   f"train; {HELD_OUT}: the tenth of emoji or a folder never trained on, see dcgan eval --help)")
    q.add_argument("--resolution", type=int, default=64, help="side of images from a folder (default 64)")
    q.set_defaults(func=run_show)


def run_list(args: argparse.Namespace) -> int:
    from ..data import DATASETS

    for spec in DATASETS.values():
        print(f"{spec.name:<14} {spec.resolution}x{spec.resolution}x{spec.channels}  {spec.summary}")
    print(f"{'PATH':<14} any          a folder of JPEG/PNG/WebP images (class subfolders optional)")
    return 0


def run_fetch(args: argparse.Namespace) -> int:
    if args.verbose:
        import os

        os.environ["DCGAN_VERBOSE"] = "1"
    from ..data import fetch, load

    folder = fetch(args.name, args.data_dir, force=args.force)
    sizes = {s: len(load(args.name, s, args.data_dir)) for s in ("train", "test")
             if (folder / f"{s}.safetensors").exists()}
    print(f"{args.name}: " + ", ".join(f"{n} {s}" for s, n in sizes.items()) + f" images in {folder}")
    return 0


def run_show(args: argparse.Namespace) -> int:
    import math

    from ..data import load_any
    from ..errors import DcganError
    from ..images import make_grid, save_png

    if args.n < 1:
        raise DcganError("--n must be at least 1")
    check_out("--out", args.out, (".png",))
    data = load_any(args.name, args.split, args.data_dir, args.resolution)
    images = data.images[: args.n]
    save_png(make_grid(images, nrow=math.ceil(math.sqrt(len(images)))), args.out, scale=2)
    print(f"wrote a grid of {len(images)} {args.name} images to {args.out}")
    return 0
