"""The ``dcgan`` command line: one subcommand per action, each in ``dcgan/commands/``.

Every module in ``dcgan.commands`` that defines ``add(subparsers)`` contributes its subcommands;
``add`` sets ``func`` on its parser. A DcganError becomes one line on stderr and exit code 2;
Ctrl-C during training exits with 130 after the checkpoint is saved.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys

from .version import __version__
from .errors import DcganError


class Parser(argparse.ArgumentParser):
    """argparse with dcgan's errors: one line that names the subcommand and where its help is."""

    def error(self, message: str):
        self.exit(2, f"error: {self.prog}: {message}; `{self.prog} --help` lists its options\n")


def build_parser() -> argparse.ArgumentParser:
    from . import commands

    parser = Parser(prog="dcgan", description="Train, sample, explore and evaluate "
                                     "deep convolutional GANs.")
    parser.add_argument("--version", action="version", version=f"dcgan {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    modules = [importlib.import_module(f"{commands.__name__}.{m.name}")
               for m in pkgutil.iter_modules(commands.__path__)]
    for module in sorted(modules, key=lambda m: (getattr(m, "ORDER", 50), m.__name__)):
        if hasattr(module, "add"):
            module.add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a flag error already printed
        return int(exc.code or 0)
    try:
        return args.func(args) or 0
    except DcganError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        where = f" ({exc})" if str(exc) else ""
        print(f"dcgan: interrupted{where}; the last checkpoint is saved", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
