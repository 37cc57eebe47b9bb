"""The command line: one-line errors for bad flags (after the verb's usage), every verb's --help
(examples, help for every argument, choices for closed sets), output suffixes checked before any
work, dcgan summary and models, dcgan data list, fetch and show."""

from __future__ import annotations

import argparse

import pytest
from PIL import Image

from dcgan.cli import build_parser, main


def _parsers() -> dict[str, argparse.ArgumentParser]:
    """``dcgan`` and every verb and sub-verb, by the command that reaches it."""
    found = {}

    def walk(name: str, parser: argparse.ArgumentParser) -> None:
        found[name] = parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for verb, sub in action.choices.items():
                    walk(f"{name} {verb}", sub)

    walk("dcgan", build_parser())
    return found


PARSERS = _parsers()


def _closed_sets() -> dict[str, set]:
    """Each flag whose values are a closed set, and the registry that defines the set."""
    from dcgan.data.holdout import HELD_OUT
    from dcgan.generation.batchnorm import BN_MODES
    from dcgan.generation.export import FORMATS
    from dcgan.generation.latent import METHODS
    from dcgan.metrics.features import KINDS
    from dcgan.models import PRESETS
    from dcgan.training import config
    from dcgan.training.losses import LOSSES
    from dcgan.training.updates import UPDATES

    return {"model": set(PRESETS), "preset": set(PRESETS), "loss": set(LOSSES), "update": set(UPDATES),
            "precision": set(config.PRECISIONS), "adam": set(config.ADAM_IMPLS),
            "cuda_graphs": set(config.CUDA_GRAPHS), "on_nan": set(config.ON_NAN),
            "on_failure": set(config.ON_FAILURE), "lr_schedule": set(config.SCHEDULES),
            "gamma_schedule": set(config.SCHEDULES), "sample_bn": set(BN_MODES), "bn": set(BN_MODES),
            "method": set(METHODS), "fmt": set(FORMATS), "features": set(KINDS),
            "only": {"train", "sample"}, "split": {"train", "test", HELD_OUT}}


@pytest.mark.parametrize("command", sorted(PARSERS))
def test_every_help_has_examples_argument_help_and_choices(command):
    from dcgan.metrics.classifiers import CLASSIFIERS
    from dcgan.models import PRESETS

    parser = PARSERS[command]
    text = parser.format_help()
    examples = [line.strip() for line in text.partition("\nexamples:\n")[2].splitlines()]
    assert sum(line.startswith("dcgan ") for line in examples) >= 2, f"{command} --help: no examples"
    closed = _closed_sets()
    if command == "dcgan evaluator train":
        closed["data"] = set(CLASSIFIERS)  # elsewhere --data also takes a folder of images
    from_preset = set().union(*(p.recipe for p in PRESETS.values()),
                              *(r for p in PRESETS.values() for r in p.data_recipes.values())) | {"lr", "data"}
    for action in parser._actions:
        name = "/".join(action.option_strings) or action.dest
        assert action.help and action.help is not argparse.SUPPRESS, f"{command} {name}: no help text"
        if action.dest in closed:
            assert action.choices is not None and set(action.choices) - {None} == closed[action.dest], \
                f"{command} {name}: choices {action.choices}"
        if command in ("dcgan train", "dcgan bench") and action.dest in from_preset:
            assert "preset" in action.help, f"{command} {name}: say the default is the preset's"
    if command == "dcgan train":  # the presets, each with its one-line summary
        assert all(f"{p.name}  " in text and p.summary in text for p in PRESETS.values())


@pytest.mark.parametrize("argv, usage", [
    (["export"], "usage: dcgan export RUN_DIR|CHECKPOINT --out FILE [options]"),
    (["data", "show"], "usage: dcgan data show name [options]"),
    (["sample", "run", "--n", "x"], "usage: dcgan sample RUN_DIR|CHECKPOINT [options]"),
    (["evaluator"], "usage: dcgan evaluator ACTION ..."),
])
def test_a_verbs_flag_error_prints_that_verbs_usage(argv, usage, capsys):
    assert main(argv) == 2
    lines = capsys.readouterr().err.splitlines()
    assert lines[0].startswith(usage) and len(lines) == 2
    assert lines[1].startswith(f"error: {usage.split()[1]} {usage.split()[2]}")


