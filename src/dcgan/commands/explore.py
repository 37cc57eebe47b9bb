"""``dcgan explore``: a local page with sliders over the generator's noise space."""

from __future__ import annotations

import argparse
import threading

from .options import add_device, add_target, check_out, examples, output_path

ORDER = 33


def add(sub) -> None:
    p = sub.add_parser("explore", help="a local page with sliders over the generator's noise space",
                       epilog=examples("dcgan explore runs/0001-lean-mnist --open",
                                       "dcgan explore generator.onnx --port 0",
                                       "dcgan explore runs/0001-lean-mnist --screenshot page.png"))
    add_target(p)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: "
                   "this machine only)")
    p.add_argument("--port", type=int, default=8765, help="default 8765; 0 picks a free port")
    add_device(p, "auto")
    p.add_argument("--open", action="store_true", help="open it in the default browser")
    p.add_argument("--screenshot", metavar="PNG", type=output_path,
                   help="take a picture of the page with chromium "
                   "and exit instead of serving")
    p.set_defaults(func=run_explore)


def run_explore(args: argparse.Namespace) -> int:
    from ..generation.explorer import Explorer, make_server, serve

    check_out("--screenshot", args.screenshot, (".png",))
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
