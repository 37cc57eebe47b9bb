"""The ``dcgan`` command line: one subcommand per action, each in ``dcgan/commands/``.

Every module in ``dcgan.commands`` that defines ``add(subparsers)`` contributes its subcommands;
``add`` sets ``func`` on its parser. A DcganError becomes one line on stderr and exit code 2;
Ctrl-C during training exits with 130 after the checkpoint is saved.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import signal
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
    old_term = _term_as_interrupt()
    try:
        return args.func(args) or 0
    except DcganError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as exc:
        where = f" ({exc})" if str(exc) else ""
        saved = ("the last checkpoint is saved" if args.command == "train"
                 else "nothing half-written is left behind")
        print(f"dcgan: interrupted{where}; {saved}", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    finally:
        if old_term is not None:
            signal.signal(signal.SIGTERM, old_term)


def _term_as_interrupt():
    """SIGTERM raises KeyboardInterrupt, as Ctrl-C does, so every write in progress removes its
    temporary file (fsutil.atomic_open, the fetch work folders) instead of dying around it.
    Training installs its own handler meanwhile (finish the step, save). Returns the old handler."""
    def handler(signum, _frame):
        raise KeyboardInterrupt(signal.Signals(signum).name)

    try:
        return signal.signal(signal.SIGTERM, handler)
    except ValueError:  # not the main thread: leave signals alone
        return None
