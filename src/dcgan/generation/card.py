"""The model card ``dcgan export`` writes beside the weights: ``<name>.MODEL_CARD.md``.

One Markdown page that answers what someone handed the file asks first: what was trained (preset,
architecture, parameter count), on what data (name, split, images, the sha256 of the cached split
where this machine has it), with which recipe, for how long, how well (the run's evaluations, if
any), and how to load it with dcgan and with plain torch / onnxruntime. It is named after the
weights file, so two exports in one folder never overwrite each other's card, and a README.md there
is never touched. Everything comes from the export's metadata and the run folder's files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .. import checkpoint as ckpt
from ..errors import DcganError
from ..fsutil import atomic_write, read_jsonl, sha256_file

CARD_SUFFIX = ".MODEL_CARD.md"
RECIPE = ("loss", "update", "batch_size", "lr_g", "lr_d", "beta1", "beta2", "n_critic", "ema", "r1", "r2",
          "soft_labels", "label_flip", "g_dropout", "pack", "augment", "lr_schedule", "precision", "seed",
          "limit", "max_steps")
SKIP_METRIC = {"epoch", "step", "best", "n_modes", "mode_min_count", "histogram"}


def card_path(weights: Path) -> Path:
    return weights.with_name(weights.stem + CARD_SUFFIX)


def _run_dir(target: str | Path) -> Path | None:
    """The run folder behind a run, checkpoint or weights-file target, if there is one."""
    p = Path(target).expanduser()
    for folder in (p, p.parent, p.parent.parent, p.parent.parent.parent):
        if (folder / "config.json").is_file():
            return folder
    return None


def _data_hash(data: str | None, config: dict[str, Any]) -> str:
    from ..data.cache import cache_path, data_root

    if not data:
        return "unknown"
    if Path(data).expanduser().is_dir():
        return "a folder of images (not hashed)"
    try:
        cached = cache_path(data_root(config.get("data_dir")), data.partition(":")[0], "train")
        sidecar = cached.with_suffix(".sha256")
        digest = sidecar.read_text().strip() if sidecar.is_file() else sha256_file(cached)
    except (OSError, ValueError):
        return "not in this machine's data cache"
    return f"`{digest}` (dcgan's cached train split, `{cached.name}`)"


def _metrics(run_dir: Path | None) -> list[str]:
    if run_dir is None:
        return ["No run folder was found beside the weights, so no evaluation is recorded here."]
    rows = [r for r in read_jsonl(run_dir / "metrics.jsonl") if isinstance(r, dict) and "event" not in r]
    if not rows:
        return ["The run recorded no evaluation. Measure this generator with "
                "`dcgan eval <file> --n 10000` (FID, KID, precision/recall, modes, in the shipped "
                "classifier's feature space)."]
    last = rows[-1]
    lines = [f"The run's last evaluation (epoch {last.get('epoch', '?')}, step {last.get('step', '?')}, "
             "from its `metrics.jsonl`; classifier-space numbers, not comparable with Inception FIDs):", "",
             "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in last.items()
              if k not in SKIP_METRIC and isinstance(v, (int, float)) and not isinstance(v, bool)]
    best = ckpt.read_best(run_dir)
    if isinstance(best, dict) and "metric" in best:
        lines += ["", f"Best checkpoint: `{best.get('checkpoint')}`, {best['metric']} {best.get('value')}."]
    return lines


def _loading(name: str, fmt: str, info: dict[str, Any]) -> list[str]:
    dim, c, res = info["noise"]["dim"], info["channels"], info["resolution"]
    lines = ["With dcgan (`pip install dcgan`):", "", "```python", "import dcgan", "",
             f'images = dcgan.sample("{name}", n=16, seed=0)   # uint8 (16, {c}, {res}, {res})',
             f'G, meta = dcgan.load_generator("{name}")          # z (N, {dim}) -> images in [-1, 1]',
             "```", ""]
    if fmt == "safetensors":  # weights only, never code: the layers come from dcgan.models
        lines += ["With plain torch and safetensors (the network's code is `dcgan.models`):", "",
                  "```python", "import json, torch", "from safetensors import safe_open",
                  "from safetensors.torch import load_file", "from dcgan.models import build_generator", "",
                  f'with safe_open("{name}", "pt") as fh:',
                  "    meta = {k: json.loads(v) for k, v in fh.metadata().items()}",
                  'G = build_generator(meta["arch"]).eval()',
                  f'G.load_state_dict(load_file("{name}"))',
                  f"images = G(torch.randn(16, {dim}))   # (16, {c}, {res}, {res}) in [-1, 1]"]
    elif fmt == "torchscript":
        lines += ["Without dcgan, with torch alone:", "", "```python",
                  "import torch", "", f'G = torch.jit.load("{name}").eval()',
                  f"z = torch.randn(16, {dim})", "images = G(z)   # (16, "
                  f"{c}, {res}, {res}) in [-1, 1]; (images + 1) * 127.5 gives pixels"]
    else:
        lines += ["Without dcgan or torch, with onnxruntime:", "", "```python",
                  "import numpy as np, onnxruntime as ort", "",
                  f'session = ort.InferenceSession("{name}")',
                  f'z = np.random.default_rng(0).standard_normal((16, {dim}), dtype=np.float32)',
                  'images = session.run(["images"], {"z": z})[0]   # '
                  f"(16, {c}, {res}, {res}) in [-1, 1]"]
    lines += ["```"]
    if "label_input" in info:  # a class-conditional generator (--cond): labels are the second input
        names = info.get("classes") or []
        lines += ["", f"Class-conditional: pass labels `y`, int64 of shape (N,) in 0-{len(names) - 1}, as the "
                  "second input (`G(z, y)`; ONNX input `y`; `dcgan.sample(..., classes=7)`). Classes in "
                  f"label order: {', '.join(names[:20])}{' ...' if len(names) > 20 else ''}."]
        arch = info.get("arch") or {}
        draw = ("draw each image's label with the shares in `arch.class_prior` of the metadata (what dcgan "
                "does when no class is asked), e.g. `y = torch.multinomial(torch.tensor(prior), 16, replacement=True)`.")
        if arch.get("class_prior") and arch.get("class_source") == "clusters":
            lines += ["", "The classes are clusters of the training images (`--clusters`), not "
                      f"labels. For samples that follow the training data, {draw}"]
        elif arch.get("class_prior"):
            lines += ["", f"For samples that follow the training data's classes, {draw}"]
    return lines


def write_card(weights: Path, fmt: str, info: dict[str, Any], target: str | Path) -> Path:
    """Write the model card of the export ``weights`` (``fmt``, metadata ``info``) from ``target``."""
    from ..models import build_generator, get_preset

    run_dir = _run_dir(target)
    config: dict[str, Any] = {}
    if run_dir is not None:
        try:
            loaded = json.loads((run_dir / "config.json").read_text())
            config = loaded if isinstance(loaded, dict) else {}
        except (OSError, ValueError):
            config = {}
    arch = info["arch"]
    n_params = sum(p.numel() for p in build_generator(arch).parameters())
    try:
        preset = get_preset(info["model"])
        about = f"{preset.summary} (source: {preset.source})"
    except DcganError:  # a preset this version no longer has: the architecture still says it
        about = "a preset this version of dcgan does not list"
    data = info.get("data") or config.get("data")
    epochs_done = max((r.get("epoch", 0) for r in read_jsonl(run_dir / "epochs.jsonl")
                       if isinstance(r, dict) and isinstance(r.get("epoch"), int)), default=None) \
        if run_dir is not None else None
    recipe = [f"- {k}: `{json.dumps(config[k])}`" for k in RECIPE if k in config and config[k] not in (None, "")]
    lines = [
        f"# dcgan generator: {info['model']} trained on {data or 'unknown data'}", "",
        f"Exported by dcgan {info.get('dcgan_version') or '?'} as {fmt}: `{weights.name}`, sha256 "
        f"`{sha256_file(weights)}`.", "",
        "## What was trained", "",
        f"- preset: `{info['model']}` — {about}",
        f"- generator parameters: {n_params:,}",
        f"- architecture: `{json.dumps(arch, sort_keys=True)}`",
        f"- input: noise z ~ N({info['noise'].get('mean', 0.0)}, {info['noise'].get('std', 1.0)}) of shape "
        f"(batch, {info['noise']['dim']}); output: images (batch, {info['channels']}, {info['resolution']}, "
        f"{info['resolution']}) in [-1, 1], NCHW",
        f"- weights: {'the EMA (moving average) generator' if info.get('ema') else 'the trained generator'}; "
        f"BatchNorm statistics: {info.get('batchnorm_statistics') or 'none (no BatchNorm) or as stored'}",
        "", "## Data", "",
        f"- data set: `{data}`, train split" + (f", the first {config['limit']} images" if config.get("limit") else ""),
        f"- sha256: {_data_hash(data, config)}",
        "", "## Recipe and length", "",
        *(recipe or ["- not recorded (no run folder beside the weights)"]),
        f"- trained: step {info.get('step', '?')}" + (f", {epochs_done} of {config.get('epochs', '?')} epoch(s)"
                                                      if epochs_done is not None else ""),
        "", "## Metrics", "", *_metrics(run_dir),
        "", "## How to load", "", *_loading(weights.name, fmt, info), "",
    ]
    return atomic_write(card_path(weights), "\n".join(lines))


__all__ = ["write_card", "card_path", "CARD_SUFFIX"]
