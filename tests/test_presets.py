"""The presets of issue 3: architectures pinned by parameter counts and shapes, and every preset
trained for two steps with every loss and update scheme through the CLI."""

from __future__ import annotations

import json

import pytest
import torch

import dcgan
from dcgan.cli import main
from dcgan.errors import DcganError
from dcgan.training.losses import LOSSES
from dcgan.models import PRESETS, build_discriminator, build_generator, count_parameters, get_preset
from dcgan.training.updates import UPDATES


def _bn(n: int) -> tuple[int, int]:
    """(trainable, non-trainable) of one BatchNorm over n features: gamma, beta | mean, var."""
    return 2 * n, 2 * n


def _counts(trainable: int, non_trainable: int) -> dict[str, int]:
    return {"total": trainable + non_trainable, "trainable": trainable, "non_trainable": non_trainable}


# Keras-style counts, worked out layer by layer from the architectures (kernel + bias each).
# keras-gan-mnist G: Dense 100*6272+6272 = 633,472; BN(128); conv 3*3*128*128+128 = 147,584;
#   BN(128); conv 3*3*128*64+64 = 73,792; BN(64); conv 3*3*64*1+1 = 577.
KG_MNIST_G = _counts(633_472 + 147_584 + 73_792 + 577 + 2 * (128 + 128 + 64), 2 * (128 + 128 + 64))
# D: conv 3*3*1*32+32 = 320; conv 3*3*32*64+64 = 18,496; BN(64); conv 3*3*64*128+128 = 73,856;
#   BN(128); conv 3*3*128*256+256 = 295,168; Dense 256*4*4+1 = 4,097.
KG_MNIST_D = _counts(320 + 18_496 + 73_856 + 295_168 + 4_097 + 2 * (64 + 128), 2 * (64 + 128))
# keras-gan-cifar10 G: Dense 100*8192+8192 = 827,392; last conv 3*3*64*3+3 = 1,731; rest as MNIST.
KG_CIFAR_G = _counts(827_392 + 147_584 + 73_792 + 1_731 + 2 * 320, 2 * 320)
# D: first conv 3*3*3*32+32 = 896; rest as MNIST (8x8 -> 4x4 without the padding).
KG_CIFAR_D = _counts(896 + 18_496 + 73_856 + 295_168 + 4_097 + 2 * 192, 2 * 192)
# lsgan G: Linear 96*1024+1024 = 99,328; BN1d(1024); Linear 1024*6272+6272 = 6,428,800;
#   BN1d(6272); ConvT 128*64*16+64 = 131,136; BN(64); ConvT 64*1*16+1 = 1,025.
LSGAN_G = _counts(99_328 + 6_428_800 + 131_136 + 1_025 + 2 * (1024 + 6272 + 64), 2 * (1024 + 6272 + 64))
# D: conv 5*5*1*32+32 = 832; conv 5*5*32*64+64 = 51,264; Linear 1024*1024+1024 = 1,049,600;
#   Linear 1024+1 = 1,025; no BN.
LSGAN_D = _counts(832 + 51_264 + 1_049_600 + 1_025, 0)
# dcgan64 (ngf = ndf = 128, 64x64x3), no biases: G ConvT 100*1024*16 = 1,638,400; BN(1024);
#   1024*512*16 = 8,388,608; BN(512); 512*256*16 = 2,097,152; BN(256); 256*128*16 = 524,288;
#   BN(128); 128*3*16 = 6,144.
DCGAN64_G = _counts(1_638_400 + 8_388_608 + 2_097_152 + 524_288 + 6_144 + 2 * 1920, 2 * 1920)
# D: conv 3*128*16 = 6,144; 128*256*16 = 524,288; BN(256); 256*512*16 = 2,097,152; BN(512);
#   512*1024*16 = 8,388,608; BN(1024); 1024*1*16 = 16,384.
DCGAN64_D = _counts(6_144 + 524_288 + 2_097_152 + 8_388_608 + 16_384 + 2 * 1792, 2 * 1792)
# dcgan64 with ngf = ndf = 64 (pytorch/examples' default): every conv a quarter, except the
#   first of G (100*512*16 = 819,200) and the last of D (512*16 = 8,192), which halve, and the
#   image-side ones (64*3*16 = 3,072), which halve too.
DCGAN64_G_64 = _counts(819_200 + 2_097_152 + 524_288 + 131_072 + 3_072 + 2 * 960, 2 * 960)
DCGAN64_D_64 = _counts(3_072 + 131_072 + 524_288 + 2_097_152 + 8_192 + 2 * 896, 2 * 896)
# bonsai64 G: Dense 100*8192+8192 = 827,392; ConvT 4*4*128*128+128 = 262,272;
#   4*4*128*256+256 = 524,544; 4*4*256*512+512 = 2,097,664; conv 5*5*512*3+3 = 38,403.
BONSAI_G = _counts(827_392 + 262_272 + 524_544 + 2_097_664 + 38_403, 0)
# D: conv 4*4*3*64+64 = 3,136; 4*4*64*128+128 = 131,200; 4*4*128*128+128 = 262,272;
#   Dense 8192+1 = 8,193.
BONSAI_D = _counts(3_136 + 131_200 + 262_272 + 8_193, 0)

