"""``dcgan explore``: a local page for walking a generator's noise space by hand.

A stdlib ``ThreadingHTTPServer`` (no web framework), bound to 127.0.0.1 unless told otherwise,
serving one self-contained page (inline CSS and JS, nothing fetched from elsewhere) and one image
endpoint:

    GET /                    the page
    GET /api/info            {"noise_dim", "resolution", "channels", "directions", "model", ...}
    GET /api/image?seed=S&seed2=T&t=0.5&d=0.0,1.5,...&class=K&to=L&m=0.5   -> PNG
        z = slerp(z(S), z(T), t) + sum_i d_i * direction_i   (t and seed2 optional; class K, a
        label, only for a generator trained with --cond, whose classes /api/info lists; to=L and
        m: the class input morphed from K to L by m at that same noise, (1 - m) K + m L, as
        ``dcgan interpolate --class K --to-class L`` walks it; m=1 draws class L itself)

The directions are the top singular vectors of G's first layer (``latent.directions``); a slider's
value is in units of the noise's standard deviation.

Hardened for a machine where a browser visits other sites meanwhile: a request whose ``Host``
header names anything but the address it serves is refused (403), so a page elsewhere cannot reach
it through DNS rebinding; a connection idle for ``IDLE_TIMEOUT_S`` is closed; at most
``MAX_WORKERS`` requests are served at once (more get 503 at once, instead of a thread each); a
client that hangs up early is no error.
"""

from __future__ import annotations

import html
import ipaddress
import json
import math
import socket
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import torch

from . import classes, latent
from ..errors import DcganError

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8765
N_DIRECTIONS = 4
SLIDER_RANGE = 3.0     # +-3 standard deviations along each direction
MAX_SEED = 2**31 - 1
DISPLAY_PX = 280       # the page shows the image at least this big
IDLE_TIMEOUT_S = 10.0  # a connection that sends nothing for this long is closed (slow clients)
MAX_WORKERS = 16       # requests served at once; a slider drag needs one or two
FORBIDDEN = (b"forbidden: dcgan explore answers only to the address it listens on; open it by "
             b"that address (or localhost)")


class Explorer:
    """The generator and its directions; thread-safe image rendering."""

    def __init__(self, target: str | Path, device: str = "cpu", n_directions: int = N_DIRECTIONS):
        from .loading import load_generator

        self.G, self.meta = load_generator(target, device)
        self.dirs = latent.directions(self.G, n_directions)
        self.lock = threading.Lock()  # one forward pass at a time: BN and torch threads are shared
        arch = self.meta["arch"]
        self.info = {"model": arch["model"], "noise_dim": arch["noise_dim"],
                     "resolution": arch["resolution"], "channels": arch["channels"],
                     "directions": len(self.dirs), "range": SLIDER_RANGE, "step": self.meta.get("step"),
                     "data": (self.meta.get("config") or {}).get("data"), "target": str(target),
                     "classes": classes.names(self.meta)}  # [] unless trained with --cond

    def z(self, seed: int, seed2: int | None = None, t: float = 0.0,
          d: list[float] | None = None) -> torch.Tensor:
        dim = self.info["noise_dim"]
        z = latent.seed_z(seed, dim)
        if seed2 is not None and t:
            z = latent.slerp(z, latent.seed_z(seed2, dim), t)
        for value, direction in zip(d or [], self.dirs):
            z = z + value * direction
        return z

    def png(self, seed: int, seed2: int | None = None, t: float = 0.0,
            d: list[float] | None = None, label: int | None = None, to: int | None = None,
            m: float = 0.0) -> bytes:
        z = self.z(seed, seed2, t, d)
        y: int | torch.Tensor | None = label
        if self.info["classes"]:
            y = label = 0 if label is None else label  # one class at a time: the first by default
            if to is not None and m >= 1.0:
                y = to  # the end of the morph is class ``to`` itself (its label, not a mixture)
            elif to is not None and m > 0.0 and to != label:
                y = latent.class_mix(label, to, m, len(self.info["classes"]))[None]  # (1, K)
        with self.lock:
            img = latent.render(self.G, z[None], y=y)[0]
        return latent.as_png(img)


def _int(q: dict, name: str, default: int | None) -> int | None:
    if name not in q or q[name][0] == "":
        return default
    value = int(q[name][0])
    if not 0 <= value <= MAX_SEED:
        raise ValueError(f"{name} must be in 0..{MAX_SEED}")
    return value


def _label(q: dict, name: str, explorer: Explorer) -> int | None:
    """A class label of the query (``class``, ``to``), checked against the generator's classes."""
    label, known = _int(q, name, None), len(explorer.info["classes"])
    if label is not None and label >= known:
        raise ValueError(f"{name} must be a label 0..{known - 1}" if known else "this generator takes no class")
    return label


def _float(text: str, lo: float, hi: float) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return min(max(value, lo), hi)


