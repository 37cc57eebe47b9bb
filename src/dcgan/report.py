"""``report.html``: one self-contained page that tells a run's story.

Everything is inlined (plots and images as base64 data URIs, CSS in the page, no scripts), so the
file can be mailed, archived or opened offline. It reads only the run folder:

* ``config.json`` — the resolved config, device and torch version;
* ``stats.jsonl`` — loss and D(x)/D(G(z)) curves; lines with an ``event`` or ``warning`` key are
  health warnings;
* ``metrics.jsonl`` (if evaluation ran) — one curve per metric, the best checkpoint marked
  (``checkpoints/best.json``, or the rows with ``"best": true``); ``event``/``warning`` lines are warnings too;
* ``epochs.jsonl`` — seconds per epoch (else estimated from ``elapsed_s`` in stats.jsonl);
* ``samples/epoch_*.png``, ``progress.gif`` — the fixed-seed grids.

The plots need matplotlib (``pip install 'dcgan[report]'``).
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
from pathlib import Path
from typing import Any

from .checkpoint import d_output, read_best
from .errors import DcganError
from .fsutil import atomic_write, read_jsonl

REPORT = "report.html"
NOT_METRICS = {"epoch", "step", "best", "n_modes", "elapsed_s", "seconds", "images_per_s"}
PLOT_SIZE = (6.4, 3.2)
PLOT_DPI = 100
FEW_POINTS = 30


def have_matplotlib() -> bool:
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        return False
    return True


def _data_uri(data: bytes, mime: str) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def _img(data: bytes, mime: str, alt: str, cls: str = "") -> str:
    return f'<img class="{cls}" alt="{html.escape(alt)}" src="{_data_uri(data, mime)}">'


def _figure():
    from matplotlib.figure import Figure  # no pyplot: no global state, no display backend

    fig = Figure(figsize=PLOT_SIZE, dpi=PLOT_DPI, layout="constrained")
    return fig, fig.add_subplot()


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def _curve_rows(rows: list[dict], keys: tuple[str, ...]) -> list[dict]:
    return [r for r in rows if "event" not in r and "warning" not in r
            and all(isinstance(r.get(k), (int, float)) for k in ("step", *keys))]


def _plot(rows: list[dict], keys: tuple[str, ...], labels: tuple[str, ...], title: str,
          ylabel: str, hline: float | None = None) -> bytes:
    fig, ax = _figure()
    steps = [r["step"] for r in rows]
    for key, label in zip(keys, labels):
        ax.plot(steps, [r[key] if math.isfinite(r[key]) else float("nan") for r in rows], label=label,
                marker="o" if len(rows) < FEW_POINTS else None)  # a lone point still shows
    if hline is not None:
        ax.axhline(hline, color="0.6", lw=0.8, ls="--")
    ax.set(title=title, xlabel="step", ylabel=ylabel)
    ax.grid(alpha=0.3)
    ax.legend()
    return _png(fig)


def _best_step(metrics: list[dict], run_dir: Path) -> int | None:
    """The step of the run's best checkpoint (checkpoint.read_best, the one record), else of the
    last metrics.jsonl row marked best."""
    record = read_best(run_dir)
    if record is not None:
        return int(record["checkpoint"].rsplit("_", 1)[-1])
    best = [r for r in metrics if r.get("best") is True and isinstance(r.get("step"), int)]
    return best[-1]["step"] if best else None


def _metric_plots(metrics: list[dict], best_step: int | None) -> list[tuple[str, bytes]]:
    rows = [r for r in metrics if "event" not in r and "warning" not in r and "step" in r]
    names = sorted({k for r in rows for k, v in r.items()
                    if k not in NOT_METRICS and isinstance(v, (int, float)) and not isinstance(v, bool)})
    plots = []
    for name in names:
        pts = [(r["step"], r[name]) for r in rows if isinstance(r.get(name), (int, float))]
        fig, ax = _figure()
        ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=name)
        if best_step is not None:
            at = [v for s, v in pts if s == best_step]
            ax.axvline(best_step, color="tab:red", lw=0.8, ls="--")
            if at:
                ax.plot([best_step], at, marker="*", ms=14, color="tab:red", ls="none",
                        label=f"best checkpoint (step {best_step})")
        ax.set(title=name, xlabel="step", ylabel=name)
        ax.grid(alpha=0.3)
        ax.legend()
        plots.append((name, _png(fig)))
    return plots


def _epoch_of(step: int | None, stats: list[dict]) -> Any:
    """The epoch a step fell in, from the stats lines around it."""
    if step is None:
        return "?"
    for r in stats:
        if isinstance(r.get("step"), int) and r["step"] >= step and "epoch" in r:
            return r["epoch"]
    return stats[-1].get("epoch", "?") if stats else "?"


def _warnings(stats: list[dict], metrics: list[dict]) -> list[dict]:
    out = []
    for source, rows in (("stats.jsonl", stats), ("metrics.jsonl", metrics)):
        for r in rows:
            if "event" in r or "warning" in r:
                epoch = r["epoch"] if "epoch" in r else _epoch_of(r.get("step"), stats)
                what = r.get("event") or "warning"
                text = r.get("message") or r.get("warning") or r.get("problem") or ""
                rest = {k: v for k, v in r.items()
                        if k not in ("epoch", "step", "event", "warning", "message")}
                out.append({"epoch": epoch, "step": r.get("step", "?"), "kind": what,
                            "message": text if isinstance(text, str) else json.dumps(text),
                            "details": json.dumps(rest, sort_keys=True) if rest else "", "source": source})
    return out


def _epoch_seconds(run_dir: Path, stats: list[dict]) -> list[tuple[int, float, float | None]]:
    rows = read_jsonl(run_dir / "epochs.jsonl")
    if rows:
        return [(r["epoch"], r["seconds"], r.get("images_per_s")) for r in rows if "seconds" in r]
    # elapsed_s in a line of epoch e is the time of epochs 1..e-1: differences give each epoch
    first: dict[int, float] = {}
    for r in stats:
        if "elapsed_s" in r and "epoch" in r and r["epoch"] not in first:
            first[r["epoch"]] = r["elapsed_s"]
    eps = sorted(first)
    return [(e - 1, first[e] - first[e - 1], None) for e in eps if e - 1 in first and first[e] > first[e - 1]]


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em auto;max-width:1100px;
color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;
vertical-align:top}
.cfg{columns:3 18em;font-family:ui-monospace,monospace;font-size:.85em}.cfg div{break-inside:avoid}
.plots img{max-width:49%;height:auto}.strip{display:flex;overflow-x:auto;gap:.5em;padding-bottom:.5em}
.strip figure{margin:0;text-align:center;font-size:.8em}.pix{image-rendering:pixelated}
.warn{background:#fff4e5}.ok{color:#2a7}.muted{color:#777}
"""