COUNTS = {  # preset, arch overrides -> (G, D)
    ("keras-gan-mnist", ()): (KG_MNIST_G, KG_MNIST_D),
    ("keras-gan-cifar10", ()): (KG_CIFAR_G, KG_CIFAR_D),
    ("lsgan", ()): (LSGAN_G, LSGAN_D),
    ("dcgan64", ()): (DCGAN64_G, DCGAN64_D),
    ("dcgan64", (("ngf", 64), ("ndf", 64))): (DCGAN64_G_64, DCGAN64_D_64),
    ("bonsai64", ()): (BONSAI_G, BONSAI_D),
}


@pytest.mark.parametrize("name,extra", list(COUNTS), ids=lambda v: str(v) if v else "default")
def test_parameter_counts_match_the_hand_count(name, extra):
    arch = get_preset(name).arch(**dict(extra))
    g, d = COUNTS[(name, extra)]
    assert count_parameters(build_generator(arch)) == g
    assert count_parameters(build_discriminator(arch)) == d


def test_the_published_keras_totals():
    # keras.io's face DCGAN (the bonsai tutorial's model) prints these two totals.
    assert BONSAI_G["total"] == 3_750_275 and BONSAI_D["total"] == 404_801


SHAPES = [  # preset, channels, resolution, arch options
    ("keras-gan-mnist", 1, 28, {}), ("keras-gan-mnist", 3, 32, {}),
    ("keras-gan-cifar10", 3, 32, {}), ("keras-gan-cifar10", 1, 28, {}),
    ("lsgan", 1, 28, {}), ("lsgan", 3, 32, {}),
    ("dcgan64", 3, 64, {"ngf": 8, "ndf": 8}), ("dcgan64", 1, 32, {"ngf": 8, "ndf": 8}),
    ("dcgan64", 3, 128, {"ngf": 4, "ndf": 4}),
    ("bonsai64", 3, 64, {}), ("bonsai64", 1, 32, {}),
]


@pytest.mark.parametrize("name,channels,res,extra", SHAPES)
def test_output_shapes(name, channels, res, extra):
    arch = get_preset(name).arch(channels=channels, resolution=res, **extra)
    G, D = build_generator(arch).eval(), build_discriminator(arch).eval()
    assert (G.noise_dim, G.channels, G.resolution) == (arch["noise_dim"], channels, res)
    with torch.no_grad():
        x = G(torch.randn(3, arch["noise_dim"]))
        assert x.shape == (3, channels, res, res)
        assert x.abs().max() <= 1.0  # tanh output
        assert D(x).shape == (3,)


