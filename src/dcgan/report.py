"""``report.html``: one self-contained page that tells a run's story.

Everything is inlined (plots and images as base64 data URIs, CSS in the page, no scripts), so the
file can be mailed, archived or opened offline. It reads only the run folder:

* ``config.json`` — the resolved config, device and torch version;
* ``stats.jsonl`` — loss and D(x)/D(G(z)) curves; lines with an ``event`` or ``warning`` key are
  health warnings;
* ``metrics.jsonl`` (if evaluation ran) — one curve per metric, the best checkpoint marked
  (``checkpoints/best.json``, or the rows with ``"best": true``); ``event``/``warning`` lines are warnings too;
* ``epochs.jsonl`` — seconds per epoch (else estimated from ``elapsed_s`` in stats.jsonl);
* ``samples/epoch_*.png``, ``progress.gif`` — the fixed-seed grids, as a compact gallery past
  ``GALLERY_MAX`` epochs.

A line or file it cannot read is skipped with a note at the end of the page. The plots are drawn
by plots.py (readable axes, human titles, smoothing on long runs).

The plots need matplotlib (``pip install 'dcgan[report]'``).
"""

from __future__ import annotations

import base64
import html
import json
import math
from pathlib import Path
from typing import Any

from . import plots
from .checkpoint import d_output, read_best
from .errors import DcganError
from .fsutil import atomic_write

REPORT = "report.html"
NOT_METRICS = {"epoch", "step", "best", "n_modes", "elapsed_s", "seconds", "images_per_s", "mode_min_count"}
GALLERY_MAX = 12   # grids shown before the gallery thins out to every k-th epoch (plus the first and last)


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


def _num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def _rows(path: Path, notes: list[str]) -> list[dict]:
    """The JSON objects of a .jsonl file, one per line; a line that is not one (torn by a crash,
    edited by hand) is skipped and counted in ``notes``; an unreadable file is a note too."""
    try:
        text = path.read_bytes().decode("utf-8", errors="replace")
    except FileNotFoundError:
        return []
    except OSError as exc:
        notes.append(f"{path.name} not read ({exc.strerror or exc})")
        return []
    rows, bad = [], 0
    for line in text.splitlines():
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError:
            row = None
        if isinstance(row, dict):
            rows.append(row)
        else:
            bad += 1
    if bad:
        notes.append(f"{path.name}: {bad} line(s) skipped (not a JSON object)")
    return rows


def _config(run_dir: Path) -> dict:
    path = run_dir / "config.json"
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise DcganError(f"{path} cannot be read as a run config ({exc}); restore it from the run's "
                         "checkpoint (its metadata holds the config) or train again") from None
    if not isinstance(config, dict):
        raise DcganError(f"{path} holds a JSON {type(config).__name__}, not a run config (an object "
                         "of settings); restore it or train again")
    return config


def _curve_rows(rows: list[dict], keys: tuple[str, ...]) -> list[dict]:
    return [r for r in rows if "event" not in r and "warning" not in r
            and all(_num(r.get(k)) for k in ("step", *keys))]


def _plot(rows: list[dict], keys: tuple[str, ...], heading: str, ylabel: str,
          hline: float | None = None, log: bool = False) -> bytes:
    fig, ax = plots.figure()
    steps = [r["step"] for r in rows]
    for key in keys:
        plots.curve(ax, steps, [r[key] for r in rows], plots.title(key))
    if hline is not None:
        ax.axhline(hline, color="0.6", lw=0.8, ls="--")
    if log:
        ax.set_yscale("log")
    plots.style(ax, ylabel=ylabel, heading=heading)
    ax.legend()
    return plots.png(fig)


def _best_step(metrics: list[dict], run_dir: Path) -> int | None:
    """The step of the run's best checkpoint (checkpoint.read_best, the one record), else of the
    last metrics.jsonl row marked best."""
    try:
        record = read_best(run_dir)
        if record is not None:
            return int(str(record["checkpoint"]).rsplit("_", 1)[-1])
    except (KeyError, TypeError, ValueError, AttributeError, OSError):
        pass  # a damaged best.json: fall back to the rows
    best = [r for r in metrics if r.get("best") is True and isinstance(r.get("step"), int)]
    return best[-1]["step"] if best else None


def _metric_plots(metrics: list[dict], best_step: int | None) -> list[tuple[str, bytes]]:
    rows = [r for r in metrics if "event" not in r and "warning" not in r and _num(r.get("step"))]
    names = sorted({k for r in rows for k, v in r.items() if k not in NOT_METRICS and _num(v)})
    out = []
    for name in names:
        pts = [(r["step"], r[name]) for r in rows if _num(r.get(name))]
        fig, ax = plots.figure()
        plots.curve(ax, [p[0] for p in pts], [p[1] for p in pts], plots.title(name))
        if best_step is not None:
            at = [v for s, v in pts if s == best_step]
            ax.axvline(best_step, color="tab:red", lw=0.8, ls="--")
            if at:
                ax.plot([best_step], at, marker="*", ms=14, color="tab:red", ls="none",
                        label=f"best checkpoint (step {best_step})")
        if name.startswith("modes") and all(isinstance(r.get("n_modes"), int) for r in rows):
            ax.set_ylim(bottom=0, top=max(r["n_modes"] for r in rows) * 1.05)
        plots.style(ax, heading=plots.title(name), ylabel=name)
        ax.legend()
        out.append((f"{plots.title(name)} ({name})", plots.png(fig)))  # the file's name kept in alt
    return out


