"""The Python API (``dcgan.__all__``): a wrong argument type or value is a DcganError with one
sentence, never an AttributeError or TypeError from deep inside."""

from __future__ import annotations

import pytest
import torch

import dcgan

RUN, GEN = object(), object()  # stand-ins for the tiny run folder and its loaded generator

CASES = [
    ("train", ([1],), {}), ("train", (), {"epochs": "3"}), ("train", (), {"epochs": -1}),
    ("train", (), {"model": 3}), ("train", (), {"data": 3}), ("train", (), {"resume": 3}),
    ("train", (), {"resume": "missing"}), ("train", (), {"config": 3}), ("train", (), {"config": "missing.json"}),
    ("train", (), {"dry_run": "yes"}), ("train", (), {"arch_options": [("ngf", 8)]}),
    ("load_generator", (None,), {}), ("load_generator", (3,), {}), ("load_generator", ([RUN],), {}),
    ("load_generator", ("missing",), {}), ("load_generator", (RUN,), {"device": 3}),
    ("load_generator", (RUN,), {"bn": "nope"}), ("load_generator", (RUN,), {"ema": "yes"}),
    ("load_discriminator", (None,), {}), ("load_discriminator", (3,), {}), ("load_discriminator", ("missing",), {}),
    ("sample", (None,), {}), ("sample", (3,), {}), ("sample", ("missing",), {}), ("sample", (RUN,), {"n": -1}),
    ("sample", (RUN,), {"n": "4"}), ("sample", (RUN,), {"n": None}), ("sample", (RUN,), {"seed": -1}),
    ("sample", (RUN,), {"out": 3}), ("sample", (RUN,), {"batch_size": 0}), ("sample", (RUN, 4, 0, [1]), {}),
    ("sample", (RUN,), {"classes": 7}), ("sample", (RUN,), {"classes": 2.5}), ("sample", (RUN,), {"classes": []}),
    ("generate", (GEN, 4), {"classes": [1]}), ("generate", (GEN, 4), {"classes": "all"}),
    ("interpolate", (RUN, [1, 2]), {"classes": "3"}), ("arithmetic", (RUN, [1], [2], [3]), {"classes": 0}),
    ("interpolate", (RUN, [1]), {"to_class": "3"}), ("interpolate", (RUN, [1]), {"to_class": 2.5}),
    ("discriminate", (RUN, torch.zeros(2, 1, 28, 28, dtype=torch.uint8)), {"classes": 1}),
    ("generate", (None, 4), {}), ("generate", (RUN, 4), {}), ("generate", (GEN, -1), {}),
    ("generate", (GEN, "4"), {}), ("generate", (GEN, 4), {"seed": None}),
    ("discriminate", (None, ["a.png"]), {}), ("discriminate", (RUN, None), {}), ("discriminate", (RUN, 3), {}),
    ("discriminate", (RUN, []), {}), ("discriminate", (RUN, ["missing.png"]), {}),
    ("discriminate", (RUN, torch.zeros(2, 3, 5, 5)), {}), ("discriminate", (3, ["a.png"]), {}),
    ("evaluate", (None,), {}), ("evaluate", (3,), {}), ("evaluate", ("missing",), {}),
    ("evaluate", (RUN,), {"n": -1}), ("evaluate", (RUN,), {"data": 3}), ("evaluate", (RUN,), {"features": "x"}),
    ("evaluate", (RUN,), {"metrics": ["nope"]}), ("evaluate", (RUN,), {"grid": 5}), ("evaluate", (RUN,), {"log": 3}),
    ("interpolate", (None, [1, 2]), {}), ("interpolate", (RUN, None), {}), ("interpolate", (RUN, [1]), {}),
    ("interpolate", (RUN, 5), {}), ("interpolate", (RUN, [1, 2]), {"steps": -1}),
    ("interpolate", (RUN, [1, 2]), {"method": "x"}), ("interpolate", (RUN, [1, 2]), {"out": None}),
    ("interpolate", (RUN, [-1, 2]), {}), ("interpolate", (RUN, [1, 2]), {"out": "w.mp4"}),
    ("arithmetic", (RUN, None, [1], [2]), {}), ("arithmetic", (RUN, [1], [2], [3]), {"out": None}),
    ("arithmetic", (RUN, [1], [2], "x"), {}), ("arithmetic", ("missing", [1], [2], [3]), {}),
    ("export", (None,), {"out": "g.onnx"}), ("export", (RUN,), {"fmt": "x", "out": "g.onnx"}),
    ("export", (RUN,), {"out": None}), ("export", (RUN,), {"out": 3}), ("export", (RUN,), {"out": "g.bin"}),
    ("export", ("missing",), {"out": "g.onnx"}),
]


def test_every_public_function_is_covered():
    public = {n for n in dcgan.__all__ if callable(getattr(dcgan, n)) and n != "DcganError"}
    assert public == {name for name, _, _ in CASES}


@pytest.mark.parametrize("name, args, kwargs", CASES,
                         ids=[f"{n}-{i}" for i, (n, _, _) in enumerate(CASES)])
def test_a_wrong_argument_is_one_sentence(tiny_mnist, tiny_run, name, args, kwargs):
    G = dcgan.load_generator(tiny_run)[0] if GEN in args else None

    def real(v):
        return tiny_run if v is RUN else G if v is GEN else [real(x) for x in v] if isinstance(v, list) else v

    with pytest.raises(dcgan.DcganError) as info:
        result = getattr(dcgan, name)(*map(real, args), **{k: real(v) for k, v in kwargs.items()})
        if name == "generate":
            next(iter(result))
    message = str(info.value)
    assert message and "\n" not in message and "Traceback" not in message


def test_every_value_the_cli_offers_passes_the_api_checks(tiny_mnist, tiny_run):
    """``dcgan eval --features auto`` and ``--split heldout`` (main's Inception default and held-out
    split) are right arguments in Python too, given explicitly."""
    from dcgan.data.holdout import HELD_OUT
    from dcgan.metrics.features import KINDS

    for kind in KINDS:
        assert dcgan.CHECKS["features"]("features", kind) == kind
    for split in (None, "train", "test", HELD_OUT):
        assert dcgan.CHECKS["split"]("split", split) == split
    result = dcgan.evaluate(tiny_run, n=16, features="auto", split=None, metrics=("fid",))
    assert result["protocol"]["reference_split"] == "test" and result["metrics"]["fid"] >= 0
