"""``dcgan report``: RUN/report.html (curves, grids, warnings, config), and a picture of it."""

from __future__ import annotations

import argparse

from .options import output_path

ORDER = 30


def add(sub) -> None:
    p = sub.add_parser("report", help="write RUN/report.html: curves, grids, warnings, config")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--out", type=output_path, help="where to write it (default RUN_DIR/report.html)")
    p.add_argument("--screenshot", metavar="PNG", type=output_path,
                   help="also a picture of the page (needs chromium)")
    p.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    from ..report import build

    path = build(args.run, args.out)
    print(f"wrote {path}")
    if args.screenshot:
        from ..screenshot import screenshot

        print(f"wrote {screenshot(path.resolve().as_uri(), args.screenshot, height=1800)}")
    return 0
