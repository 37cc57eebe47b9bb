"""dcgan export: safetensors, TorchScript and ONNX files load without dcgan and draw what G draws,
for a grey and a colour generator."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import torch

import dcgan
from dcgan.cli import main
from dcgan.generation.loading import load_generator

LOADERS = {
    # each runs in a fresh interpreter with no dcgan on the path: only torch / onnxruntime
    "torchscript": """
import json, sys, torch
extra = {"dcgan.json": ""}
m = torch.jit.load(sys.argv[1], _extra_files=extra)
meta = json.loads(extra["dcgan.json"])
z = torch.load(sys.argv[2])
torch.save({"meta": meta, "out": m(z)}, sys.argv[3])
""",
    "onnx": """
import json, sys, torch, onnxruntime as ort
s = ort.InferenceSession(sys.argv[1], providers=["CPUExecutionProvider"])
meta = json.loads(s.get_modelmeta().custom_metadata_map["dcgan"])
z = torch.load(sys.argv[2])
out = s.run(["images"], {"z": z.numpy()})[0]
torch.save({"meta": meta, "out": torch.from_numpy(out)}, sys.argv[3])
""",
}


@pytest.mark.parametrize("fmt, suffix", [("safetensors", ".safetensors"), ("torchscript", ".pt"),
                                         ("onnx", ".onnx")])
def test_export_loads_without_dcgan_and_matches(tiny_run, tmp_path, fmt, suffix):
    if fmt == "onnx":
        pytest.importorskip("onnx", reason="ONNX export needs the onnx package (pip install onnx)")
        pytest.importorskip("onnxruntime", reason="checking an ONNX export needs onnxruntime "
                                                  "(pip install onnxruntime)")
    out = tmp_path / f"g{suffix}"
    assert main(["export", str(tiny_run), "--format", fmt, "--out", str(out)]) == 0
    G, _ = load_generator(tiny_run)
    z = torch.randn(3, G.noise_dim, generator=torch.Generator().manual_seed(5))  # batch 3 != trace's 2
    with torch.no_grad():
        expected = G(z)
    if fmt == "safetensors":
        from safetensors import safe_open
        from safetensors.torch import load_file

        from dcgan.models import build_generator

        with safe_open(str(out), "pt") as fh:
            meta = {k: json.loads(v) for k, v in fh.metadata().items()}
        G2 = build_generator(meta["arch"])
        G2.load_state_dict(load_file(str(out)))
        with torch.no_grad():
            got = G2.eval()(z)
    else:
        torch.save(z, tmp_path / "z.pt")
        script = tmp_path / "load.py"
        script.write_text(LOADERS[fmt])
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": ""}
        subprocess.run([sys.executable, "-I", str(script), str(out), str(tmp_path / "z.pt"),
                        str(tmp_path / "o.pt")], check=True, env=env, cwd=tmp_path, timeout=300)
        res = torch.load(tmp_path / "o.pt")
        meta, got = res["meta"], res["out"]
    assert meta["noise"] == {"distribution": "normal", "mean": 0.0, "std": 1.0, "dim": 100}
    assert (meta["resolution"], meta["channels"], meta["output_range"]) == (28, 1, [-1.0, 1.0])
    assert got.shape == (3, 1, 28, 28)
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)


def test_export_unknown_format_is_one_line(tiny_run, capsys):
    assert main(["export", str(tiny_run), "--out", "g.bin"]) == 2
    assert "--format" in capsys.readouterr().err


def test_safetensors_export_of_a_colour_generator_matches(colour_run, tmp_path):
    from safetensors import safe_open
    from safetensors.torch import load_file

    from dcgan.models import build_generator

    out = tmp_path / "g.safetensors"
    assert main(["export", str(colour_run), "--format", "safetensors", "--out", str(out)]) == 0
    with safe_open(str(out), "pt") as fh:
        meta = {k: json.loads(v) for k, v in fh.metadata().items()}
    assert (meta["resolution"], meta["channels"]) == (64, 3)
    G2 = build_generator(meta["arch"])
    G2.load_state_dict(load_file(str(out)))
    G, _ = dcgan.load_generator(colour_run)
    z = torch.randn(2, G.noise_dim)
    with torch.no_grad():
        torch.testing.assert_close(G2.eval()(z), G(z))


@pytest.mark.parametrize("suffix", [".safetensors", ".pt", ".onnx"])
def test_every_export_round_trips_through_every_command_that_takes_a_generator(tiny_run, tiny_mnist, tmp_path, suffix,
                                                                                capsys):
    """What `dcgan export` writes, `dcgan sample`, `eval`, `interpolate` and the explorer read back,
    and they draw what the run's generator draws (its BatchNorm statistics baked in at export)."""
    import numpy as np

    from dcgan.generation.explorer import Explorer

    if suffix == ".onnx":
        pytest.importorskip("onnx")
        pytest.importorskip("onnxruntime")
    out = tmp_path / f"g{suffix}"
    assert main(["export", str(tiny_run), "--out", str(out)]) == 0
    assert main(["sample", str(tiny_run), "--n", "6", "--seed", "3", "--out", str(tmp_path / "run.npz")]) == 0
    assert main(["sample", str(out), "--n", "6", "--seed", "3", "--out", str(tmp_path / "exp.npz")]) == 0
    a, b = np.load(tmp_path / "run.npz")["images"], np.load(tmp_path / "exp.npz")["images"]
    assert a.shape == b.shape == (6, 1, 28, 28)
    assert np.abs(a.astype(int) - b.astype(int)).max() <= 1  # one rounding level (kernels differ)
    assert main(["interpolate", str(out), "--seeds", "1,2", "--steps", "2", "--out", str(tmp_path / "w.png")]) == 0
    capsys.readouterr()
    assert main(["eval", str(out), "--data", "mnist", "--n", "50", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["protocol"]["n_generated"] == 50
    explorer = Explorer(out, "cpu")
    assert explorer.G.noise_dim == json.loads(json.dumps(explorer.meta))["noise"]["dim"]


def test_a_damaged_export_is_one_clear_line(tmp_path, capsys):
    for suffix in (".pt", ".onnx"):
        bad = tmp_path / f"g{suffix}"
        bad.write_bytes(b"not an export at all")
        assert main(["sample", str(bad), "--n", "1", "--out", str(tmp_path / "x.png")]) == 2
        err = capsys.readouterr().err
        assert err.startswith("error: ") and err.count("\n") == 1 and str(bad) in err