def _split_host(header: str) -> tuple[str, int | None]:
    """``Host: name:port`` / ``[v6]:port`` -> (name, port); port None when absent or not a number."""
    header = header.strip().lower()
    if header.startswith("["):
        name, _, rest = header[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    else:
        name, _, port = header.rpartition(":") if header.count(":") == 1 else (header, "", "")
    return name, int(port) if port.isdigit() else None


def allowed_host(header: str | None, host: str, port: int) -> bool:
    """Does a request's Host header name this server (``host``:``port`` as it listens)? Loopback
    servers answer to the loopback names; one on every interface (0.0.0.0, ::) to IP literals and
    this machine's names. A DNS name an attacker controls is never one of them."""
    if not header:
        return False
    name, got = _split_host(header)
    if (got if got is not None else 80) != port:
        return False
    try:
        served = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        served = None
    if name == host.lower().strip("[]"):
        return True
    try:
        literal = ipaddress.ip_address(name)  # an IP address: no DNS name, so no rebinding
    except ValueError:
        literal = None
    if (served is not None and served.is_loopback) or host == "localhost":
        return name == "localhost" or (literal is not None and literal.is_loopback)
    if served is not None and served.is_unspecified:
        return literal is not None or name in {"localhost", socket.gethostname().lower(),
                                               socket.getfqdn().lower()}
    return False


def make_handler(explorer: Explorer):
    class Handler(BaseHTTPRequestHandler):
        server_version = "dcgan-explore"
        timeout = IDLE_TIMEOUT_S  # socketserver sets it on the connection: idle reads time out

        def log_message(self, fmt, *args):  # quiet: a slider drag is dozens of requests
            pass

        def handle_one_request(self):
            try:
                super().handle_one_request()
            except (ConnectionError, TimeoutError):  # the client hung up or went quiet: not our error
                self.close_connection = True

        def _send(self, status: int, body: bytes, ctype: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", ctype)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def do_GET(self):  # noqa: N802 (http.server's name)
            host, port = self.server.server_address[:2]
            if not allowed_host(self.headers.get("Host"), self.server.served_host or host, port):
                return self._send(HTTPStatus.FORBIDDEN, FORBIDDEN, "text/plain; charset=utf-8")
            url = urlparse(self.path)
            if url.path in ("/", "/index.html"):
                return self._send(200, page(explorer.info).encode(), "text/html; charset=utf-8")
            if url.path == "/api/info":
                return self._send(200, json.dumps(explorer.info).encode(), "application/json")
            if url.path == "/api/image":
                q = parse_qs(url.query)
                try:
                    seed = _int(q, "seed", 0)
                    seed2 = _int(q, "seed2", None)
                    t = _float(q["t"][0], 0.0, 1.0) if "t" in q else 0.0
                    d = [_float(v, -SLIDER_RANGE, SLIDER_RANGE)
                         for v in q.get("d", [""])[0].split(",") if v != ""]
                    label, to = _label(q, "class", explorer), _label(q, "to", explorer)
                    m = _float(q["m"][0], 0.0, 1.0) if "m" in q else 0.0
                except ValueError as exc:
                    return self._send(HTTPStatus.BAD_REQUEST, f"bad query: {exc}".encode(),
                                      "text/plain; charset=utf-8")
                return self._send(200, explorer.png(seed, seed2, t, d, label, to, m), "image/png")
            if url.path == "/favicon.ico":
                return self._send(HTTPStatus.NO_CONTENT, b"", "image/x-icon")
            return self._send(HTTPStatus.NOT_FOUND, b"not found", "text/plain; charset=utf-8")

    return Handler


class ExplorerServer(ThreadingHTTPServer):
    """A thread per request, at most ``MAX_WORKERS`` at once (503 beyond), quiet about clients
    that disconnect early."""

    daemon_threads = True
    served_host: str | None = None  # the --host it was asked for (server_address holds the IP)

    def __init__(self, *args, **kwargs):
        self.slots = threading.BoundedSemaphore(MAX_WORKERS)
        super().__init__(*args, **kwargs)

    def process_request(self, request, client_address):
        if not self.slots.acquire(blocking=False):
            try:
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                b"Retry-After: 1\r\nConnection: close\r\n\r\n")
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)
        except BaseException:
            self.slots.release()
            raise

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self.slots.release()

    def handle_error(self, request, client_address):
        if isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            return  # BrokenPipeError, ConnectionResetError...: the client left, nothing to report
        super().handle_error(request, client_address)


def make_server(explorer: Explorer, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT) -> ExplorerServer:
    try:
        server = ExplorerServer((host, port), make_handler(explorer))
    except OSError as exc:
        raise DcganError(f"cannot listen on {host}:{port} ({exc.strerror or exc}); pick another "
                         "--port (0 picks a free one)") from None
    server.served_host = host
    return server


