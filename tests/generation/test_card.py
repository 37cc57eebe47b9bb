"""dcgan export writes a model card beside the weights: what was trained, on what data, with which
recipe, how well, and how to load it; its code runs as written."""

from __future__ import annotations

import json
import re

import pytest

from dcgan.cli import main
from dcgan.models import build_generator


def _blocks(card: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", card, re.S)


def test_export_writes_a_model_card_beside_the_weights(tiny_run, tmp_path, tiny_mnist, monkeypatch):
    with open(tiny_run / "metrics.jsonl", "a") as fh:
        fh.write(json.dumps({"epoch": 1, "step": 2, "fid2k_classifier": 41.5, "modes": 9, "n_modes": 10}) + "\n")
    out = tmp_path / "exports" / "g.pt"
    out.parent.mkdir()
    (out.parent / "README.md").write_text("mine")
    assert main(["export", str(tiny_run), "--out", str(out)]) == 0
    card = (out.parent / "g.MODEL_CARD.md").read_text()
    assert (out.parent / "README.md").read_text() == "mine"  # a user's README is never touched
    config = json.loads((tiny_run / "config.json").read_text())
    n_params = sum(p.numel() for p in build_generator(config["arch"]).parameters())
    assert "# dcgan generator: tf-tutorial trained on mnist" in card
    assert f"generator parameters: {n_params:,}" in card and "TensorFlow" in card  # the preset's source
    assert "train split" in card and "lr_g" in card and "trained: step 2" in card
    sidecar = tiny_mnist / "mnist" / "train.sha256"
    assert sidecar.read_text().strip() in card  # the data the run read, by hash
    assert "| fid2k_classifier | 41.5 |" in card
    # the card's code runs as written, beside the file
    monkeypatch.chdir(out.parent)
    dcgan_code, plain_code = _blocks(card)
    for code in (dcgan_code, plain_code):
        scope: dict = {}
        exec(code, scope)
        assert tuple(scope["images"].shape) == (16, 1, 28, 28)


@pytest.mark.parametrize("suffix", [".safetensors", ".onnx"])
def test_every_format_gets_its_own_card_and_loading_code(tiny_run, tmp_path, data_dir, suffix):
    if suffix == ".onnx":
        pytest.importorskip("onnx")
    (tiny_run / "metrics.jsonl").unlink(missing_ok=True)  # the default watch's rows: no evaluation now
    out = tmp_path / f"g{suffix}"
    assert main(["export", str(tiny_run), "--out", str(out)]) == 0
    card = (tmp_path / "g.MODEL_CARD.md").read_text()
    assert ("load_file" if suffix == ".safetensors" else "onnxruntime") in card
    if suffix == ".safetensors":  # its plain-torch code runs as written (onnxruntime may be absent)
        scope: dict = {}
        exec(_blocks(card)[1].replace('"g.safetensors"', repr(str(out))), scope)
        assert tuple(scope["images"].shape) == (16, 1, 28, 28)
    assert "not in this machine's data cache" in card  # an empty cache: said, not guessed
    assert "recorded no evaluation" in card and "dcgan eval" in card