@pytest.mark.parametrize("name,res", [("dcgan64", 28), ("dcgan64", 48), ("bonsai64", 28),
                                      ("keras-gan-mnist", 30), ("lsgan", 12)])
def test_a_size_the_architecture_cannot_build_names_presets_that_fit(name, res):
    fits = [p.name for p in PRESETS.values() if p.resolutions(res)]
    with pytest.raises(DcganError, match="cannot build") as err:
        get_preset(name).arch(resolution=res)
    assert all(f in str(err.value) for f in fits)
    if res == 28:
        assert "keras-gan-mnist" in str(err.value) and "lsgan" in str(err.value)


def test_dcgan64_width_options():
    with pytest.raises(DcganError, match="no option"):
        get_preset("lsgan").arch(ngf=8)
    G = build_generator(get_preset("dcgan64").arch(ngf=16, ndf=8))
    assert G.net[0].out_channels == 16 * 8  # 8 ngf at 4x4 for 64x64


# -- training through the CLI --------------------------------------------------------------------
# Each preset on data that fits it: the tiny MNIST fixture for grey 28x28, `fake` for colour.
RUN_ARGS = {
    "tf-tutorial": ["--data", "mnist"],
    "keras-gan-mnist": ["--data", "mnist"],
    "keras-gan-cifar10": ["--data", "fake"],
    "lsgan": ["--data", "mnist"],
    "dcgan64": ["--data", "fake", "--resolution", "64", "--arch", "ngf=8", "--arch", "ndf=8"],
    "bonsai64": ["--data", "fake"],  # 32x32 here (a quarter of the work); 64x64 in the test below
}
NATIVE = {"bonsai64": ["--resolution", "64"]}


def _train(tmp_path, model, *extra, out="r"):
    args = ["train", "--model", model, *RUN_ARGS[model], "--max-steps", "2", "--batch-size", "8",
            "--limit", "32", "--no-progress", "--out", str(tmp_path / out), *extra]
    assert main(args) == 0
    rows = [json.loads(line) for line in (tmp_path / out / "stats.jsonl").read_text().splitlines()]
    assert rows and all(torch.isfinite(torch.tensor([r["d_loss"], r["g_loss"]])).all() for r in rows)
    return tmp_path / out


def test_every_preset_is_in_the_run_table():
    assert set(RUN_ARGS) == set(PRESETS)


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("model", list(RUN_ARGS))
def test_every_preset_trains_with_every_loss(tiny_mnist, tmp_path, model, loss):
    run = _train(tmp_path, model, "--loss", loss)
    config = json.loads((run / "config.json").read_text())
    assert config["loss"] == loss and config["update"] == PRESETS[model].recipe["update"]


@pytest.mark.parametrize("model", list(RUN_ARGS))
def test_the_checkpoint_rebuilds_the_generator_with_no_flags(tiny_mnist, tmp_path, model):
    run = _train(tmp_path, model, *NATIVE.get(model, []))
    G, meta = dcgan.load_generator(run)
    assert meta["arch"]["model"] == model
    if model in NATIVE:
        assert G.resolution == PRESETS[model].resolution
    with torch.no_grad():
        x = G(torch.randn(2, G.noise_dim))
    assert x.shape == (2, G.channels, G.resolution, G.resolution)


TRICKS = [["--soft-labels", "--label-flip", "0.2"], ["--n-critic", "2"], ["--g-dropout", "0.3"],
          ["--precision", "bf16"]]
# Every (update, loss) pair plain, then every trick with every update, each with all the losses
# spread over them (a full product would triple the run time and find nothing more).
COMBOS = [(u, loss, []) for u in UPDATES for loss in LOSSES]
COMBOS += [(u, list(LOSSES)[(i + j) % len(LOSSES)], t)
           for i, u in enumerate(UPDATES) for j, t in enumerate(TRICKS)]
COMBOS += [(u, "wgan-gp", ["--precision", "bf16"]) for u in UPDATES]  # the penalty under autocast


