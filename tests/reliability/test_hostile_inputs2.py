"""Hostile and broken inputs, second round (issue 15): one-line errors, never tracebacks.

Loadable but wrong training states and weights metadata, a state that disagrees with its run's
config.json, image folders with entries that are not files, 16-bit PNGs, and flags that ask for
unbounded work. Each is refused (or read correctly) through the command line a user types.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from dcgan import checkpoint as ckpt
from dcgan.cli import main
from dcgan.data.folder import load_folder
from dcgan.images import load_image
from dcgan.metrics import read_folder


def reseal(folder: Path) -> None:
    """Rewrite the manifest to match whatever is in the folder now, as an attacker could."""
    manifest = json.loads((folder / ckpt.MANIFEST).read_text())
    manifest["files"] = {f: hashlib.sha256((folder / f).read_bytes()).hexdigest() for f in manifest["files"]}
    (folder / ckpt.MANIFEST).write_text(json.dumps(manifest))


def one_line_error(capsys, argv: list[str]) -> str:
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and err.count("\n") == 0 and len(err) > len("error: ") + 10, err
    return err


# -- item 7: loadable but wrong training_state.pt ----------------------------------------------------

def _good_state(run: Path) -> tuple[Path, dict]:
    folder = ckpt.newest_good(run)
    return folder, torch.load(folder / ckpt.STATE_FILE, weights_only=True)


@pytest.mark.parametrize("change,message", [
    (lambda s: [1, 2, 3], "holds a list"),
    (lambda s: {k: v for k, v in s.items() if k != "opt_g"}, "no 'opt_g'"),
    (lambda s: {**s, "step": "two"}, "step of type str"),
    (lambda s: {**s, "epoch": -1}, "epoch -1"),
    (lambda s: {**s, "opt_d": {"state": [], "param_groups": 1}}, "opt_d"),
    (lambda s: {**s, "rng": torch.zeros(3)}, "rng"),
    (lambda s: {**s, "config": {**s["config"], "data": "/etc"}}, "data='/etc'"),
    (lambda s: {**s, "config": {**s["config"], "lr_g": 1.0}}, "lr_g"),
    (lambda s: {**s, "arch": {**s["arch"], "noise_dim": 7}}, "arch"),
])
def test_wrong_training_state_is_one_line_and_never_overrides_config_json(tiny_run, capsys, change, message):
    folder, state = _good_state(tiny_run)
    torch.save(change(state), folder / ckpt.STATE_FILE)
    reseal(folder)
    err = one_line_error(capsys, ["train", "--resume", str(tiny_run), "--max-steps", "4"])
    assert message in err


def test_training_state_agreeing_with_config_json_still_resumes_its_settings(tiny_run):
    from dcgan.training import state as train_state

    folder, state = _good_state(tiny_run)
    cfg = train_state.resumed_config(train_state.load(folder), tiny_run)
    assert cfg["data"] == state["config"]["data"] and cfg["lr_g"] == state["config"]["lr_g"]


# -- item 8: weights metadata with wrong types or impossible values ----------------------------------

def _edited_weights(run: Path, tmp_path: Path, file: str, edit) -> Path:
    src = ckpt.newest_good(run) / file
    meta = ckpt.read_meta(src)
    out = tmp_path / f"edited-{file}"
    save_file(load_file(str(src)), str(out), metadata={k: json.dumps(v) for k, v in edit(meta).items()})
    return out


ARCH_EDITS = [
    (lambda m: {**m, "arch": {**m["arch"], "noise_dim": 0}}, "noise_dim 0"),
    (lambda m: {**m, "arch": {**m["arch"], "noise_dim": -5}}, "noise_dim -5"),
    (lambda m: {**m, "arch": {**m["arch"], "resolution": 8.5}}, "resolution 8.5"),
    (lambda m: {**m, "arch": {**m["arch"], "channels": 2}}, "channels 2"),
    (lambda m: {**m, "arch": [m["arch"]]}, "is a list"),
    (lambda m: {**m, "arch": {**m["arch"], "model": ["lean"]}}, "model"),
    (lambda m: {**m, "arch": {**m["arch"], "pack": True}}, "pack True"),
    (lambda m: {**m, "arch": {**m["arch"], "evil": 1}}, "evil"),
    (lambda m: {**m, "config": ["mnist"]}, "config that is a list"),
    (lambda m: {**m, "config": {**m["config"], "batch_size": -3}}, "batch size -3"),
    (lambda m: {**m, "config": {**m["config"], "sample_bn": 4}}, "sample_bn 4"),
    (lambda m: {**m, "step": 1.5}, "step 1.5"),
]


@pytest.mark.parametrize("edit,message", ARCH_EDITS)
def test_wrong_generator_metadata_is_one_line_in_every_command_that_loads_it(tiny_run, tmp_path, capsys,
                                                                            edit, message):
    g = str(_edited_weights(tiny_run, tmp_path, ckpt.G_FILE, edit))
    for argv in (["sample", g, "--n", "4", "--out", str(tmp_path / "s.png")],
                 ["interpolate", g, "--seeds", "1,2", "--out", str(tmp_path / "w.gif")],
                 ["export", g, "--out", str(tmp_path / "e.safetensors")],
                 ["eval", g, "--n", "16", "--data", "mnist"]):
        assert message in one_line_error(capsys, argv), argv


@pytest.mark.parametrize("edit,message", ARCH_EDITS[:8])
def test_wrong_discriminator_metadata_is_one_line(tiny_run, tmp_path, capsys, edit, message):
    d = _edited_weights(tiny_run, tmp_path, ckpt.D_FILE, edit)
    Image.new("L", (28, 28)).save(tmp_path / "x.png")
    assert message in one_line_error(capsys, ["discriminate", str(d), str(tmp_path / "x.png")])


# -- items 3 and 10: unbounded flags, image bombs -------------------------------------------------------

@pytest.mark.parametrize("argv,message", [
    (["interpolate", "RUN", "--seeds", "1,2", "--steps", str(10**9), "--out", "w.gif"], "frames"),
    (["sample", "RUN", "--n", str(10**12), "--out", "grid.png"], "give at most"),
    (["sample", "RUN", "--n", str(10**12), "--out", "many/"], "on disk"),
    (["sample", "RUN", "--n", str(10**12), "--out", "x.npz"], "on disk"),
    (["eval", "RUN", "--n", str(10**9)], "give at most"),
])
def test_unbounded_work_from_one_flag_is_refused_before_starting(tiny_run, capsys, argv, message):
    argv = [str(tiny_run) if a == "RUN" else a for a in argv]
    assert message in one_line_error(capsys, argv)
    assert not Path("many").exists() and not Path("x.npz").exists()


def test_image_bomb_given_to_discriminate_is_one_line(tiny_run, tmp_path, capsys):
    Image.new("L", (1, 1)).save(tmp_path / "bomb.png")
    data = bytearray((tmp_path / "bomb.png").read_bytes())
    import struct
    import zlib

    i = data.index(b"IHDR")
    data[i + 4:i + 12] = struct.pack(">II", 100_000, 100_000)
    data[i + 17:i + 21] = struct.pack(">I", zlib.crc32(bytes(data[i:i + 17])))
    (tmp_path / "bomb.png").write_bytes(bytes(data))
    err = one_line_error(capsys, ["discriminate", str(tiny_run), str(tmp_path / "bomb.png")])
    assert "pixels" in err
    (tmp_path / "grid").mkdir()
    (tmp_path / "grid" / "0.png").write_bytes(bytes(data))
    assert "pixels" in one_line_error(capsys, ["eval", str(tmp_path / "grid"), "--data", "mnist", "--n", "16"])


# -- item 4: folder entries that are not files ------------------------------------------------------------

def test_folder_with_dangling_symlink_loop_and_non_utf8_name_skips_and_counts_them(data_dir, tmp_path, capsys):
    folder = tmp_path / "imgs"
    folder.mkdir()
    for k in range(2):
        Image.new("RGB", (12, 12), (40 * k, 80, 120)).save(folder / f"good{k}.png")
    os.symlink(folder / "gone.png", folder / "dangling.png")
    os.symlink(folder / "loop.png", folder / "loop.png")
    raw = os.path.join(os.fsencode(folder), b"caf\xe9.png")  # Latin-1, not UTF-8
    with open(raw, "wb") as fh:
        fh.write((folder / "good0.png").read_bytes())
    data = load_folder(folder, 8, data_dir)
    assert len(data) == 2
    err = capsys.readouterr().err
    assert "skipped 3 of 5 images" in err and "dangling.png" in err and "loop.png" in err
    assert "caf\ufffd.png: the file name is not valid UTF-8" in err
    assert len(load_folder(folder, 8, data_dir)) == 2  # and the cache, with its skipped.txt, reads back


# -- item 14: 16-bit PNGs -------------------------------------------------------------------------------

def test_16_bit_grey_pngs_are_scaled_not_clipped(data_dir, tmp_path):
    ramp = (np.arange(16 * 16, dtype=np.uint32).reshape(16, 16) * 257).astype(np.uint16)  # 0..65535
    folder = tmp_path / "deep"
    folder.mkdir()
    Image.fromarray(ramp).save(folder / "0.png")
    assert Image.open(folder / "0.png").mode.startswith("I")
    want = (ramp.astype(np.uint32) * 255 + 32767) // 65535   # 0..255, what an 8-bit save would hold
    got = load_image(folder / "0.png", 1, 16)[0].numpy()
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(read_folder(folder, 1, 16)[0, 0].numpy(), want)
    decoded = load_folder(folder, 16, data_dir).images[0, 0].numpy()
    assert abs(int(decoded.mean()) - int(want.mean())) <= 1 and decoded.min() < 10  # not near-white
