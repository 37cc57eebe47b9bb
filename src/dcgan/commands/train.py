"""``dcgan train``: every TrainConfig field as a flag; only flags given on the command line
override the preset (argparse defaults are suppressed), which is also what resume checks."""

from __future__ import annotations

import argparse
import json

from .options import S, add_arch, add_data_dir, add_device, add_recipe_speed, examples, output_path

ORDER = 10


def _presets() -> str:
    from ..models import PRESETS

    width = max(map(len, PRESETS))
    return "presets (--model; `dcgan models` adds their sizes):\n" + "\n".join(
        f"  {p.name:<{width}}  {p.summary}" for p in PRESETS.values())


def _clusters(text: str) -> int | str:
    """--clusters: a whole number or auto; anything else is argparse's one-line usage error."""
    if text.strip().lower() == "auto":
        return "auto"
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number of clusters, e.g. 50, or auto "
                                         "(0 turns clustering off)") from None


def add(sub) -> None:
    from ..generation.batchnorm import BN_MODES
    from ..models import PRESETS
    from ..training.config import AUGMENTS, CONDS, ON_FAILURE, ON_NAN, SCHEDULES
    from ..training.losses import LOSSES
    from ..training.updates import UPDATES

    p = sub.add_parser("train", help="train a GAN (the tutorials' notebooks as one command)",
                       description="Train a generator and a discriminator. Flags override the "
                       "preset's recipe (and --config's settings); `--dry-run` prints the resolved config.",
                       epilog=_presets() + "\n\n" + examples(
                           "dcgan train --model lean --data mnist",
                           "dcgan train --model dcgan64 --data emoji --epochs 25 --ema 0.999",
                           "dcgan train --model lean --data mnist --cond projection",
                           "dcgan train --config runs/0001-lean-mnist/config.json --seed 1",
                           "dcgan train --resume runs/0001-lean-mnist --epochs 10"),
                       argument_default=S)
    pre = "default: the preset's"
    augmented = ", ".join(f"{name}'s {pr.recipe['augment']}" for name, pr in PRESETS.items() if pr.recipe.get("augment"))
    p.add_argument("--model", choices=list(PRESETS), metavar="PRESET",
                   help="preset name (listed below), default tf-tutorial")
    p.add_argument("--data", help="data set name (`dcgan data list`) or a folder of images "
                   "(default: the preset's)")
    p.add_argument("--config", metavar="CONFIG_JSON", help="start from a run's config.json (every "
                   "setting of that run; the flags given here override it; a new run folder)")
    p.add_argument("--loss", choices=list(LOSSES), help=f"the objective ({pre})")
    p.add_argument("--update", choices=list(UPDATES), help=f"how D and G steps interleave ({pre})")
    p.add_argument("--epochs", type=int, help=f"passes over the data ({pre})")
    p.add_argument("--batch-size", type=int, help=f"images per step ({pre})")
    p.add_argument("--lr", type=float, help=f"learning rate of both G and D ({pre})")
    p.add_argument("--lr-g", type=float, help=f"G's learning rate ({pre})")
    p.add_argument("--lr-d", type=float, help=f"D's learning rate ({pre})")
    p.add_argument("--beta1", type=float, help=f"Adam's beta1 ({pre})")
    p.add_argument("--beta2", type=float, help=f"Adam's beta2 ({pre})")
    p.add_argument("--adam-eps", type=float, help=f"Adam's epsilon ({pre})")
    p.add_argument("--n-critic", type=int, help="D updates per G update (default 1)")
    p.add_argument("--gp-weight", type=float, help="WGAN-GP penalty weight (default: the loss's, 10 "
                   "for wgan-gp)")
    p.add_argument("--soft-labels", action="store_true", help="real targets U(0.7,1), fake U(0,0.3)")
    p.add_argument("--label-flip", type=float, help="fraction of D targets flipped (default 0)")
    p.add_argument("--g-dropout", type=float, help="dropout after G's hidden activations (default 0)")
    packed = ", ".join(f"{name} on {data}: {r['pack']}" for name, pr in PRESETS.items()
                       for data, r in pr.data_recipes.items() if "pack" in r)
    p.add_argument("--pack", type=int, metavar="M", help="PacGAN: D judges packs of M samples "
                   f"stacked along the channels (2 in PacDCGAN2); {pre} for the data set ({packed}), else 1: off")
    p.add_argument("--ema", type=float, metavar="DECAY", help="keep an exponential moving average of "
                   "G's weights with this decay (e.g. 0.999); grids, samples and exports use it "
                   f"({pre}, else 0: off)")
    p.add_argument("--r1", type=float, metavar="GAMMA", help="zero-centred gradient penalty "
                   f"GAMMA/2 E|grad D(x)|^2 on real images ({pre}, else 0: off)")
    p.add_argument("--r2", type=float, metavar="GAMMA", help="the same penalty on generated images "
                   f"({pre}, else 0: off)")
    p.add_argument("--reg-every", type=int, metavar="K", help="lazy regularisation: the R1/R2 "
                   f"penalties every K steps, scaled by K ({pre}, else 1)")
    p.add_argument("--spectral-norm", action="store_true", help="spectral normalisation of D's conv "
                   "and linear layers")
    p.add_argument("--cond", choices=CONDS, help="class-conditional G and D (presets "
                   f"{', '.join(n for n, pr in PRESETS.items() if pr.conditional)}; labelled data): "
                   "projection (D projects a class embedding on its features) or acgan (D also "
                   "classifies); default none")
    p.add_argument("--clusters", type=_clusters, metavar="K", help="no labels needed: condition G and D "
                   "on K clusters of the training images (spectral clustering of their nearest-neighbour "
                   "graph; a self-conditioned GAN; with --cond projection unless --cond says otherwise); "
                   "sampling draws the clusters in proportion to their size, so samples follow the whole "
                   "data set; auto: 50 for 10,000 images or more, else off (the preset's: lean auto, "
                   "others 0 = off)")
    p.add_argument("--augment", metavar="POLICY", help="differentiable augmentation of every image D "
                   f"sees: a comma-separated subset of {','.join(AUGMENTS)} ({pre}: none, {augmented}; "
                   "--augment '' turns it off)")
    p.add_argument("--lr-schedule", choices=SCHEDULES, help="learning rate over the run (default "
                   "constant)")
    p.add_argument("--lr-end", type=float, metavar="FRACTION", help="where cosine/linear decay ends, "
                   "as a fraction of --lr (default 0.1)")
    p.add_argument("--gamma-schedule", choices=SCHEDULES, help="R1/R2 gamma over the run (default "
                   "constant)")
    p.add_argument("--gamma-end", type=float, metavar="FRACTION", help="where its decay ends "
                   "(default 0.1)")
    p.add_argument("--seed", type=int, help="seed of weights, noise and data order (default 0)")
    p.add_argument("--max-steps", type=int, help="stop after N steps in total")
    p.add_argument("--max-minutes", type=float, metavar="M", help="stop once the run has trained M "
                   "minutes in all (grids and checkpoints not counted), e.g. 10; resumable")
    p.add_argument("--limit", type=int, help="train on the first N images only")
    p.add_argument("--resolution", type=int, help="image size (default: the data set's)")
    p.add_argument("--channels", type=int, help="1 (grey) or 3 (RGB); default: the data set's")
    add_arch(p)
    p.add_argument("--ckpt-every", type=int, help=f"checkpoint every N epochs ({pre})")
    p.add_argument("--ckpt-every-steps", type=int, help="also checkpoint every N steps")
    p.add_argument("--keep", type=int, help="checkpoints kept (default 3; 0: all)")
    p.add_argument("--log-every", type=int, help="steps per stats.jsonl line (default 50)")
    add_device(p, None)
    add_recipe_speed(p)
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    p.add_argument("--on-nan", choices=ON_NAN, help="what a non-finite loss or weight does: stop "
                   "(default) or roll back to the last good checkpoint at halved learning rates")
    p.add_argument("--tensorboard", action="store_true", help="log scalars and sample grids for "
                   "TensorBoard in RUN/tensorboard/ (needs the tensorboard package)")
    from ..training.config import TRACKERS

    p.add_argument("--log-to", metavar="TRACKERS", help="experiment trackers, a comma-separated "
                   f"subset of {','.join(TRACKERS)} (wandb and mlflow: pip install 'dcgan[trackers]'; "
                   "WANDB_MODE=offline, MLFLOW_TRACKING_URI pick where they write)")
    p.add_argument("--no-report", dest="report", action="store_false", help="no report.html at the end")
    p.add_argument("--eval-every", type=int, metavar="K", help="every K epochs: FID (2k samples, "
                   "classifier features), modes and KL to metrics.jsonl; keeps the best checkpoint. "
                   "Default: where the data set has an evaluator, a light watch every epoch (modes "
                   "of 1k samples, warnings only); 0: neither")
    p.add_argument("--on-failure", choices=ON_FAILURE, help="what --eval-every does when it sees mode "
                   "collapse, D winning or frozen losses (default warn)")
    p.add_argument("--sample-bn", choices=BN_MODES,
                   help="BatchNorm statistics of the sample grids: precise (default; re-estimated for "
                        "the current weights) or running (the tutorial's training=False, which lags "
                        "early in training)")
    add_data_dir(p)
    p.add_argument("--out", type=output_path, help="run folder (default: a new numbered folder under runs/)")
    p.add_argument("--resume", metavar="RUN_DIR", help="continue a run from its newest good checkpoint")
    p.add_argument("--dry-run", action="store_true", help="print the resolved config and exit")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..training.run import train

    opts = dict(vars(args))
    for key in ("func", "command"):
        opts.pop(key, None)
    resume, dry = opts.pop("resume", None), opts.pop("dry_run", False)
    config = opts.pop("config", None)
    lr = opts.pop("lr", None)
    if lr is not None:
        opts.setdefault("lr_g", lr)
        opts.setdefault("lr_d", lr)
    if "arch_options" in opts:
        opts["arch_options"] = dict(opts["arch_options"])
    run_dir = train(opts, resume=resume, dry_run=dry, config=config)
    if not dry:
        print(json.dumps({"run": str(run_dir)}))
    return 0