@pytest.mark.parametrize("update,loss,tricks", COMBOS, ids=lambda v: " ".join(v) if isinstance(v, list) else v)
def test_every_update_scheme_with_every_loss_and_trick(tiny_mnist, tmp_path, update, loss, tricks):
    # At 12x12 (the architecture allows any multiple of 4): the scheme is what is under test.
    _train(tmp_path, "keras-gan-mnist", "--update", update, "--loss", loss, "--resolution", "12", *tricks)


def test_keras_gan_updates_d_twice_and_g_once(tiny_mnist, tmp_path):
    from dcgan import checkpoint as ckpt

    run = _train(tmp_path, "keras-gan-mnist")
    state = ckpt.load_state(ckpt.newest_good(run))
    # Adam's step counters after 2 batches: D stepped on real and on fake halves, G once each.
    assert int(state["opt_d"]["state"][0]["step"]) == 4
    assert int(state["opt_g"]["state"][0]["step"]) == 2


def test_keras_gan_resume_is_exact(tiny_mnist, tmp_path):
    """Half batches are drawn with replacement from tr.rng, so 2 + 2 steps equal 4 steps."""
    common = ["train", "--model", "keras-gan-mnist", "--batch-size", "8", "--limit", "32",
              "--no-progress", "--loss", "wgan-gp", "--soft-labels", "--label-flip", "0.1"]
    assert main([*common, "--max-steps", "4", "--out", str(tmp_path / "straight")]) == 0
    assert main([*common, "--max-steps", "2", "--out", str(tmp_path / "split")]) == 0
    assert main(["train", "--resume", str(tmp_path / "split"), "--max-steps", "4", "--no-progress"]) == 0
    a, _ = dcgan.load_generator(tmp_path / "straight")
    b, _ = dcgan.load_generator(tmp_path / "split")
    for (name, p), q in zip(a.state_dict().items(), b.state_dict().values()):
        torch.testing.assert_close(p, q, msg=name)


@pytest.mark.parametrize("name", list(LOSSES))
def test_d_loss_halves_sum_to_the_d_loss(name):
    loss = LOSSES[name]
    g = torch.Generator().manual_seed(0)
    real, fake = torch.randn(6, generator=g), torch.randn(5, generator=g)
    rt, ft = 0.7 + 0.3 * torch.rand(6, generator=g), 0.3 * torch.rand(5, generator=g)
    torch.testing.assert_close(loss.d_real(real, rt) + loss.d_fake(fake, ft), loss.d(real, fake, rt, ft))


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_gradient_penalty_is_finite_and_differentiable_under_autocast(precision):
    from dcgan.devices import autocast
    from dcgan.training.losses import gradient_penalty

    torch.manual_seed(0)
    arch = get_preset("keras-gan-mnist").arch()
    D = build_discriminator(arch)
    real, fake = torch.rand(4, 1, 28, 28) * 2 - 1, torch.rand(4, 1, 28, 28) * 2 - 1
    with autocast(torch.device("cpu"), precision):
        gp = gradient_penalty(D, real, fake, torch.Generator().manual_seed(0))
    gp.float().backward()
    assert torch.isfinite(gp) and gp > 0
    # Every weight gets a gradient through the penalty (biases may not: d(sum D)/dx ignores them).
    weights = [p for n, p in D.named_parameters() if n.endswith("weight")]
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in weights)


def test_fake_data_is_deterministic_and_writes_nothing(data_dir):
    from dcgan.data import load

    a, b = load("fake", "train"), load("fake", "train")
    test = load("fake", "test")
    assert a.images.shape == (1024, 3, 32, 32) and test.images.shape == (256, 3, 32, 32)
    assert a.images.dtype == torch.uint8 and torch.equal(a.images, b.images)
    assert not torch.equal(a.images[:256], test.images)
    assert list(data_dir.iterdir()) == []  # no fetch, no cache file
