"""The training configuration: preset defaults, then the user's flags, resolved once and saved.

``resolve()`` turns a few overrides into a complete, JSON-serialisable ``TrainConfig``. The run
folder's ``config.json`` holds exactly that object, written before step 0, so a run can always be
repeated or resumed from its folder alone.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from ..errors import DcganError
from ..generation.batchnorm import BN_MODES
from ..models import get_preset
from .losses import LOSSES
from .updates import UPDATES

# The closed sets of values, here and nowhere else (the CLI's choices= read them too).
PRECISIONS = ("fp32", "bf16", "fp16", "auto")  # auto: devices.resolve_precision
ADAM_IMPLS = ("auto", "foreach", "fused", "for-loop")  # the same math; speed.py picks for auto
CUDA_GRAPHS = ("auto", "on", "off")                    # graphs.py
ON_NAN = ("stop", "rollback")                          # what a non-finite loss or weight does
ON_FAILURE = ("warn", "stop", "rollback")              # what a health check (health.py) does
SCHEDULES = ("constant", "cosine", "linear")           # schedule.py: lr and R1/R2 gamma over the run
AUGMENTS = ("translation", "cutout", "color")          # augment.py: DiffAugment's transforms
TRACKERS = ("tensorboard", "wandb", "mlflow")          # trackers.py: --log-to
CONDS = ("none", "projection", "acgan")                # --cond: how D reads the class (models/lean.py)

# Fields a resumed run may change; every other difference from the saved config is refused.
RESUMABLE = {"epochs", "max_steps", "max_minutes", "log_every", "ckpt_every", "ckpt_every_steps", "keep", "device",
             "precision", "compile", "adam", "channels_last", "cuda_graphs", "progress", "eval_every", "on_nan",
             "on_failure", "tensorboard", "log_to", "report", "sample_bn"}


@dataclass
class TrainConfig:
    model: str = "tf-tutorial"
    data: str | None = None             # a data set name or a folder; None: the preset's
    loss: str | None = None             # None: the preset's
    update: str | None = None           # how D and G steps interleave; None: the preset's
    epochs: int | None = None
    batch_size: int | None = None
    lr_g: float | None = None
    lr_d: float | None = None
    beta1: float | None = None
    beta2: float | None = None
    adam_eps: float | None = None
    n_critic: int = 1                   # D updates per G update
    gp_weight: float | None = None      # WGAN-GP lambda (only with --loss wgan-gp)
    soft_labels: bool = False           # real targets U(0.7, 1.0), fake U(0, 0.3)
    label_flip: float = 0.0             # fraction of D's targets swapped
    g_dropout: float = 0.0              # dropout after G's hidden activations
    pack: int = 1                       # PacGAN: D judges packs of this many samples (1: off)
    ema: float = 0.0                    # decay of an EMA of G's weights (e.g. 0.999); 0: none
    r1: float = 0.0                     # gamma of the zero-centred penalty on real images (0: off)
    r2: float = 0.0                     # gamma of the zero-centred penalty on fake images (0: off)
    reg_every: int = 1                  # lazy regularisation: R1/R2 every K steps, scaled by K
    spectral_norm: bool = False         # spectral normalisation of D's conv and linear layers
    cond: str = "none"                  # class-conditional G and D: none | projection | acgan
    clusters: int | str = 0             # condition on this many clusters of the images (clusters.py); 0: off;
                                        # "auto": clusters.AUTO_K of a set of AUTO_MIN_IMAGES or more, else off
    augment: str = ""                   # DiffAugment policy for every image D sees, e.g. "translation,cutout"
    lr_schedule: str = "constant"       # constant | cosine | linear decay over the run's steps
    lr_end: float = 0.1                 # the decaying schedules end at this fraction of --lr
    gamma_schedule: str = "constant"    # the same for R1/R2's gamma
    gamma_end: float = 0.1
    seed: int = 0
    max_steps: int | None = None
    max_minutes: float | None = None    # stop once the run has trained this long in all
    limit: int | None = None            # train on the first N images only
    resolution: int | None = None       # None: the data set's, if the architecture can build it
    channels: int | None = None         # None: the data set's
    arch_options: dict[str, Any] = field(default_factory=dict)  # e.g. {"ngf": 64}
    ckpt_every: int | None = None       # epochs
    ckpt_every_steps: int | None = None
    keep: int = 3
    log_every: int = 50                 # steps between stats.jsonl lines
    device: str = "auto"
    precision: str = "fp32"
    compile: bool = False
    adam: str = "auto"                  # auto | foreach | fused | for-loop (same math; see speed.py)
    channels_last: bool | None = None   # NHWC activations (same math); None: per device (speed.py)
    cuda_graphs: str = "auto"           # auto | on | off: replay each step as a CUDA graph (graphs.py)
    progress: bool = True               # a progress bar when stderr is a terminal
    on_nan: str = "stop"
    tensorboard: bool = False           # TensorBoard event files in RUN/tensorboard/ (= tensorboard in log_to)
    log_to: str = ""                    # experiment trackers, a comma-separated subset of TRACKERS
    report: bool = True                 # report.html at the end of training
    eval_every: int | None = None       # epochs between evaluations (training/health.py); None: the
                                        # default watch where the data has an evaluator; 0: off
    on_failure: str = "warn"            # warn | stop | rollback when a health check (health.py) fires
    sample_bn: str = "precise"          # BatchNorm statistics for grids and samples (generation/batchnorm.py)
    data_dir: str | None = None
    out: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


def resolve(overrides: dict[str, Any]) -> TrainConfig:
    """Fill every None from the preset's recipe and check the combination makes sense."""
    names = {f.name for f in fields(TrainConfig)}
    unknown = set(overrides) - names
    if unknown:
        raise DcganError(f"unknown setting(s) {sorted(unknown)}")
    given = check_types({k: v for k, v in overrides.items() if v is not None})
    cfg = TrainConfig(**given)
    preset = get_preset(cfg.model)
    if cfg.data is None:
        cfg.data = preset.data  # each preset trains on its tutorial's data set unless told otherwise
    recipe = {**preset.recipe, **preset.data_recipes.get(cfg.data.partition(":")[0], {})}  # a data set's own over the preset's
    for key, value in recipe.items():  # the preset's recipe, where the user gave nothing
        if key not in names:  # a typo in the preset table must not vanish silently
            raise DcganError(f"preset {preset.name!r} sets an unknown recipe key {key!r}")
        if key not in given:
            setattr(cfg, key, copy.deepcopy(value))
    for flag, value, allowed in (("--loss", cfg.loss, LOSSES), ("--update", cfg.update, UPDATES),
                                 ("--precision", cfg.precision, PRECISIONS), ("--adam", cfg.adam, ADAM_IMPLS),
                                 ("--cuda-graphs", cfg.cuda_graphs, CUDA_GRAPHS),
                                 ("--on-nan", cfg.on_nan, ON_NAN), ("--on-failure", cfg.on_failure, ON_FAILURE),
                                 ("--sample-bn", cfg.sample_bn, BN_MODES), ("--cond", cfg.cond, CONDS),
                                 ("--lr-schedule", cfg.lr_schedule, SCHEDULES),
                                 ("--gamma-schedule", cfg.gamma_schedule, SCHEDULES)):
        if value not in allowed:
            raise DcganError(f"unknown {flag} {value!r}; choose one of {', '.join(allowed)}")
    parts = [a for a in cfg.augment.replace(" ", "").split(",") if a] if isinstance(cfg.augment, str) else None
    if parts is None or any(a not in AUGMENTS for a in parts) or len(set(parts)) != len(parts):
        raise DcganError(f"--augment {cfg.augment!r}: give a comma-separated subset of {', '.join(AUGMENTS)}, "
                         "e.g. --augment translation,cutout")
    cfg.augment = ",".join(a for a in AUGMENTS if a in parts)  # one spelling per policy
    cfg.log_to, cfg.tensorboard = parse_trackers(cfg.log_to, cfg.tensorboard)
    if not LOSSES[cfg.loss].separable and cfg.update == "keras-gan":
        raise DcganError(f"--loss {cfg.loss} pairs each real output with a fake one, but the keras-gan "
                         "update steps D on real and fake half batches separately; use --update "
                         "simultaneous or alternating")
    if cfg.clusters == "auto":  # the lean recipe's: counted once the images are read (Trainer)
        _auto_clusters(cfg, preset)
    elif cfg.clusters:  # a self-conditioned run: the clusters are its classes (clusters.py)
        from .clusters import check_count

        check_count(cfg.clusters)
        preset.check_conditional("--clusters")
        if cfg.cond == "none":
            cfg.cond = "projection"  # --clusters alone: D reads the cluster by projection
    _check_cond(cfg)
    if cfg.pack < 1:
        raise DcganError(f"--pack {cfg.pack}: give 1 (no packing) or more samples per pack")
    per_d_batch = cfg.batch_size // 2 if cfg.update == "keras-gan" else cfg.batch_size
    if per_d_batch % cfg.pack:
        raise DcganError(f"--pack {cfg.pack} must divide the batches D sees ({per_d_batch} images"
                         f"{' per half batch under keras-gan updates' if cfg.update == 'keras-gan' else ''}); "
                         "change --batch-size or --pack")
    if not 0.0 <= cfg.ema < 1.0:
        raise DcganError(f"--ema {cfg.ema}: give a decay in [0, 1), e.g. 0.999 (0 turns it off)")
    if cfg.gp_weight is None:
        cfg.gp_weight = LOSSES[cfg.loss].gradient_penalty
    for name in ("epochs", "batch_size", "log_every", "n_critic", "reg_every"):
        if getattr(cfg, name) < 1:
            raise DcganError(f"--{name.replace('_', '-')} must be at least 1")
    for name in ("max_steps", "limit", "ckpt_every", "ckpt_every_steps"):
        value = getattr(cfg, name)
        if value is not None and value < 1:
            raise DcganError(f"--{name.replace('_', '-')} must be at least 1")
    if cfg.max_minutes is not None and not (_number(cfg.max_minutes) and 0 < cfg.max_minutes <= 1e6):
        raise DcganError(f"--max-minutes {cfg.max_minutes}: give the minutes of training, e.g. 10")
    if cfg.max_minutes is not None and int(os.environ.get("WORLD_SIZE", "1") or 1) > 1:
        raise DcganError("--max-minutes is for one process (torchrun's ranks would stop at different "
                         "steps); give --max-steps instead")
    if not 0.0 <= cfg.label_flip < 0.5 or not 0.0 <= cfg.g_dropout < 1.0:
        raise DcganError("--label-flip must be in [0, 0.5) and --g-dropout in [0, 1)")
    if cfg.eval_every is not None and not (isinstance(cfg.eval_every, int) and cfg.eval_every >= 0):
        raise DcganError(f"--eval-every {cfg.eval_every}: give a number of epochs, or 0 for no "
                         "evaluation and no watch")
    _check_numbers(cfg)
    return cfg


