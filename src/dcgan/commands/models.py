"""``dcgan models`` and ``dcgan summary``: the presets and their Keras-style layer tables."""

from __future__ import annotations

import argparse

from .options import add_arch

ORDER = 40


def add(sub) -> None:
    p = sub.add_parser("models", help="list the presets")
    p.set_defaults(func=run_models)
    p = sub.add_parser("summary", help="layer table of a preset's generator and discriminator")
    p.add_argument("model")
    p.add_argument("--resolution", type=int)
    p.add_argument("--channels", type=int)
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

    extra = dict(args.arch_options)
    arch = get_preset(args.model).arch(channels=args.channels, resolution=args.resolution, **extra)
    G, D = build_generator(arch), build_discriminator(arch)
    z = torch.zeros(2, arch["noise_dim"])
    x = torch.zeros(2, arch["channels"], arch["resolution"], arch["resolution"])
    print(summarize(G, z, f"{args.model} generator"))
    print()
    print(summarize(D, x, f"{args.model} discriminator"))
    return 0
