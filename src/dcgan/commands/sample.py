"""``dcgan sample`` and ``dcgan discriminate``: use a trained run without any architecture flags."""

from __future__ import annotations

import argparse
import json

from .options import add_class, add_device, add_generator_choice, add_target, check_out, examples, output_path

ORDER = 20


def add(sub) -> None:
    p = sub.add_parser("sample", help="generate images from a run or checkpoint",
                       epilog=examples("dcgan sample runs/0001-lean-mnist --n 64 --out grid.png",
                                       "dcgan sample runs/0001-lean-mnist --n 10000 --out samples.npz",
                                       "dcgan sample generator.onnx --n 16 --seed 3 --out pngs/",
                                       "dcgan sample runs/0002-lean-mnist --class 7 --n 16 --out sevens.png",
                                       "dcgan sample runs/0002-lean-mnist --class all --n 8 --out classes.png"))
    add_target(p)
    p.add_argument("--n", type=int, default=64, help="number of images, of each class under --class "
                   "(default 64)")
    p.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
    p.add_argument("--out", default="samples.png", type=output_path,
                   help="grid.png | images.npz | folder/ (default "
                   "samples.png)")
    add_device(p, "auto")
    p.add_argument("--batch-size", type=int, default=500, help="images per forward pass (default 500; "
                   "the same images whatever it is)")
    add_generator_choice(p)
    add_class(p, several=True)
    p.set_defaults(func=run_sample)

    p = sub.add_parser("discriminate", help="the discriminator's decision on image files",
                       epilog=examples("dcgan discriminate runs/0001-lean-mnist digit.png",
                                       "dcgan discriminate runs/0001-lean-mnist pngs/*.png --json"))
    p.add_argument("target", metavar="RUN_DIR|CHECKPOINT", help="a run folder or checkpoint folder "
                   "(D is not exported)")
    p.add_argument("images", nargs="+", metavar="IMAGE", help="image files (PNG, JPEG, WebP) of D's input size "
                   "(e.g. from dcgan sample --out folder/)")
    add_device(p, "auto")
    add_class(p)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.set_defaults(func=run_discriminate)


def run_sample(args: argparse.Namespace) -> int:
    from ..generation.sampling import sample

    check_out("--out", args.out, (".png", ".npz"), folder=True)
    out = sample(args.target, n=args.n, seed=args.seed, out=args.out, device=args.device,
                 batch_size=args.batch_size, bn=args.bn, ema=args.ema, classes=args.classes)
    print(f"wrote {args.n if args.classes is None else f'{args.n} images of each class'} to {out}")
    return 0


def run_discriminate(args: argparse.Namespace) -> int:
    from ..generation.sampling import discriminate

    rows = discriminate(args.target, args.images, device=args.device, classes=args.classes)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    width = max(len(r["image"]) for r in rows)
    extra = [k for k in ("class", "read_as", "p_class") if k in rows[0]]  # a conditional D's
    print(f"{'image':<{width}}  {'logit':>9}  {'P(real)':>8}  decision" + "".join(f"  {k:>8}" for k in extra))
    for r in rows:
        p = r["p_real"]
        decision = ("real" if r["logit"] > 0 else "fake") if p is not None else "score only"
        cells = "".join(f"  {r[k]:8.4f}" if k == "p_class" else f"  {r[k]:>8}" for k in extra)
        print(f"{r['image']:<{width}}  {r['logit']:>9.4f}  {'-' if p is None else f'{p:8.4f}':>8}  {decision:<8}{cells}")
    return 0