def build(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write ``RUN_DIR/report.html`` (or ``out``) and return its path."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise DcganError(f"{run_dir} is not a dcgan run folder (no config.json); give the folder "
                         "that `dcgan train` created")
    if not have_matplotlib():
        raise DcganError("the report's plots need matplotlib: pip install 'dcgan[report]' "
                         "(or pip install matplotlib)")
    config = json.loads((run_dir / "config.json").read_text())
    stats = read_jsonl(run_dir / "stats.jsonl")
    metrics = read_jsonl(run_dir / "metrics.jsonl")
    esc = html.escape
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>dcgan report: "
             f"{esc(run_dir.name)}</title><style>{CSS}</style></head><body>",
             f"<h1>{esc(run_dir.name)}</h1>"]

    arch = config.get("arch", {})
    last = next((r for r in reversed(stats) if "step" in r and "event" not in r), {})
    epochs = _epoch_seconds(run_dir, stats)
    total = sum(s for _, s, _ in epochs)
    summary = [("model", config.get("model")), ("data", config.get("data")),
               ("images", f"{arch.get('resolution')}×{arch.get('resolution')}×{arch.get('channels')}"),
               ("steps", last.get("step", 0)), ("epochs done", max((e for e, _, _ in epochs), default=0)),
               ("hardware", config.get("device_name", "?")), ("torch", config.get("torch", "?")),
               ("training time", f"{total:.1f} s" if epochs else "?")]
    parts.append("<table>" + "".join(f"<tr><th>{esc(k)}</th><td>{esc(str(v))}</td></tr>"
                                     for k, v in summary) + "</table>")

    warns = _warnings(stats, metrics)
    parts.append("<h2>Health warnings</h2>")
    if warns:
        parts.append("<table><tr><th>epoch</th><th>step</th><th>what</th><th>message</th>"
                     "<th>details</th></tr>" + "".join(
                         f"<tr class=warn><td>{esc(str(w['epoch']))}</td><td>{esc(str(w['step']))}</td>"
                         f"<td>{esc(str(w['kind']))}</td><td>{esc(w['message'])}</td>"
                         f"<td class=muted>{esc(w['details'])} ({esc(w['source'])})</td></tr>"
                         for w in warns) + "</table>")
    else:
        parts.append("<p class=ok>none recorded</p>")

    parts.append("<h2>Training curves</h2><div class=plots>")
    loss_rows = _curve_rows(stats, ("d_loss", "g_loss"))
    d_rows = _curve_rows(stats, ("d_x", "d_g_z"))
    if loss_rows:
        parts.append(_img(_plot(loss_rows, ("d_loss", "g_loss"), ("D loss", "G loss"), "losses", "loss"),
                          "image/png", "loss curves"))
    if d_rows:
        prob = d_output(config) == "probability"
        parts.append(_img(_plot(d_rows, ("d_x", "d_g_z"), ("D(x)", "D(G(z))"), "discriminator outputs",
                                "P(real)" if prob else "score", 0.5 if prob else None),
                          "image/png", "D(x) and D(G(z))"))
    if not loss_rows:
        parts.append("<p class=muted>no stats.jsonl lines yet</p>")
    parts.append("</div>")

    if metrics:
        best = _best_step(metrics, run_dir)
        parts.append("<h2>Metrics</h2><div class=plots>")
        parts += [_img(png, "image/png", name) for name, png in _metric_plots(metrics, best)]
        parts.append("</div>")
        if best is not None:
            parts.append(f"<p>best checkpoint: step {best} (epoch {_epoch_of(best, stats)})</p>")

    grids = sorted((run_dir / "samples").glob("epoch_*.png"))
    parts.append("<h2>Samples from the fixed noise, every epoch</h2>")
    if grids:
        parts.append("<div class=strip>" + "".join(
            f"<figure>{_img(p.read_bytes(), 'image/png', p.stem, 'pix')}"
            f"<figcaption>epoch {int(p.stem.split('_')[-1])}</figcaption></figure>" for p in grids)
            + "</div>")
        parts.append("<h2>Final grid and progress</h2><div class=strip>")
        parts.append(f"<figure>{_img(grids[-1].read_bytes(), 'image/png', 'final grid', 'pix')}"
                     f"<figcaption>final ({grids[-1].stem})</figcaption></figure>")
        gif = run_dir / "progress.gif"
        if gif.is_file():
            parts.append(f"<figure>{_img(gif.read_bytes(), 'image/gif', 'progress', 'pix')}"
                         "<figcaption>progress.gif</figcaption></figure>")
        parts.append("</div>")
    else:
        parts.append("<p class=muted>no epoch finished yet</p>")

    if epochs:
        parts.append("<h2>Seconds per epoch</h2><table><tr><th>epoch</th><th>seconds</th>"
                     "<th>images/s</th></tr>" + "".join(
                         f"<tr><td>{e}</td><td>{s:.1f}</td><td>{'' if ips is None else f'{ips:.0f}'}</td></tr>"
                         for e, s, ips in epochs) + "</table>")

    parts.append("<h2>Resolved config</h2><div class=cfg>" + "".join(
        f"<div><b>{esc(k)}</b>: {esc(json.dumps(v))}</div>" for k, v in sorted(config.items()))
        + "</div>")
    parts.append(f"<p class=muted>written by dcgan from {esc(str(run_dir))}</p></body></html>")
    return atomic_write(Path(out) if out else run_dir / REPORT, "\n".join(parts))


def after_training(run_dir: Path) -> Path | None:
    """The end-of-training hook: write the report, or say why not; never fail the run over it."""
    import sys

    if not have_matplotlib():
        print("dcgan: no report.html (matplotlib is not installed: pip install 'dcgan[report]', "
              f"then `dcgan report {run_dir}`)", file=sys.stderr)
        return None
    try:
        path = build(run_dir)
    except (DcganError, OSError, ValueError) as exc:
        print(f"dcgan: report.html not written ({exc})", file=sys.stderr)
        return None
    print(f"dcgan: wrote {path}", file=sys.stderr)
    return path


__all__ = ["build", "after_training", "REPORT"]