def serve(target: str | Path, host: str = DEFAULT_HOST, port: int = DEFAULT_PORT,
          device: str = "cpu", open_browser: bool = False) -> None:
    if not 0 <= port <= 65535:
        raise DcganError(f"--port {port}: give a TCP port from 1 to 65535 (0 picks a free one)")
    server = make_server(Explorer(target, device), host, port)
    url = f"http://{host}:{server.server_address[1]}/"
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(f"dcgan: warning: listening on {host}: anyone who can reach this machine can use it",
              file=sys.stderr)
    print(f"dcgan: exploring {target} at {url} (Ctrl-C stops)", file=sys.stderr, flush=True)
    if open_browser:
        import webbrowser

        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def page(info: dict) -> str:
    """The explorer page: inline CSS and JS only."""
    sliders = "\n".join(
        f'<label>direction {i + 1} <input type=range class=dir id=d{i} min=-{info["range"]} '
        f'max={info["range"]} step=0.1 value=0><output id=o{i}>0.0</output></label>'
        for i in range(info["directions"]))
    title = f'{info["model"]} · {info["data"] or ""} · step {info["step"]}'
    options = "".join(f"<option value={i}>{html.escape(name)}</option>" for i, name in enumerate(info.get("classes") or []))
    chooser = (f'<fieldset><legend>class</legend><label>class <select id=cls>{options}</select></label>'
               f'<label>morph to <select id=cls2>{options}</select></label><label>morph <input type=range '
               'id=m min=0 max=1 step=0.01 value=0><output id=om>0.00</output></label></fieldset>'
               if options else "")
    return PAGE.replace("__TITLE__", html.escape(title)).replace("__CLASS__", chooser).replace("__SLIDERS__", sliders).replace(
        "__PX__", str(max(DISPLAY_PX, info["resolution"] * 4))).replace("__INFO__", json.dumps(info))


PAGE = r"""<!doctype html><html lang=en><head><meta charset=utf-8>
<title>dcgan explore</title><style>
body{font-family:system-ui,sans-serif;margin:1.5em;color:#222;display:flex;gap:2em;flex-wrap:wrap}
#view img{width:__PX__px;height:__PX__px;image-rendering:pixelated;background:#000;border:1px solid #999}
fieldset{border:1px solid #ccc;margin:0 0 1em;padding:.5em 1em}label{display:block;margin:.4em 0}
input[type=range]{width:16em;vertical-align:middle}output{display:inline-block;width:3em;text-align:right}
input[type=number]{width:7em}#status{color:#777;font-size:.85em}h1{font-size:1.2em;margin:0 0 .6em}
</style></head><body>
<div id=view><h1>__TITLE__</h1><img id=img alt="generated image"><div id=status>loading</div></div>
<div id=controls>
__CLASS__
<fieldset><legend>seed A</legend>
<label>seed <input type=number id=seed min=0 value=0>
<button id=random type=button>random</button></label></fieldset>
<fieldset><legend>interpolate A → B</legend>
<label>seed B <input type=number id=seed2 min=0 value=1></label>
<label>t <input type=range id=t min=0 max=1 step=0.01 value=0><output id=ot>0.00</output></label>
</fieldset>
<fieldset><legend>latent directions (σ)</legend>__SLIDERS__</fieldset>
<button id=reset type=button title="directions, t and morph back to 0">reset sliders</button>
</div>
<script>
const INFO = __INFO__;
const $ = id => document.getElementById(id);
let pending = null, busy = false, shown = "";
function query() {
  const d = [];
  for (let i = 0; i < INFO.directions; i++) { d.push($("d" + i).value); $("o" + i).textContent = Number($("d" + i).value).toFixed(1); }
  $("ot").textContent = Number($("t").value).toFixed(2);
  if ($("m")) $("om").textContent = Number($("m").value).toFixed(2);
  return "seed=" + Math.max(0, parseInt($("seed").value || "0")) + "&seed2=" + Math.max(0, parseInt($("seed2").value || "0")) +
         "&t=" + $("t").value + "&d=" + d.join(",") +
         ($("cls") ? "&class=" + $("cls").value + "&to=" + $("cls2").value + "&m=" + $("m").value : "");
}
function update() {
  pending = query();
  if (!busy) next();
}
function next() {
  if (pending === null || pending === shown) { busy = false; return; }
  busy = true;
  const q = pending; pending = null;
  const img = new Image();
  img.onload = () => { $("img").src = img.src; $("img").dataset.query = q; shown = q;
                       $("status").textContent = q; busy = false; next(); };
  img.onerror = () => { $("status").textContent = "error for " + q; busy = false; next(); };
  img.src = "/api/image?" + q;
}
document.querySelectorAll("input, select").forEach(el => el.addEventListener("input", update));
$("random").onclick = () => { $("seed").value = Math.floor(Math.random() * 100000); update(); };
$("reset").onclick = () => { document.querySelectorAll(".dir").forEach(s => s.value = 0); $("t").value = 0;
                             if ($("m")) $("m").value = 0; update(); };
update();
</script></body></html>"""


__all__ = ["Explorer", "make_server", "serve", "page", "DEFAULT_HOST", "DEFAULT_PORT"]
