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
import textwrap

from .version import __version__
from .errors import DcganError


class HelpFormatter(argparse.HelpFormatter):
    """Wraps descriptions as argparse does, but keeps a titled list (an epilog whose first line ends
    with a colon: ``examples:``, ``presets (--model):``) line by line."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        if text.partition("\n")[0].endswith(":"):
            return "\n".join(indent + line for line in text.splitlines())
        # argparse's own wrapping, written out (the layout test keeps argparse's privates private)
        return textwrap.fill(" ".join(text.split()), width, initial_indent=indent, subsequent_indent=indent)


class Parser(argparse.ArgumentParser):
    """argparse with dcgan's errors: the subcommand's short usage, then one line that names the
    subcommand and where its help is."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)

    def short_usage(self) -> str:
        """``usage: dcgan VERB POSITIONALS --required X [options]``: one line, whatever the verb's
        number of flags (the full list is one ``--help`` away)."""
        parts = [self.prog]
        optional = False
        for action in self._actions:
            if action.option_strings:
                if action.required:
                    parts.append(f"{action.option_strings[0]} {action.metavar or action.dest.upper()}")
                elif action.help is not argparse.SUPPRESS:
                    optional = True
            elif action.help is not argparse.SUPPRESS:
                metavar = action.metavar or action.dest
                parts.append(f"{metavar} ..." if action.nargs in ("+", "*", argparse.REMAINDER,
                                                                   argparse.PARSER) else str(metavar))
        return "usage: " + " ".join(parts + (["[options]"] if optional else []))

    def error(self, message: str):
        self.exit(2, f"{self.short_usage()}\nerror: {self.prog}: {message}; `{self.prog} --help` lists "
                     "its options\n")


EXAMPLES = ("dcgan train --model lean --data mnist", "dcgan sample runs/0001-lean-mnist --n 64 --out grid.png",
            "dcgan eval runs/0001-lean-mnist --n 10000")


def build_parser() -> argparse.ArgumentParser:
    from . import commands
    from .commands.options import examples

    parser = Parser(prog="dcgan", description="Train, sample, explore and evaluate "
                                     "deep convolutional GANs.", epilog=examples(*EXAMPLES))
    parser.add_argument("--version", action="version", version=f"dcgan {__version__}",
                        help="print dcgan's version and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True,
                                help="what to do (`dcgan COMMAND --help` for its options and examples)")
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
