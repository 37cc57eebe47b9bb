"""dcgan: train, sample, explore and evaluate deep convolutional GANs.

The Python API mirrors the command line::

    import dcgan
    run = dcgan.train(model="tf-tutorial", data="mnist", epochs=1, limit=2048)
    G, meta = dcgan.load_generator(run)
    images = dcgan.sample(run, n=16, seed=0)   # uint8 (16, 1, 28, 28)
    dcgan.evaluate(run, n=10000)["metrics"]["fid"]
    dcgan.interpolate(run, "0-3", out="walk.gif"); dcgan.export(run, out="g.onnx")
    dcgan.interpolate(cond_run, [0], classes=3, to_class=8, out="morph.png")  # --cond: 3 -> 8

Every function here checks its arguments first: a wrong type or value (None where a path goes, an
int for a path, a negative n, an unknown mode) raises ``DcganError`` with one sentence, as the
command line prints it, never an AttributeError or TypeError from deep inside.
"""

from __future__ import annotations

import functools
import inspect
import os
from typing import Any, Callable

from .version import __version__  # noqa: E402

# Imported eagerly on purpose: `dcgan.train` must be the function, and a lazily imported submodule
# of the same name would replace it on the package.
from .errors import DcganError  # noqa: E402
from .generation import export as _export_mod, latent as _latent, loading as _loading  # noqa: E402
from .generation import sampling as _sampling  # noqa: E402
from .generation.batchnorm import BN_MODES  # noqa: E402
from . import metrics as _metrics_pkg  # noqa: E402
from .data.holdout import HELD_OUT  # noqa: E402
from .metrics.features import KINDS as _FEATURE_KINDS  # noqa: E402
from .training import run as _run  # noqa: E402
from .training.config import MAX_SEED  # noqa: E402


def _kind(value: Any) -> str:
    return "None" if value is None else type(value).__name__


def _path(name: str, value: Any) -> Any:
    if isinstance(value, (str, os.PathLike)) and str(value):
        return value
    raise DcganError(f"{name} must be a path (a str or pathlib.Path), not {_kind(value)}")


def _optional_path(name: str, value: Any) -> Any:
    return None if value is None else _path(name, value)


