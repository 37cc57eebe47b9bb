"""Ctrl-C and SIGTERM during training: finish the step, save, stop (``Trainer.request_stop``)."""

from __future__ import annotations

import signal
from collections.abc import Callable


def install(request_stop: Callable[[str], None]) -> dict:
    """Route SIGINT and SIGTERM to ``request_stop(name)``; returns the old handlers for ``restore``.
    Outside the main thread (where handlers cannot be set) nothing changes."""
    def handler(signum, _frame):
        request_stop(signal.Signals(signum).name)

    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            old[sig] = signal.signal(sig, handler)
        except ValueError:  # not the main thread
            pass
    return old


def restore(old: dict) -> None:
    for sig, h in old.items():
        signal.signal(sig, h)
