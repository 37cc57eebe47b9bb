"""What an architecture read from a file may ask for, checked before anything is built.

An architecture is a small dict (``{"model": "dcgan64", "ngf": 128, ...}``) that a weights file's
metadata carries, so a 212-byte file can name a width of 10^9. ``check_arch`` holds it to what the
preset can build and what training would have accepted; ``footprint`` then counts parameters and a
batch's activations on the ``meta`` device (no memory), so a caller refuses before it allocates.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import torch

from ..errors import DcganError
from ..limits import MAX_ACTIVATION_BYTES, MAX_PARAMETERS, mib
from .presets import PRESETS, build_discriminator, build_generator

CHANNELS = (1, 3)
MIN_RESOLUTION, MAX_RESOLUTION = 4, 1024   # as `dcgan train --resolution` accepts
MAX_NOISE_DIM = 4096
MAX_PACK = 64
MAX_OPTION = 4096                           # ngf, ndf, width: as `--arch KEY=VALUE` accepts
FLOAT_BYTES = 4
COMMON = ("model", "channels", "resolution", "noise_dim", "pack", "spectral_norm")
CONDS = ("projection", "acgan")             # how a conditional D reads the class (models/lean.py)
CONDITIONAL = ("cond", "classes", "class_names")  # recorded together, and only by a conditional run
SHARES = ("class_source", "class_prior")        # recorded together: the classes' shares of the data
CLASS_SOURCES = ("clusters", "labels")             # --clusters; the data set's labels (--cond)
MAX_CLASSES = 100_000


def _whole(value: Any, lo: int, hi: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi


def check_arch(arch: Any, what: str = "the architecture") -> dict[str, Any]:
    """``arch`` if it is one the preset table can build with the sizes training accepts; else a
    one-line DcganError naming the first wrong field."""
    if not isinstance(arch, dict):
        raise DcganError(f"{what} is a {type(arch).__name__}, not an architecture object")
    model = arch.get("model")
    if not isinstance(model, str) or model not in PRESETS:
        raise DcganError(f"{what} names model {model!r}, which is not a preset ({', '.join(PRESETS)})")
    preset = PRESETS[model]
    takes = set(COMMON) | set(preset.extra) | (set(CONDITIONAL) | set(SHARES) if preset.conditional else set())
    unknown = sorted(set(arch) - takes, key=str)
    if unknown:
        raise DcganError(f"{what} has field(s) {unknown} that preset {model!r} does not take")
    fields = {"channels": (CHANNELS[0], CHANNELS[-1]), "resolution": (MIN_RESOLUTION, MAX_RESOLUTION),
              "noise_dim": (1, MAX_NOISE_DIM), "pack": (1, MAX_PACK),
              **{k: (1, MAX_OPTION) for k in preset.extra}}
    for key, (lo, hi) in fields.items():
        if key not in arch and key in ("pack", *preset.extra):
            continue  # optional: pack 1, the preset's default width
        if not _whole(arch.get(key), lo, hi):
            raise DcganError(f"{what} has {key} {arch.get(key)!r}; it must be a whole number from "
                             f"{lo} to {hi}")
    if arch["channels"] not in CHANNELS:
        raise DcganError(f"{what} has channels {arch['channels']}; it must be 1 (grey) or 3 (RGB)")
    if not preset.resolutions(arch["resolution"]):
        raise DcganError(f"{what} has resolution {arch['resolution']}, which preset {model!r} cannot build")
    if not isinstance(arch.get("spectral_norm", False), bool):
        raise DcganError(f"{what} has spectral_norm {arch['spectral_norm']!r}; it must be true or false")
    if any(k in arch for k in CONDITIONAL + SHARES):
        _check_conditional(arch, what)
    if any(k in arch for k in SHARES):
        _check_shares(arch, what)
    return arch


def _check_shares(arch: dict[str, Any], what: str) -> None:
    """The two fields of the classes' shares: ``class_source`` (what the classes are: "clusters" of
    the images or the data set's "labels") and ``class_prior``, one finite share >= 0 per class,
    summing to about 1."""
    if arch.get("class_source") not in CLASS_SOURCES:
        raise DcganError(f"{what} has class_source {arch.get('class_source')!r}; it must be one of "
                         f"{', '.join(CLASS_SOURCES)}")
    prior = arch.get("class_prior")
    ok = isinstance(prior, list) and len(prior) == arch["classes"] and all(
        isinstance(p, (int, float)) and not isinstance(p, bool) and math.isfinite(p) and p >= 0 for p in prior)
    if not ok or abs(sum(prior) - 1.0) > 1e-3:
        raise DcganError(f"{what} has a class_prior that is not {arch['classes']} shares >= 0 summing "
                         "to 1 (one per class, in label order)")


def _check_conditional(arch: dict[str, Any], what: str) -> None:
    """A conditional architecture's three fields: ``cond`` one of CONDS, ``classes`` a whole number
    from 2 to MAX_CLASSES, ``class_names`` that many strings."""
    if arch.get("cond") not in CONDS:
        raise DcganError(f"{what} has cond {arch.get('cond')!r}; it must be one of {', '.join(CONDS)}")
    classes = arch.get("classes")
    if not _whole(classes, 2, MAX_CLASSES):
        raise DcganError(f"{what} has classes {classes!r}; it must be a whole number from 2 to {MAX_CLASSES}")
    names = arch.get("class_names")
    if not (isinstance(names, list) and len(names) == classes and all(isinstance(n, str) for n in names)):
        got = f"{len(names)} item(s)" if isinstance(names, list) else type(names).__name__
        raise DcganError(f"{what} has class_names of {got}; it must be a list of {classes} strings "
                         "(one per class, in label order)")


@dataclass(frozen=True)
class Footprint:
    parameters: int                      # of the module, exactly
    activation_bytes: int                # per image through G in inference: its two largest layer outputs
    shapes: dict[str, tuple[int, ...]]   # its state dict's tensor shapes, to compare with a file's


def footprint(arch: dict[str, Any], part: str = "generator") -> Footprint:
    """Parameters, state-dict shapes and (for G) activations per image of a checked architecture,
    counted on the meta device: nothing is allocated. Raises DcganError over
    ``limits.MAX_PARAMETERS``. Cached: every load asks twice."""
    return _footprint(json.dumps(arch, sort_keys=True), part)


@lru_cache(maxsize=32)
def _footprint(key: str, part: str) -> Footprint:
    arch = json.loads(key)
    build = build_generator if part == "generator" else build_discriminator
    with torch.device("meta"):
        module = build(arch).eval()
    n = sum(p.numel() for p in module.parameters())
    if n > MAX_PARAMETERS:
        raise DcganError(f"the {part} this file describes has {n:,} parameters ({mib(n * FLOAT_BYTES)}), "
                         f"more than dcgan builds from a file ({MAX_PARAMETERS:,})")
    shapes = {k: tuple(v.shape) for k, v in module.state_dict().items()}
    if part != "generator":
        return Footprint(n, 0, shapes)
    sizes: list[int] = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: sizes.append(out.numel()))
             for m in module.modules() if not list(m.children())]
    with torch.no_grad():
        module(torch.zeros(1, arch["noise_dim"], device="meta"))
    for h in hooks:
        h.remove()
    return Footprint(n, sum(sorted(sizes)[-2:]) * FLOAT_BYTES, shapes)


def check_batch(arch: dict[str, Any], batch_size: Any, why: str) -> int:
    """``batch_size`` images through G at once, refused when not a positive whole number or when
    its activations would pass ``limits.MAX_ACTIVATION_BYTES``."""
    if not _whole(batch_size, 1, 2**31):
        raise DcganError(f"{why}: batch size {batch_size!r} is not a positive whole number")
    need = footprint(arch).activation_bytes * batch_size
    if need > MAX_ACTIVATION_BYTES:
        raise DcganError(f"{why}: a batch of {batch_size:,} needs about {mib(need)} of activations, "
                         f"more than dcgan allows ({mib(MAX_ACTIVATION_BYTES)})")
    return batch_size
