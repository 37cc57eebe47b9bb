"""The tf-tutorial networks are the TensorFlow tutorial's, layer for layer, with Keras' defaults."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dcgan.errors import DcganError
from dcgan.models import build_discriminator, build_generator, count_parameters, get_preset
from dcgan.models.layers import SameConv2d, SameConvTranspose2d
from dcgan.models.summary import summarize


@pytest.fixture
def nets():
    arch = get_preset("tf-tutorial").arch()
    return build_generator(arch), build_discriminator(arch)


def test_parameter_counts_equal_the_tutorial_summaries(nets):
    G, D = nets
    assert count_parameters(G) == {"total": 2_330_944, "trainable": 2_305_472, "non_trainable": 25_472}
    assert count_parameters(D) == {"total": 212_865, "trainable": 212_865, "non_trainable": 0}


def test_shapes_and_output_range(nets):
    G, D = nets
    x = G(torch.randn(5, 100))
    assert x.shape == (5, 1, 28, 28)
    assert x.abs().max() <= 1
    assert D(x).shape == (5,)


def test_keras_defaults(nets):
    G, D = nets
    bns = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert len(bns) == 3 and all(b.eps == 1e-3 and b.momentum == pytest.approx(0.01) for b in bns)
    slopes = {m.negative_slope for m in [*G.modules(), *D.modules()] if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.3}
    assert [m.p for m in D.modules() if isinstance(m, nn.Dropout)] == [0.3, 0.3]
    assert all(m.bias is None for m in G.modules() if isinstance(m, (nn.Linear, nn.ConvTranspose2d)))
    # Glorot uniform: every kernel inside +-sqrt(6 / (fan_in + fan_out)), biases zero.
    conv = D.net[0]
    limit = (6 / (1 * 25 + 64 * 25)) ** 0.5
    assert conv.weight.abs().max() <= limit and conv.weight.abs().max() > 0.9 * limit
    assert torch.count_nonzero(conv.bias) == 0


def test_same_conv_pads_like_tensorflow():
    # TF pads a stride-2 5x5 "same" conv on 28 pixels by 1 before and 2 after (odd total: extra after).
    conv = SameConv2d(1, 1, 5, stride=2)
    x = torch.randn(2, 1, 28, 28)
    ref = F.conv2d(F.pad(x, (1, 2, 1, 2)), conv.weight, conv.bias, 2)
    torch.testing.assert_close(conv(x), ref)


def test_same_transposed_conv_is_the_gradient_of_same_conv():
    # TF defines "same" Conv2DTranspose as the gradient of the "same" Conv2D: check it is the adjoint.
    convt = SameConvTranspose2d(3, 2, 5, stride=2, bias=False)
    y = torch.randn(1, 3, 7, 7)
    x = torch.randn(1, 2, 14, 14, requires_grad=True)
    fwd = SameConv2d(2, 3, 5, stride=2, bias=False)
    fwd.weight.data.copy_(convt.weight.data)
    (grad,) = torch.autograd.grad((fwd(x) * y).sum(), x)
    torch.testing.assert_close(convt(y), grad)
    assert convt(y).shape == (1, 2, 14, 14)


def test_summary_table_lists_layers_and_totals(nets):
    G, _ = nets
    text = summarize(G, torch.zeros(2, 100), "generator")
    assert "(None, 256, 7, 7)" in text and "(None, 1, 28, 28)" in text
    assert "Total params: 2,330,944" in text and "Non-trainable params: 25,472" in text


def test_unknown_preset_is_a_clear_error():
    with pytest.raises(DcganError, match="unknown model 'nope'.*tf-tutorial"):
        get_preset("nope")


def test_resolution_the_architecture_cannot_build():
    with pytest.raises(DcganError, match="cannot build 30x30"):
        get_preset("tf-tutorial").arch(resolution=30)


def test_cpu_dropout_keeps_with_probability_1_minus_p_and_scales_like_nn_dropout():
    from dcgan.models.layers import Dropout

    torch.manual_seed(0)
    drop = Dropout(0.3)
    x = torch.rand(1000, 1000) + 0.5            # no zeros, so a dropped element is visible
    x.requires_grad_(True)
    y = drop(x)
    kept = y != 0
    assert kept.float().mean().item() == pytest.approx(0.7, abs=0.003)  # 1e6 draws: sd 0.0005
    torch.testing.assert_close(y[kept], (x / 0.7)[kept])
    y.sum().backward()
    torch.testing.assert_close(x.grad, kept.float() / 0.7)  # the same mask scales the gradient
    drop.eval()
    assert drop(x) is x                                    # inference: identity, as nn.Dropout
    drop.train()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        assert drop(x.detach().bfloat16()).dtype == torch.bfloat16