def _auto_clusters(cfg: TrainConfig, preset: Any) -> None:
    """``--clusters auto`` stays auto (the Trainer counts the images) where a clustered run could
    train, and is off where it could not: labels asked for (--cond), a preset without classes, or
    a combination a conditional run refuses (the keras-gan update, WGAN-GP), or --pack (packs and
    clusters together: Stacked MNIST KL 0.110 against 0.068 clustered and 0.057 packed at 15,008
    steps, BENCHMARKS.md "a wider lean, and packs"; --clusters K --pack M still combines them)."""
    if cfg.cond != "none" or not preset.conditional or cfg.pack > 1:
        cfg.clusters = 0
        return
    try:
        _check_cond(dataclasses.replace(cfg, cond="projection"))
    except DcganError:
        cfg.clusters = 0


def _check_cond(cfg: TrainConfig) -> None:
    """What a class-conditional run cannot combine with, each refused in one line."""
    if cfg.cond == "none":
        return
    if UPDATES[cfg.update].no_cond:
        raise DcganError(f"--cond {cfg.cond}: {UPDATES[cfg.update].no_cond}")
    if cfg.pack > 1 and cfg.cond == "acgan":
        raise DcganError(f"--cond acgan with --pack {cfg.pack}: a pack mixes classes and the auxiliary "
                         "classifier names one; use --cond projection (it reads each image's class) or --pack 1")
    if cfg.gp_weight or LOSSES[cfg.loss].gradient_penalty:
        raise DcganError(f"--cond {cfg.cond}: the WGAN-GP penalty interpolates images of different "
                         "classes; use another --loss (rpgan with --r1/--r2 keeps a penalty)")