def _whole(minimum: int) -> Callable[[str, Any], int]:
    def check(name: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise DcganError(f"{name} must be a whole number, not {_kind(value)}")
        if value < minimum:
            raise DcganError(f"{name}={value}: give at least {minimum}")
        return value
    return check


def _seed(name: str, value: Any) -> int:
    value = _whole(0)(name, value)
    if value > MAX_SEED:
        raise DcganError(f"{name}={value}: give a seed from 0 to {MAX_SEED}")
    return value


def _one_of(*allowed: Any) -> Callable[[str, Any], Any]:
    def check(name: str, value: Any) -> Any:
        if not any(value is a or (isinstance(value, str) and value == a) for a in allowed):
            raise DcganError(f"{name}={value!r}: choose one of {', '.join(map(repr, allowed))}")
        return value
    return check


def _optional_str(name: str, value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    raise DcganError(f"{name} must be a string, not {_kind(value)}")


def _seeds(name: str, value: Any) -> list[int]:
    """A list of seeds, or the command line's text ("0-3,7")."""
    if isinstance(value, str):
        return _latent.parse_seeds(value, name)
    if isinstance(value, (list, tuple)):
        return [_seed(f"each of {name}", s) for s in value]
    raise DcganError(f"{name} must be a list of integer seeds or a string like '0-3,7', not {_kind(value)}")


def _images(name: str, value: Any) -> Any:
    import torch

    if isinstance(value, torch.Tensor):
        return value
    if isinstance(value, (str, os.PathLike)):
        return [value]  # one file
    if isinstance(value, (list, tuple)) and value and all(isinstance(p, (str, os.PathLike)) for p in value):
        return list(value)
    what = _kind(value) if not isinstance(value, (list, tuple)) else "an empty or mixed list"
    raise DcganError(f"{name} must be image files or a tensor of images, not {what} (give a list of "
                     "paths or a uint8 (N, C, H, W) tensor)")


def _target_or_tensor(name: str, value: Any) -> Any:
    import torch

    return value if isinstance(value, torch.Tensor) else _path(name, value)


def _generator(name: str, value: Any) -> Any:
    from torch import nn

    if isinstance(value, nn.Module) and isinstance(getattr(value, "noise_dim", None), int):
        return value
    raise DcganError(f"{name} must be a generator from dcgan.load_generator, not {_kind(value)}")


def _grid(name: str, value: Any) -> Any:
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, (list, tuple)) and len(value) == 2:
        return tuple(_whole(1)(f"each of {name}", v) for v in value)
    raise DcganError(f"{name} must be 'ROWSxCOLS' or (rows, cols), not {_kind(value)}")


def _metrics(name: str, value: Any) -> tuple[str, ...]:
    known = _metrics_pkg.METRICS
    if isinstance(value, str):
        value = (value,)
    if not isinstance(value, (list, tuple)) or not value or not all(v in known for v in value):
        raise DcganError(f"{name} must name some of {', '.join(known)}, not {value!r}")
    return tuple(value)


def _flag(name: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    raise DcganError(f"{name} must be True or False, not {_kind(value)}")


def _log(name: str, value: Any) -> Any:
    if value is None or callable(value):
        return value
    raise DcganError(f"{name} must be a function taking one line of text, or None, not {_kind(value)}")


def _settings(name: str, value: Any) -> Any:
    if value is None or isinstance(value, dict):
        return value
    raise DcganError(f"{name} must be a dict of settings (or give them as keyword arguments), not {_kind(value)}")


def _classes(name: str, value: Any) -> Any:
    ok = (lambda v: isinstance(v, str) or (isinstance(v, int) and not isinstance(v, bool)))
    if value is None or ok(value) or (isinstance(value, (list, tuple)) and value and all(map(ok, value))):
        return value
    raise DcganError(f"{name} must be a class label, a class name, 'all' or a list of them, not {_kind(value)}")


def _data(name: str, value: Any) -> Any:
    if value is None or isinstance(value, (str, os.PathLike)):
        return value
    raise DcganError(f"{name} must be a data set name (`dcgan data list`) or a folder, not {_kind(value)}")


def _config(name: str, value: Any) -> Any:
    return value if value is None or isinstance(value, dict) else _path(name, value)


# One check per argument name, shared by every function that takes it.
CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "target": _path, "n": _whole(1), "seed": _seed, "out": _optional_path, "device": _optional_str,
    "batch_size": _whole(1), "bn": _one_of(None, *BN_MODES), "ema": _one_of(None, True, False),
    "images": _images, "G": _generator, "steps": _whole(1), "method": _one_of(*_latent.METHODS),
    "seeds": _seeds, "a": _seeds, "b": _seeds, "c": _seeds, "fmt": _one_of(None, *_export_mod.FORMATS),
    "data": _data, "features": _one_of(*_FEATURE_KINDS), "grid": _grid,
    "data_dir": _optional_path, "metrics": _metrics, "split": _one_of(None, "train", "test", HELD_OUT), "log": _log,
    "progress": _flag, "overrides": _settings, "resume": _optional_path, "dry_run": _flag,
    "config": _config, "classes": _classes, "to_class": _classes,
}


def _checked(fn: Callable, **special: Callable[[str, Any], Any]) -> Callable:
    """``fn`` with every argument checked (and tidied: "0-3" seeds become a list) by CHECKS."""
    signature = inspect.signature(fn)

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            bound = signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise DcganError(f"{fn.__name__}(): {exc}") from None
        for name, value in list(bound.arguments.items()):
            if signature.parameters[name].kind is inspect.Parameter.VAR_KEYWORD:
                continue  # train's settings: checked against TrainConfig by training/config.py
            check = special.get(name) or CHECKS.get(name)
            if check is not None:
                bound.arguments[name] = check(name, value)
        return fn(*bound.args, **bound.kwargs)

    return wrapper


train = _checked(_run.train)
load_generator = _checked(_loading.load_generator)
load_discriminator = _checked(_loading.load_discriminator)
sample = _checked(_sampling.sample)
generate = _checked(_sampling.generate)
discriminate = _checked(_sampling.discriminate)
interpolate = _checked(_latent.interpolate, out=_path)
arithmetic = _checked(_latent.arithmetic, out=_path)
export = _checked(_export_mod.export)


evaluate = _checked(_metrics_pkg.evaluate, target=_target_or_tensor)


__all__ = ["train", "load_generator", "load_discriminator", "sample", "generate", "discriminate",
           "evaluate", "interpolate", "arithmetic", "export", "DcganError", "__version__"]
