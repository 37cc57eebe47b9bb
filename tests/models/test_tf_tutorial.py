"""The tf-tutorial networks are the TensorFlow tutorial's, layer for layer, with Keras' defaults."""

import pytest
import torch
from torch import nn

from dcgan.models import count_parameters


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