def parse_trackers(log_to: Any, tensorboard: Any) -> tuple[str, bool]:
    """--log-to's trackers in one spelling (TRACKERS' order), --tensorboard folded in."""
    parts = [t for t in log_to.replace(" ", "").split(",") if t] if isinstance(log_to, str) else None
    if parts is None or any(t not in TRACKERS for t in parts):
        raise DcganError(f"--log-to {log_to!r}: give a comma-separated subset of {', '.join(TRACKERS)}, "
                         "e.g. --log-to tensorboard,wandb")
    chosen = set(parts) | ({"tensorboard"} if tensorboard is True else set())
    return ",".join(t for t in TRACKERS if t in chosen), "tensorboard" in chosen


MAX_SEED = 2**63 - 1  # torch.manual_seed's range
KINDS = {"int": "a whole number", "float": "a number", "bool": "True or False", "str": "a string (or a path)",
         "dict[str, Any]": "a dict"}


def check_types(given: dict[str, Any]) -> dict[str, Any]:
    """Each given setting has its field's type (a path where a string goes becomes one), so a wrong
    type is a sentence here, not a TypeError mid-run."""
    types = {f.name: f.type for f in fields(TrainConfig)}
    out = {}
    for key, value in given.items():
        allowed = [t.strip() for t in types[key].split("|") if t.strip() != "None"] if key in types else []
        if "str" in allowed and isinstance(value, os.PathLike):
            value = os.fspath(value)  # data, data_dir, out: a pathlib.Path is fine
        ok = any(isinstance(value, bool) if t == "bool" else
                 not isinstance(value, bool) and isinstance(value, {"int": int, "float": (int, float), "str": str,
                                                                    "dict[str, Any]": dict}[t])
                 for t in allowed) if allowed else True  # unknown names are refused by resolve
        if not ok:
            raise DcganError(f"setting {key}={value!r} must be {' or '.join(KINDS[t] for t in allowed)} "
                             f"(got {type(value).__name__})")
        out[key] = value
    return out


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _check_numbers(cfg: TrainConfig) -> None:
    """The numeric settings' ranges, so a typo is one line here, not a traceback mid-run."""
    for flag, value in (("--lr-g", cfg.lr_g), ("--lr-d", cfg.lr_d)):
        if not (_number(value) and value > 0):
            raise DcganError(f"{flag} {value}: give a positive learning rate, e.g. 2e-4")
    for flag, value in (("--beta1", cfg.beta1), ("--beta2", cfg.beta2)):
        if not (_number(value) and 0 <= value < 1):
            raise DcganError(f"{flag} {value}: Adam's betas are in [0, 1), e.g. --beta1 0.5")
    if not (_number(cfg.adam_eps) and cfg.adam_eps > 0):
        raise DcganError(f"--adam-eps {cfg.adam_eps}: give a small positive number, e.g. 1e-8")
    for name in ("r1", "r2"):
        value = getattr(cfg, name)
        if not (_number(value) and value >= 0):
            raise DcganError(f"--{name} {value}: give a gamma >= 0 (0 turns it off), e.g. --{name} 0.1")
    for name in ("lr_end", "gamma_end"):
        value = getattr(cfg, name)
        if not (_number(value) and 0.0 <= value <= 1.0):
            raise DcganError(f"--{name.replace('_', '-')} {value}: give the final fraction in [0, 1]")
    if not (_number(cfg.gp_weight) and cfg.gp_weight >= 0):
        raise DcganError(f"--gp-weight {cfg.gp_weight}: give a weight >= 0 (0 turns it off)")
    if not (isinstance(cfg.seed, int) and 0 <= cfg.seed <= MAX_SEED):
        raise DcganError(f"--seed {cfg.seed}: give an integer from 0 to {MAX_SEED}")
    if cfg.channels is not None and cfg.channels not in (1, 3):
        raise DcganError(f"--channels {cfg.channels}: give 1 (grey) or 3 (RGB)")
    if cfg.resolution is not None and not (isinstance(cfg.resolution, int) and 4 <= cfg.resolution <= 1024):
        raise DcganError(f"--resolution {cfg.resolution}: give a size from 4 to 1024 pixels")
    if not (isinstance(cfg.keep, int) and cfg.keep >= 0):
        raise DcganError(f"--keep {cfg.keep}: give how many checkpoints to keep, 0 for all")
    for key, value in cfg.arch_options.items():
        if not (isinstance(value, int) and 1 <= value <= 4096):
            raise DcganError(f"--arch {key}={value}: give a whole number from 1 to 4096")


