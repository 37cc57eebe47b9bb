"""The preset table: architectures pinned by parameter counts and shapes, sizes they cannot build,
width options, PacGAN packing, and every preset trained for two steps with every loss."""

from __future__ import annotations

import json

import pytest
import torch

from dcgan.cli import main

from dcgan.errors import DcganError
from dcgan.models import PRESETS, Packed, build_discriminator, build_generator, count_parameters, get_preset
from dcgan.training.losses import LOSSES

from conftest import RUN_ARGS, _train


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

# lean (noise 64, width 32, 28x28x1): Linear 64*128*7*7 = 401,408; BN(128); ConvT 128*64*16 = 131,072;
#   BN(64); ConvT 64*32*16 = 32,768; BN(32); conv 3*3*32*1+1 = 289.
LEAN_G = _counts(401_408 + 131_072 + 32_768 + 289 + 2 * 224, 2 * 224)
# D: conv 4*4*1*32+32 = 544; 4*4*32*64+64 = 32,832; 3*3*64*128+128 = 73,856; Linear 128*4*4+1 = 2,049.
LEAN_D = _counts(544 + 32_832 + 73_856 + 2_049, 0)
# lean64 (noise 128, width 32, depth 4, 64x64x3): Linear 128*512*4*4 = 1,048,576; BN(512);
#   ConvT 512*256*16 = 2,097,152; BN(256); 256*128*16 = 524,288; BN(128); 128*64*16 = 131,072; BN(64);
#   64*32*16 = 32,768; BN(32); conv 3*3*32*3+3 = 867.
LEAN64_G = _counts(1_048_576 + 2_097_152 + 524_288 + 131_072 + 32_768 + 867 + 2 * 992, 2 * 992)
# D: conv 4*4*3*32+32 = 1,568; 4*4*32*64+64 = 32,832; 4*4*64*128+128 = 131,200;
#   4*4*128*256+256 = 524,544; 3*3*256*512+512 = 1,180,160; Linear 512*2*2+1 = 2,049.
LEAN64_D = _counts(1_568 + 32_832 + 131_200 + 524_544 + 1_180_160 + 2_049, 0)

COUNTS = {  # preset, arch overrides -> (G, D)
    ("lean", ()): (LEAN_G, LEAN_D),
    ("lean64", ()): (LEAN64_G, LEAN64_D),
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
    ("lean", 1, 28, {}), ("lean", 3, 28, {}), ("lean", 3, 32, {}),
    ("lean64", 3, 64, {"width": 8}), ("lean64", 1, 32, {"width": 8}), ("lean64", 3, 48, {"width": 4, "depth": 3}),
]


def test_the_beyond_tutorial_generators_are_dcgan_sized():
    # issue 13: presets beyond the tutorials keep G under 4 M parameters
    for name in ("lean", "lean64"):
        assert count_parameters(build_generator(get_preset(name).arch()))["trainable"] < 4_000_000


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


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(DcganError, match="unknown model 'nope'.*tf-tutorial"):
        get_preset("nope")


def test_resolution_the_architecture_cannot_build():
    with pytest.raises(DcganError, match="cannot build 30x30"):
        get_preset("tf-tutorial").arch(resolution=30)


def test_packed_discriminator_is_the_inner_one_on_stacked_channels():
    arch = get_preset("tf-tutorial").arch(pack=2)
    assert arch["pack"] == 2 and "pack" not in get_preset("tf-tutorial").arch()  # old runs unchanged
    torch.manual_seed(0)
    D = build_discriminator(arch).eval()
    assert isinstance(D, Packed)
    # one more input channel in the first 5x5 conv (64 filters): 212,865 + 64 * 25
    assert count_parameters(D)["total"] == 212_865 + 64 * 25
    x = torch.randn(6, 1, 28, 28)
    out = D(x)
    assert out.shape == (3,)
    by_hand = D.inner(torch.cat([x[0::2], x[1::2]], dim=1))  # pack k = images 2k and 2k + 1
    assert torch.allclose(out, by_hand)
    with pytest.raises(DcganError, match="packs of 2"):
        D(torch.randn(5, 1, 28, 28))


def test_every_preset_is_in_the_run_table():
    assert set(RUN_ARGS) == set(PRESETS)


@pytest.mark.parametrize("loss", list(LOSSES))
@pytest.mark.parametrize("model", list(RUN_ARGS))
def test_every_preset_trains_with_every_loss(tiny_mnist, tmp_path, model, loss, capsys):
    if not LOSSES[loss].separable and PRESETS[model].recipe["update"] == "keras-gan":
        # a paired loss has no real and fake halves to step on: refused, with the way out
        assert main(["train", "--model", model, *RUN_ARGS[model], "--loss", loss, "--dry-run"]) == 2
        assert "use --update simultaneous or alternating" in capsys.readouterr().err
        run = _train(tmp_path, model, "--loss", loss, "--update", "alternating")
        assert json.loads((run / "config.json").read_text())["loss"] == loss
        return
    run = _train(tmp_path, model, "--loss", loss)
    config = json.loads((run / "config.json").read_text())
    assert config["loss"] == loss and config["update"] == PRESETS[model].recipe["update"]
