"""The report's plots: one matplotlib figure per curve, drawn to PNG bytes, readable at a glance.

Every plot here promises: step axes in whole numbers, no offset notation (``+1.36e3``), a title a
person can read ("FID, 2,000 samples", not ``fid2k_classifier``), markers on every point of a short
run, and, on a long one, the raw points faint under a smoothed line. Nothing here reads files; the
report (report.py) decides what to draw.
"""

from __future__ import annotations

import io
import math
import re
from collections.abc import Sequence

PLOT_SIZE = (6.4, 3.2)
PLOT_DPI = 100
FEW_POINTS = 30        # up to this many points a curve is markers joined by a line, unsmoothed
SMOOTH_SPAN = 0.05     # smoothing: an EMA whose span is this share of the points (at least 5)
RAW_ALPHA = 0.25       # the raw points under a smoothed line

# metric names as the run files spell them -> what a person reads (the protocol kept in words)
WORDS = {"fid": "FID", "kid": "KID", "modes": "Modes covered", "kl": "KL to uniform",
         "kl_uniform": "KL to uniform", "kl_marginals": "KL in digit shares", "precision": "Precision", "recall": "Recall",
         "density": "Density", "coverage": "Coverage", "mean_confidence": "Mean confidence",
         "classifier_score": "Classifier score", "d_loss": "D loss", "g_loss": "G loss",
         "d_x": "D(x)", "d_g_z": "D(G(z))", "g_grad_norm": "G gradient norm",
         "d_grad_norm": "D gradient norm"}
PROTOCOL = re.compile(r"^(?P<what>[a-z_]+?)(?P<n>\d+)k_(?P<features>[a-z0-9]+)$")  # fid2k_classifier
EVAL_N_DEFAULT = 2000  # health.EVAL_N: the n of the unsuffixed modes / kl_* an --eval-every row holds


def title(name: str) -> str:
    """``fid2k_classifier`` -> "FID, 2,000 samples (classifier features)"; ``modes`` -> "Modes
    covered, 2,000 samples"; an unknown name -> its words."""
    m = PROTOCOL.match(name)
    if m:
        what = WORDS.get(m["what"], m["what"].replace("_", " ").capitalize())
        return f"{what}, {int(m['n']) * 1000:,} samples ({m['features']} features)"
    if name in ("modes", "kl_uniform", "kl_marginals"):
        return f"{WORDS[name]}, {EVAL_N_DEFAULT:,} samples"
    if name in WORDS:
        return WORDS[name]
    head, _, rest = name.partition("_")  # fid_test -> "FID test"
    return f"{WORDS.get(head, head.capitalize())} {rest.replace('_', ' ')}".strip()


def figure():
    from matplotlib.figure import Figure  # no pyplot: no global state, no display backend

    fig = Figure(figsize=PLOT_SIZE, dpi=PLOT_DPI, layout="constrained")
    return fig, fig.add_subplot()


def style(ax, xlabel: str = "step", ylabel: str = "", heading: str = "") -> None:
    """Whole-number steps, plain tick labels (no offset, no 1e3 factor), a light grid."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    ax.set(title=heading, xlabel=xlabel, ylabel=ylabel)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    for axis in ("x", "y"):
        try:
            ax.ticklabel_format(axis=axis, useOffset=False, style="plain")
        except AttributeError:  # a log axis has no ScalarFormatter: plain numbers, not 4 x 10^0
            which = getattr(ax, f"{axis}axis")
            which.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}"))
            which.set_minor_formatter(FuncFormatter(_log_minor))
    ax.grid(alpha=0.3)


def _log_minor(v: float, _pos: int) -> str:
    """A log axis's minor ticks: 2 and 5 of each decade labelled, the rest bare (no crowding)."""
    if v <= 0:
        return ""
    return f"{v:g}" if round(v / 10 ** math.floor(math.log10(v) + 1e-9)) in (2, 5) else ""


def smooth(values: Sequence[float], span: int | None = None) -> list[float]:
    """An exponential moving average, debiased at the start (as TensorBoard's smoothing), that
    skips non-finite values rather than spreading them."""
    span = span or max(5, round(SMOOTH_SPAN * len(values)))
    alpha = 2.0 / (span + 1)
    out, avg, weight = [], 0.0, 0.0
    for v in values:
        if math.isfinite(v):
            avg, weight = (1 - alpha) * avg + alpha * v, (1 - alpha) * weight + alpha
        out.append(avg / weight if weight else float("nan"))
    return out


def curve(ax, steps: Sequence[float], values: Sequence[float], label: str, color: str | None = None) -> None:
    """One series: markers on a short run; raw points faint under the smoothed line on a long one."""
    values = [v if isinstance(v, (int, float)) and math.isfinite(v) else float("nan") for v in values]
    if len(values) <= FEW_POINTS:
        ax.plot(steps, values, marker="o", ms=4, label=label, color=color)
        return
    (raw,) = ax.plot(steps, values, lw=0.6, alpha=RAW_ALPHA, color=color)
    ax.plot(steps, smooth(values), lw=1.6, color=raw.get_color(), label=f"{label} (smoothed)")


def png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()


__all__ = ["title", "figure", "style", "smooth", "curve", "png", "FEW_POINTS"]