def plan_arch(cfg: TrainConfig) -> dict[str, Any]:
    """The architecture the run will build, found without reading any image: the data set's
    registered size (or, for a folder, the preset's, which the folder is resized to), so a dry run
    refuses what the run would refuse."""
    from .. import data as datasets

    preset = get_preset(cfg.model)
    if cfg.data.partition(":")[0] in datasets.DATASETS:
        spec = datasets.get_spec(cfg.data)
        channels, resolution = spec.channels, spec.resolution
    elif Path(cfg.data).expanduser().is_dir():
        channels, resolution = 3, preset.resolution
    else:
        datasets.get_spec(cfg.data)  # raises: no such data set or folder, said plainly
    names = None
    auto = cfg.clusters == "auto"  # counted once the images are read: the rule is said, no classes built
    if cfg.clusters and not auto:  # the clusters are found in the images at the start of training
        from .clusters import names as cluster_names

        names = cluster_names(cfg.clusters)
    elif cfg.cond != "none":  # the data set's classes, as far as known before it is read
        from .conditioning import check_classes

        names = datasets.peek_classes(cfg.data, cfg.data_dir)
        if names is not None:
            check_classes(cfg.cond, cfg.data, names)
    arch = preset.arch(channels=cfg.channels or channels, resolution=cfg.resolution or resolution,
                       pack=cfg.pack, spectral_norm=cfg.spectral_norm, cond=cfg.cond, class_names=names,
                       **cfg.arch_options)
    if auto:
        from .clusters import auto_rule

        arch.update(class_source=auto_rule())
    elif cfg.clusters:
        arch.update(class_source="clusters", class_prior="each cluster's share of the images, found when training starts")
    elif cfg.cond != "none":
        arch.update(class_source="labels", class_prior="each class's share of the training labels, counted when training starts")
        if names is None:  # a named set not fetched yet: say so, not "0 classes"
            arch.update(classes=None, class_names=f"known once {cfg.data} is fetched (dcgan data fetch {cfg.data})")
    return arch


