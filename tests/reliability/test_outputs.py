"""No command but training writes into a run's checkpoint folder, and a new run never takes over a
folder whose checkpoints are not its own (issue 15, item 5)."""

from __future__ import annotations

import argparse
import shutil

import pytest

from dcgan import checkpoint as ckpt
from dcgan.cli import build_parser, main
from dcgan.commands.options import output_path
from dcgan.errors import DcganError
from dcgan.generation.export import export

from conftest import TINY_8_FLAGS, steps_of


def _options(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):
    """Every (command path, option action) of the CLI, subcommands included."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _options(sub, (*path, name))
        elif action.option_strings:
            yield path, action


OUTPUT_DESTS = {"out", "screenshot", "data_dir"}


def test_every_output_flag_is_guarded():
    seen = []
    for path, action in _options(build_parser()):
        writes = action.dest in OUTPUT_DESTS or action.metavar in ("FILE", "PNG")
        if writes:
            seen.append((" ".join(path), action.option_strings[0]))
            assert action.type is output_path, f"dcgan {' '.join(path)} {action.option_strings[0]}"
    flags = {f"{cmd} {flag}" for cmd, flag in seen}
    for expected in ("export --out", "sample --out", "interpolate --out", "arithmetic --out",
                     "report --out", "report --screenshot", "explore --screenshot", "eval --out",
                     "evaluator train --out", "data show --out", "train --out", "data fetch --data-dir"):
        assert expected in flags, expected


def _refused(err: str) -> bool:
    """The refusal is one error line, after the verb's short usage (cli.Parser: a flag error)."""
    lines = err.splitlines()
    return (len(lines) == 2 and lines[0].startswith("usage: dcgan ") and lines[1].startswith("error: ")
            and "only training writes" in lines[1])


def _bytes(folder):
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_export_over_a_checkpoint_is_refused(tiny_run, tmp_path, capsys):
    step = ckpt.all_checkpoints(tiny_run / "checkpoints")[-1]
    before = _bytes(step)
    link = tmp_path / "innocent"
    link.symlink_to(step)
    for out in (step / ckpt.G_FILE, tiny_run / "checkpoints" / "new.safetensors",
                link / ckpt.G_FILE, step):
        assert main(["export", str(tiny_run), "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert _refused(err), err
    with pytest.raises(DcganError, match="only training writes"):  # the API too
        export(tiny_run, "safetensors", link / ckpt.G_FILE)
    assert _bytes(step) == before and ckpt.verify(step) is None
    assert main(["sample", str(tiny_run), "--n", "4"]) == 0  # the run still samples


@pytest.mark.parametrize("argv", [
    ["sample", "RUN", "--out", "CK/x.npz"], ["sample", "RUN", "--out", "CK/"],
    ["interpolate", "RUN", "--out", "CK/walk.gif"], ["arithmetic", "RUN", "--a", "1", "--b", "2",
                                                     "--c", "3", "--out", "CK/a.png"],
    ["report", "RUN", "--out", "CK/report.html"], ["report", "RUN", "--screenshot", "CK/r.png"],
    ["explore", "RUN", "--screenshot", "CK/e.png"], ["eval", "RUN", "--out", "CK/m.json"],
    ["evaluator", "train", "mnist", "--out", "CK/c.safetensors"],
    ["data", "show", "mnist", "--out", "CK/p.png"], ["data", "fetch", "mnist", "--data-dir", "CK/data"],
    ["train", "--out", "CK/run"],
])
def test_no_command_writes_into_a_checkpoint_folder(tiny_run, argv, capsys):
    step = ckpt.all_checkpoints(tiny_run / "checkpoints")[-1]
    before = sorted(p.name for p in (tiny_run / "checkpoints").rglob("*"))
    argv = [a.replace("RUN", str(tiny_run)).replace("CK", str(step)) for a in argv]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert _refused(err), err
    assert sorted(p.name for p in (tiny_run / "checkpoints").rglob("*")) == before


def test_a_users_own_folder_named_checkpoints_is_fine(tiny_run, tmp_path):
    mine = tmp_path / "checkpoints"
    mine.mkdir()
    assert main(["export", str(tiny_run), "--out", str(mine / "g.safetensors")]) == 0


def test_new_run_into_a_folder_with_checkpoints_but_no_config_is_refused(tiny_mnist, tmp_path, capsys):
    run = tmp_path / "r"
    assert main(["train", *TINY_8_FLAGS, "--max-steps", "2", "--no-report", "--out", str(run)]) == 0
    # An old-looking checkpoint that sorts after the new run's first ones: the new run would
    # prune its own checkpoints as older and exit 0.
    shutil.copytree(ckpt.all_checkpoints(run / "checkpoints")[-1], run / "checkpoints" / "step_999999999")
    (run / "config.json").unlink()
    before = sorted(p.name for p in (run / "checkpoints").iterdir())
    capsys.readouterr()
    assert main(["train", *TINY_8_FLAGS, "--max-steps", "2", "--out", str(run)]) == 2
    err = capsys.readouterr().err
    assert "holds checkpoints but no config.json" in err and err.count("\n") == 1
    assert sorted(p.name for p in (run / "checkpoints").iterdir()) == before
    assert steps_of(run) == [2, 999999999]