def _epoch_of(step: Any, stats: list[dict]) -> Any:
    """The epoch a step fell in, from the stats lines around it."""
    if not _num(step):
        return "?"
    for r in stats:
        if _num(r.get("step")) and r["step"] >= step and "epoch" in r:
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


def _epoch_seconds(run_dir: Path, stats: list[dict], notes: list[str]) -> list[tuple[int, float, float | None]]:
    rows = _rows(run_dir / "epochs.jsonl", notes)
    if rows:
        good = [r for r in rows if isinstance(r.get("epoch"), int) and _num(r.get("seconds"))]
        if len(good) < len(rows):
            notes.append(f"epochs.jsonl: {len(rows) - len(good)} line(s) skipped (no whole epoch "
                         "or numeric seconds)")
        return [(r["epoch"], r["seconds"], r["images_per_s"] if _num(r.get("images_per_s")) else None)
                for r in good]
    # elapsed_s in a line of epoch e is the time of epochs 1..e-1: differences give each epoch
    first: dict[int, float] = {}
    for r in stats:
        if _num(r.get("elapsed_s")) and isinstance(r.get("epoch"), int) and r["epoch"] not in first:
            first[r["epoch"]] = r["elapsed_s"]
    eps = sorted(first)
    return [(e - 1, first[e] - first[e - 1], None) for e in eps if e - 1 in first and first[e] > first[e - 1]]


def _grids(run_dir: Path, notes: list[str]) -> list[tuple[int, Path]]:
    """(epoch, file) of every readable ``samples/epoch_NNNN.png``, by epoch; other names skipped."""
    found, odd = [], []
    for p in sorted((run_dir / "samples").glob("epoch_*.png")):
        number = p.stem.removeprefix("epoch_")
        if number.isdigit() and p.is_file():
            found.append((int(number), p))
        else:
            odd.append(p.name)
    if odd:
        notes.append(f"samples/: skipped {len(odd)} file(s) not named epoch_NNNN.png ({', '.join(odd[:3])}"
                     f"{', …' if len(odd) > 3 else ''})")
    return sorted(found)


def gallery(epochs: list[int], most: int = GALLERY_MAX) -> list[int]:
    """The epochs a compact gallery shows: all of them up to ``most``; beyond, the first, every k-th
    (k the smallest step that keeps the count within ``most``) and the last."""
    if len(epochs) <= most:
        return list(epochs)
    k = math.ceil(len(epochs) / (most - 2))
    picks = [epochs[0], *epochs[k - 1::k], epochs[-1]]
    return sorted(set(picks))


def _read(path: Path, notes: list[str]) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError as exc:
        notes.append(f"{path.name} not read ({exc.strerror or exc})")
        return None


CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:1.5em auto;max-width:1100px;
color:#222;padding:0 1em}
h1{font-size:1.5em}h2{font-size:1.15em;border-bottom:1px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;font-size:.9em}td,th{border:1px solid #ddd;padding:.2em .5em;text-align:left;
vertical-align:top}
.cfg{columns:3 18em;font-family:ui-monospace,monospace;font-size:.85em}.cfg div{break-inside:avoid}
.plots img{max-width:49%;height:auto}.strip{display:flex;overflow-x:auto;gap:.5em;padding-bottom:.5em}
.gallery{display:grid;grid-template-columns:repeat(auto-fill,minmax(7.5em,1fr));gap:.5em}.gallery img{width:100%}
.strip figure,.gallery figure{margin:0;text-align:center;font-size:.8em}.pix{image-rendering:pixelated}
.warn{background:#fff4e5}.ok{color:#2a7}.muted{color:#777}
"""


def build(run_dir: str | Path, out: str | Path | None = None) -> Path:
    """Write ``RUN_DIR/report.html`` (or ``out``) and return its path. Lines and files that are
    damaged (a torn or hand-edited line, an odd grid name) are skipped and listed under "Notes";
    only a run folder without a readable config.json is refused, in one line."""
    run_dir = Path(run_dir)
    if not (run_dir / "config.json").is_file():
        raise DcganError(f"{run_dir} is not a dcgan run folder (no config.json); give the folder "
                         "that `dcgan train` created")
    if not have_matplotlib():
        raise DcganError("the report's plots need matplotlib: pip install 'dcgan[report]' "
                         "(or pip install matplotlib)")
    config = _config(run_dir)
    notes: list[str] = []
    stats = _rows(run_dir / "stats.jsonl", notes)
    metrics = _rows(run_dir / "metrics.jsonl", notes)
    esc = html.escape
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>dcgan report: "
             f"{esc(run_dir.name)}</title><style>{CSS}</style></head><body>",
             f"<h1>{esc(run_dir.name)}</h1>"]

    arch = config.get("arch") if isinstance(config.get("arch"), dict) else {}
    last = next((r for r in reversed(stats) if _num(r.get("step")) and "event" not in r), {})
    epochs = _epoch_seconds(run_dir, stats, notes)
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
    elif metrics:
        parts.append("<p class=ok>none recorded</p>")
    else:  # nothing watched the samples: say so rather than sound reassuring
        parts.append("<p class=muted>none recorded; sample quality was not measured (no metrics.jsonl: "
                     "a data set without an evaluator, or --eval-every 0)</p>")

    parts.append("<h2>Training curves</h2><div class=plots>")
    try:
        prob = d_output(config) == "probability"
    except (AttributeError, TypeError):  # a hand-edited config: read D's outputs as scores
        prob = False
    curves = [(("d_loss", "g_loss"), "Losses", "loss", None, False),
              (("d_x", "d_g_z"), "Discriminator outputs", "P(real)" if prob else "score",
               0.5 if prob else None, False),
              (("g_grad_norm", "d_grad_norm"), "Gradient norms", "L2 norm (log scale)", None, True)]
    drawn = 0
    for keys, heading, ylabel, hline, log in curves:
        rows = _curve_rows(stats, keys)
        if log:
            rows = [r for r in rows if all(r[k] > 0 for k in keys)]
        if rows:
            parts.append(_img(_plot(rows, keys, heading, ylabel, hline, log), "image/png", heading))
            drawn += 1
    if not drawn:
        parts.append("<p class=muted>no stats.jsonl lines yet</p>")
    parts.append("</div>")

    plotted = _metric_plots(metrics, best := _best_step(metrics, run_dir)) if metrics else []
    if plotted:
        parts.append("<h2>Metrics</h2><div class=plots>")
        parts += [_img(png, "image/png", name) for name, png in plotted]
        parts.append("</div>")
        if best is not None:
            parts.append(f"<p>best checkpoint: step {best} (epoch {_epoch_of(best, stats)})</p>")

    grids = [(e, p, data) for e, p in _grids(run_dir, notes) if (data := _read(p, notes)) is not None]
    shown = set(gallery([e for e, _, _ in grids]))
    heading = "every epoch" if len(shown) == len(grids) else \
        f"{len(shown)} of {len(grids)} epochs (the first, every k-th, the last)"
    parts.append(f"<h2>Samples from the fixed noise, {heading}</h2>")
    if grids:
        parts.append("<div class=gallery>" + "".join(
            f"<figure>{_img(data, 'image/png', p.stem, 'pix')}<figcaption>epoch {e}</figcaption></figure>"
            for e, p, data in grids if e in shown) + "</div>")
    else:
        parts.append("<p class=muted>no epoch finished yet</p>")
    # a run stopped mid-epoch (--max-steps, Ctrl-C) ends with samples/step_NNNNNNNNN.png: its last grid
    stops = [p for p in sorted((run_dir / "samples").glob("step_*.png")) if p.stem[5:].isdigit()]
    final = (stops[-1], _read(stops[-1], notes)) if stops else (grids[-1][1], grids[-1][2]) if grids else None
    if final is not None and final[1] is not None:
        parts.append("<h2>Final grid and progress</h2><div class=strip>")
        parts.append(f"<figure>{_img(final[1], 'image/png', 'final grid', 'pix')}"
                     f"<figcaption>final ({final[0].stem})</figcaption></figure>")
        gif = run_dir / "progress.gif"
        if gif.is_file() and (data := _read(gif, notes)) is not None:
            parts.append(f"<figure>{_img(data, 'image/gif', 'progress', 'pix')}"
                         "<figcaption>progress.gif</figcaption></figure>")
        parts.append("</div>")

    if epochs:
        parts.append("<h2>Seconds per epoch</h2><table><tr><th>epoch</th><th>seconds</th>"
                     "<th>images/s</th></tr>" + "".join(
                         f"<tr><td>{e}</td><td>{s:.1f}</td><td>{'' if ips is None else f'{ips:.0f}'}</td></tr>"
                         for e, s, ips in epochs) + "</table>")

    parts.append("<h2>Resolved config</h2><div class=cfg>" + "".join(
        f"<div><b>{esc(str(k))}</b>: {esc(json.dumps(v))}</div>" for k, v in sorted(config.items()))
        + "</div>")
    if notes:
        parts.append("<h2>Notes</h2><ul class=muted>" + "".join(f"<li>{esc(n)}</li>" for n in notes)
                     + "</ul>")
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