# What config.json records beside the settings (run.py's _write_config): facts of the run, not settings.
RECORDED = ("arch", "device_name", "world_size", "torch", "d_output")


def load_config(config: str | Path | dict[str, Any]) -> dict[str, Any]:
    """The settings of ``config`` (a dict, a run's config.json, or its run folder) to start a new
    run from: its own folder, so ``out`` is dropped, and the recorded facts with it."""
    import json

    if isinstance(config, (str, Path)):
        path = Path(config).expanduser()
        if path.is_dir():
            path = path / "config.json"
        try:
            config = json.loads(path.read_text())
        except FileNotFoundError:
            raise DcganError(f"--config {path}: no such file; give a run's config.json (or its run "
                             "folder)") from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise DcganError(f"--config {path} is not readable JSON ({exc}); give a run's config.json") from None
    if not isinstance(config, dict):
        raise DcganError(f"config must be a dict of settings or the path of a run's config.json, not "
                         f"{type(config).__name__}")
    return {k: v for k, v in config.items() if k not in RECORDED and k != "out"}


def merge_config(config: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``config``'s settings under the explicitly given ``overrides``. A setting the config only
    holds because another one implied it follows that one: a new --loss brings its own --gp-weight."""
    config = dict(config)
    if "loss" in overrides and "gp_weight" not in overrides:
        config.pop("gp_weight", None)
    return {**config, **{k: v for k, v in overrides.items() if v is not None}}


def check_resume(saved: TrainConfig, overrides: dict[str, Any]) -> TrainConfig:
    """The saved config with the allowed overrides applied; any other change is refused."""
    current = saved.to_dict()
    overrides = check_types({k: v for k, v in overrides.items() if v is not None})
    changed = sorted(k for k, v in overrides.items()
                     if v is not None and k in current and current[k] != v and k not in RESUMABLE)
    if changed:
        raise DcganError(f"cannot resume with a different {', '.join(changed)} (the run was trained "
                         f"with {', '.join(f'{k}={current[k]}' for k in changed)}); start a new run "
                         "instead, or resume without those flags")
    current.update({k: v for k, v in overrides.items() if v is not None and k in RESUMABLE})
    return TrainConfig.from_dict(current)
