"""Flags that several verbs share, each declared once here (and its choices taken from the registry
that defines them, so a help text never lists a stale name)."""

from __future__ import annotations

import argparse

S = argparse.SUPPRESS


def examples(*lines: str) -> str:
    """The epilog of a verb's --help: a few commands to copy (cli.HelpFormatter keeps the lines)."""
    return "examples:\n" + "\n".join(f"  {line}" for line in lines)


def check_out(flag: str, out: str | None, suffixes: tuple[str, ...], folder: bool = False) -> None:
    """Refuse an output file whose suffix no format of this verb writes, before any work, naming
    the suffixes that exist (``folder``: a trailing slash or a suffix-less name is a folder)."""
    from pathlib import Path

    from ..errors import DcganError

    if out is None or Path(out).suffix.lower() in suffixes:
        return
    if folder and (out.endswith(("/", "\\")) or not Path(out).suffix or Path(out).is_dir()):
        return
    kinds = ", ".join(suffixes) + (" or a folder/" if folder else "")
    raise DcganError(f"{flag} {out}: no format is written as {Path(out).suffix or 'that'}; use {kinds}")


def output_path(text: str) -> str:
    """``type=`` of every flag naming something dcgan writes: never inside a run's checkpoint folder
    (checkpoint.refuse_checkpoint_output), checked before any work starts."""
    from ..checkpoint import refuse_checkpoint_output
    from ..errors import DcganError

    try:
        refuse_checkpoint_output(text, flag="")
    except DcganError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def arch_option(text: str) -> tuple[str, int]:
    """``--arch NAME=INT`` (train, bench, summary): one architecture option of the preset."""
    key, _, value = text.partition("=")
    try:
        return key, int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected NAME=INT, e.g. ngf=64, got {text!r}") from None


def add_arch(p: argparse.ArgumentParser, **kw) -> None:
    p.add_argument("--arch", action="append", type=arch_option, dest="arch_options", metavar="NAME=INT",
                   help="architecture option of the preset, e.g. --arch ngf=64 (repeatable)", **kw)


def add_target(p: argparse.ArgumentParser, what: str = "RUN_DIR|CHECKPOINT") -> None:
    p.add_argument("target", metavar=what, help="run folder, checkpoint folder, generator .safetensors "
                   "or any file of `dcgan export`")


def add_device(p: argparse.ArgumentParser, default: str | None = "auto") -> None:
    kw = {} if default is None else {"default": default}
    p.add_argument("--device", help=f"auto | cpu | cuda | cuda:N | mps (default {default or 'auto'})", **kw)


def add_data_dir(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data-dir", type=output_path,
                   help="data cache folder (default $DCGAN_DATA or the user cache)")


def add_class(p: argparse.ArgumentParser, several: bool = False) -> None:
    """--class of a generator trained with --cond: a label, a class name (or, where ``several``,
    'all' or a comma-separated list)."""
    more = ", 'all' (one grid row per class) or a comma-separated list" if several else ""
    p.add_argument("--class", dest="classes", metavar="CLASS",
                   help=f"the class of a run trained with --cond: a label (7) or a class name{more}")


def add_generator_choice(p: argparse.ArgumentParser) -> None:
    """Which generator of a run and which BatchNorm statistics it samples with (sample, eval)."""
    from ..generation.batchnorm import BN_MODES

    p.add_argument("--no-ema", dest="ema", action="store_const", const=False, default=None,
                   help="use the raw generator of a run trained with --ema")
    p.add_argument("--bn", choices=BN_MODES,
                   help="BatchNorm statistics: precise (re-estimated for these weights) or running (the "
                        "stored moving averages, the tutorial's training=False); default: the run's --sample-bn")


def add_recipe_speed(p: argparse.ArgumentParser) -> None:
    """The settings that choose kernels, not math (train, bench); defaults live in training/config.py."""
    from ..training.config import ADAM_IMPLS, CUDA_GRAPHS, PRECISIONS

    p.add_argument("--precision", choices=PRECISIONS, help="fp32 | bf16 | fp16 | auto (bf16 on a CPU "
                   "with bf16 instructions, else fp32); default: the preset's (lean, lean64: auto; "
                   "the tutorials: fp32)")
    p.add_argument("--compile", action="store_true", help="torch.compile G and D")
    p.add_argument("--adam", choices=ADAM_IMPLS, help="Adam's kernel, same math (default auto: fused "
                   "on CUDA, foreach on the CPU)")
    p.add_argument("--channels-last", action=argparse.BooleanOptionalAction, help="NHWC memory format "
                   "(same math; default: on, on CUDA and on the CPU)")
    p.add_argument("--cuda-graphs", choices=CUDA_GRAPHS, help="replay each training step as one CUDA "
                   "graph (same math; default auto: on CUDA wherever the recipe allows)")
