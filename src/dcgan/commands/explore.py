"""Looking at a run and using its generator: ``report``, ``interpolate``, ``arithmetic``,
``export`` and ``explore``."""

from __future__ import annotations

import argparse
import threading

ORDER = 30


def add(sub) -> None:
    p = sub.add_parser("report", help="write RUN/report.html: curves, grids, warnings, config")
    p.add_argument("run", metavar="RUN_DIR")
    p.add_argument("--out", help="where to write it (default RUN_DIR/report.html)")
    p.add_argument("--screenshot", metavar="PNG", help="also a picture of the page (needs chromium)")
    p.set_defaults(func=run_report)

    p = sub.add_parser("interpolate", help="a walk through the noise of a few seeds: GIF or PNG strip")
    p.add_argument("target", metavar="RUN_DIR|CHECKPOINT")
    p.add_argument("--seeds", default="0,1,2", help="comma-separated seeds, at least two (default 0,1,2)")
    p.add_argument("--steps", type=int, default=16, help="frames from one seed to the next (default 16)")
    p.add_argument("--method", default="slerp", choices=("slerp", "lerp"))
    p.add_argument("--out", default="walk.gif", help="walk.gif (animation) or walk.png (strip)")
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=run_interpolate)

    p = sub.add_parser("arithmetic", help="mean(a) - mean(b) + mean(c) in noise space, as a picture")
    p.add_argument("target", metavar="RUN_DIR|CHECKPOINT")
    p.add_argument("--a", required=True, metavar="SEEDS", help="comma-separated seeds")
    p.add_argument("--b", required=True, metavar="SEEDS")
    p.add_argument("--c", required=True, metavar="SEEDS")
    p.add_argument("--out", default="arithmetic.png")
    p.add_argument("--device", default="cpu")
    p.set_defaults(func=run_arithmetic)

    p = sub.add_parser("export", help="the generator alone, with its metadata: safetensors, "
                       "torchscript or onnx")
    p.add_argument("target", metavar="RUN_DIR|CHECKPOINT")
    p.add_argument("--format", dest="fmt", choices=("safetensors", "torchscript", "onnx"),
                   help="default: from --out's suffix (.safetensors, .pt, .onnx)")
    p.add_argument("--out", required=True, metavar="FILE")
    p.set_defaults(func=run_export)

    p = sub.add_parser("explore", help="a local page with sliders over the generator's noise space")
    p.add_argument("target", metavar="RUN_DIR|CHECKPOINT")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: "
                   "this machine only)")
    p.add_argument("--port", type=int, default=8765, help="default 8765; 0 picks a free port")
    p.add_argument("--device", default="cpu")
    p.add_argument("--open", action="store_true", help="open it in the default browser")
    p.add_argument("--screenshot", metavar="PNG", help="take a picture of the page with chromium "
                   "and exit instead of serving")
    p.set_defaults(func=run_explore)


def run_report(args: argparse.Namespace) -> int:
    from ..report import build

    path = build(args.run, args.out)
    print(f"wrote {path}")
    if args.screenshot:
        from ..screenshot import screenshot

        print(f"wrote {screenshot(path.resolve().as_uri(), args.screenshot, height=1800)}")
    return 0


def run_interpolate(args: argparse.Namespace) -> int:
    from ..latent import interpolate, parse_seeds

    out = interpolate(args.target, parse_seeds(args.seeds, "--seeds", 2), args.steps, args.method,
                      args.out, args.device)
    print(f"wrote {out}")
    return 0


def run_arithmetic(args: argparse.Namespace) -> int:
    from ..latent import arithmetic, parse_seeds

    out = arithmetic(args.target, parse_seeds(args.a, "--a"), parse_seeds(args.b, "--b"),
                     parse_seeds(args.c, "--c"), args.out, args.device)
    print(f"wrote {out}")
    return 0


def run_export(args: argparse.Namespace) -> int:
    from ..export import export

    out = export(args.target, args.fmt, args.out)
    print(f"wrote {out}")
    return 0


def run_explore(args: argparse.Namespace) -> int:
    from ..explorer import Explorer, make_server, serve

    if not args.screenshot:
        serve(args.target, args.host, args.port, args.device, args.open)
        return 0
    from ..screenshot import screenshot

    server = make_server(Explorer(args.target, args.device), "127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/"
        print(f"wrote {screenshot(url, args.screenshot, width=900, height=640)}")
    finally:
        server.shutdown()
        server.server_close()
    return 0
