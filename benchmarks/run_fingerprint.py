"""Fingerprint of seeded training runs: sha256 of every weight tensor, both Adam moments and every
sample grid's pixels, for a few presets and recipes on the built-in ``fake`` data set.

Used to show a refactor changes nothing: run it before and after and compare the printed hashes
(bit for bit on the same machine; oneDNN may differ across CPU types, so this is not a test).

    python benchmarks/run_fingerprint.py            # prints one line per recipe
"""

from __future__ import annotations

import hashlib
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors.torch import load_file

RECIPES = {
    "tf-tutorial": dict(model="tf-tutorial", data="fake", channels=1, resolution=28, limit=96,
                        batch_size=32, epochs=2),
    "tf-ema-soft": dict(model="tf-tutorial", data="fake", channels=1, resolution=28, limit=96,
                        batch_size=32, epochs=2, ema=0.9, soft_labels=True, label_flip=0.1),
    "keras-gan-gp": dict(model="keras-gan-mnist", data="fake", channels=1, resolution=28, limit=64,
                         batch_size=32, epochs=2, loss="wgan-gp", n_critic=2),
    "lsgan-alt": dict(model="lsgan", data="fake", channels=1, resolution=28, limit=64, batch_size=32,
                      epochs=1, update="alternating"),
    "dcgan64-pack": dict(model="dcgan64", data="fake", limit=32, batch_size=16, epochs=1, pack=2,
                         arch_options={"ngf": 8, "ndf": 8}),
}


def _digest(tensors: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for k in sorted(tensors):
        h.update(k.encode())
        h.update(tensors[k].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()[:16]


def fingerprint(run: Path) -> str:
    ckpts = sorted((run / "checkpoints").glob("step_*"))
    last = ckpts[-1]
    weights = {}
    for f in sorted(last.glob("*.safetensors")):
        weights.update({f"{f.stem}.{k}": v for k, v in load_file(str(f)).items()})
    state = torch.load(last / "training_state.pt", weights_only=True)
    moments = {}
    for key in ("opt_g", "opt_d"):
        for i, s in state[key]["state"].items():
            for m in ("exp_avg", "exp_avg_sq"):
                moments[f"{key}.{i}.{m}"] = s[m]
    grids = {p.name: torch.from_numpy(np.array(Image.open(p))) for p in sorted((run / "samples").glob("*.png"))}
    return f"weights {_digest(weights)} adam {_digest(moments)} grids {_digest(grids)} ({len(grids)} grids, {last.name})"


def main() -> int:
    from dcgan import train

    names = sys.argv[1:] or list(RECIPES)
    with tempfile.TemporaryDirectory() as tmp:
        for name in names:
            out = Path(tmp) / name
            train({**RECIPES[name], "out": str(out), "report": False, "progress": False, "seed": 0})
            print(f"{name:14s} {fingerprint(out)}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
