"""Keras/TensorFlow semantics in PyTorch layers: "same" padding, the "same" transposed conv, and
the CPU dropout."""

import pytest
import torch
import torch.nn.functional as F

from dcgan.models.layers import SameConv2d, SameConvTranspose2d


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


def test_same_transposed_conv_crops_as_tensorflow_and_keeps_the_memory_format():
    # the odd crop (1 row/column before, 2 after) is the full transposed conv's rows 1..14; a
    # channels_last input stays channels_last (the next BatchNorm's fast NHWC kernel needs it)
    convt = SameConvTranspose2d(3, 2, 5, stride=2, bias=False)
    y = torch.randn(2, 3, 7, 7)
    full = F.conv_transpose2d(y, convt.weight, None, 2)  # (2, 2, 17, 17)
    assert torch.equal(convt(y), full[..., 1:15, 1:15].contiguous())
    out = convt(y.contiguous(memory_format=torch.channels_last))
    assert out.is_contiguous(memory_format=torch.channels_last)
    torch.testing.assert_close(out, full[..., 1:15, 1:15])
