"""``dcgan models`` and ``dcgan summary``: the presets and their Keras-style layer tables."""

from __future__ import annotations

import argparse

from .options import add_arch, examples

ORDER = 40


def add(sub) -> None:
    from ..models import PRESETS

    p = sub.add_parser("models", help="list the presets",
                       epilog=examples("dcgan models", "dcgan models | grep 64x64",
                                       "dcgan summary --model lean"))
    p.set_defaults(func=run_models)
    p = sub.add_parser("summary", help="layer table of a preset's generator and discriminator",
                       epilog=examples("dcgan summary --model tf-tutorial",
                                       "dcgan summary --model dcgan64 --arch ngf=64 --arch ndf=64",
                                       "dcgan summary --model lean --resolution 32 --channels 3"))
    names = f"preset ({', '.join(PRESETS)}; `dcgan models` lists them)"
    p.add_argument("--model", choices=list(PRESETS), metavar="PRESET", help=names + ", as in dcgan train")
    p.add_argument("preset", nargs="?", choices=[*PRESETS, None], metavar="PRESET",
                   help="the same, the older spelling: dcgan summary tf-tutorial")
    p.add_argument("--resolution", type=int, help="image size (default: the preset's)")
    p.add_argument("--channels", type=int, help="1 (grey) or 3 (RGB); default: the preset's")
    add_arch(p, default=[])
    p.set_defaults(func=run_summary)


def run_models(args: argparse.Namespace) -> int:
    from ..models import PRESETS, build_discriminator, build_generator, count_parameters

    print(f"{'preset':<18}{'size':<10}{'noise':>6}{'G params':>13}{'D params':>12}  data / source")
    for p in PRESETS.values():
        arch = p.arch()
        g, d = count_parameters(build_generator(arch)), count_parameters(build_discriminator(arch))
        print(f"{p.name:<18}{f'{p.resolution}x{p.resolution}x{p.channels}':<10}{p.noise_dim:>6}"
              f"{g['total']:>13,}{d['total']:>12,}  {p.data}; {p.summary}")
    return 0


def run_summary(args: argparse.Namespace) -> int:
    import torch

    from ..models import build_discriminator, build_generator, get_preset
    from ..models.summary import summarize

    from ..errors import DcganError

    if args.model and args.preset and args.model != args.preset:
        raise DcganError(f"two presets given ({args.preset} and --model {args.model}); give one")
    args.model = args.model or args.preset
    if args.model is None:
        raise DcganError("which preset? e.g. dcgan summary --model tf-tutorial (`dcgan models` lists them)")
    extra = dict(args.arch_options)
    arch = get_preset(args.model).arch(channels=args.channels, resolution=args.resolution, **extra)
    G, D = build_generator(arch), build_discriminator(arch)
    z = torch.zeros(2, arch["noise_dim"])
    x = torch.zeros(2, arch["channels"], arch["resolution"], arch["resolution"])
    print(summarize(G, z, f"{args.model} generator"))
    print()
    print(summarize(D, x, f"{args.model} discriminator"))
    return 0