@pytest.mark.parametrize("argv, names", [
    (["sample", "RUN", "--out", "x.jpg"], ".png, .npz or a folder/"),
    (["export", "RUN", "--out", "g.bin"], ".safetensors, .pt, .ts, .torchscript, .onnx"),
    (["export", "RUN", "--out", "g"], "--format"),
    (["interpolate", "RUN", "--out", "w.mp4"], ".gif, .png"),
    (["arithmetic", "RUN", "--a", "1", "--b", "2", "--c", "3", "--out", "a.gif"], ".png"),
    (["eval", "RUN", "--out", "r.txt"], ".json"),
    (["report", "RUN", "--out", "r.pdf"], ".html"),
    (["data", "show", "mnist", "--out", "p.jpg"], ".png"),
    (["evaluator", "train", "mnist", "--out", "c.pt"], ".safetensors"),
    (["explore", "RUN", "--screenshot", "s.jpg"], ".png"),
])
def test_an_output_suffix_no_format_writes_names_those_that_exist(tiny_run, argv, names, capsys):
    argv = [str(tiny_run) if a == "RUN" else a for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no format is written as" in err and names in err


def test_export_refuses_a_suffix_that_contradicts_format(tiny_run, capsys):
    assert main(["export", str(tiny_run), "--format", "onnx", "--out", "g.safetensors"]) == 2
    assert "names a safetensors file but --format is onnx; use .onnx" in capsys.readouterr().err


@pytest.mark.parametrize("argv,message", [
    (["--model", "nope"], "argument --model: invalid choice: 'nope'"),
    (["--data", "nope"], "unknown data set 'nope'"),
    (["--batch-size", "0"], "--batch-size must be at least 1"),
    (["--loss", "mse"], "dcgan train: argument --loss: invalid choice: 'mse'"),
    (["--adam", "bogus", "--dry-run"], "argument --adam: invalid choice: 'bogus'"),
])
def test_bad_flags_are_one_line_errors(tiny_mnist, argv, message, capsys):
    assert main(["train", "--max-steps", "1", *argv]) == 2
    lines = capsys.readouterr().err.splitlines()  # one line; a flag error after train's short usage
    assert message in lines[-1] and (len(lines) == 1 or (len(lines) == 2 and lines[0].startswith(
        "usage: dcgan train [options]")))


def test_summary_and_models_commands(capsys):
    for argv in (["summary", "--model", "tf-tutorial"], ["summary", "tf-tutorial"]):  # train's flag, or the old way
        assert main(argv) == 0
        out = capsys.readouterr().out
        assert "Total params: 2,330,944" in out and "Total params: 212,865" in out
    assert main(["summary"]) == 2 and "dcgan summary --model tf-tutorial" in capsys.readouterr().err
    assert main(["summary", "lean", "--model", "dcgan64"]) == 2 and "give one" in capsys.readouterr().err
    assert main(["models"]) == 0
    assert "tf-tutorial" in capsys.readouterr().out


def test_data_show_writes_a_5x5_grid(tiny_mnist, tmp_path):
    assert main(["data", "show", "mnist", "--out", str(tmp_path / "p.png")]) == 0
    with Image.open(tmp_path / "p.png") as img:
        assert img.size == (2 * (5 * 30 + 2),) * 2


def test_cli_lists_and_shows_every_data_set(data_dir, photo_folder, emoji_tarball, tmp_path, capsys):
    assert main(["data", "list"]) == 0
    out = capsys.readouterr().out
    for name in ("mnist", "fashion-mnist", "cifar10", "emoji", "PATH"):
        assert name in out
    assert main(["data", "fetch", "emoji"]) == 0
    assert "4 train images" in capsys.readouterr().out
    assert main(["data", "show", "emoji:black", "--out", str(tmp_path / "e.png")]) == 0
    assert Image.open(tmp_path / "e.png").mode == "RGB"
    assert main(["data", "show", str(photo_folder), "--resolution", "24", "--out", str(tmp_path / "f.png")]) == 0
    assert (tmp_path / "f.png").exists()
    assert main(["data", "fetch", "fashion-mnist"]) == 2  # offline, nothing installed: one-line error
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith("error: could not fetch Fashion-MNIST")
