"""Building blocks that reproduce Keras/TensorFlow semantics in PyTorch.

TensorFlow's ``padding="same"`` pads asymmetrically when the total padding is odd (the extra row
and column go at the bottom/right), and a "same" transposed convolution is the gradient of that
convolution, so it crops one more row/column at the bottom/right than at the top/left. PyTorch's
symmetric ``padding=`` gives the same shapes but shifts every feature map by half a pixel, so these
layers pad and crop exactly as TensorFlow does.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

# Keras defaults, translated: PyTorch's BN momentum is 1 - Keras' momentum.
KERAS_BN_EPS = 1e-3
KERAS_BN_MOMENTUM = 0.99


def keras_bn_momentum(keras_momentum: float) -> float:
    return 1.0 - keras_momentum


def _same_pads(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow's SAME padding (before, after) for one spatial dimension."""
    out = math.ceil(size / stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class SameConv2d(nn.Conv2d):
    """``Conv2D(padding="same")`` as TensorFlow computes it: output = ceil(input / stride)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, bias: bool = True):
        super().__init__(in_ch, out_ch, kernel, stride=stride, padding=0, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k, s = self.kernel_size[0], self.stride[0]
        top, bottom = _same_pads(x.shape[-2], k, s)
        left, right = _same_pads(x.shape[-1], k, s)
        if top == bottom and left == right:
            return F.conv2d(x, self.weight, self.bias, s, (top, left))
        # One symmetric pad inside the conv and the odd extra row/column at the bottom/right.
        x = F.pad(x, (0, right - left, 0, bottom - top))
        return F.conv2d(x, self.weight, self.bias, s, (top, left))


class SameConvTranspose2d(nn.ConvTranspose2d):
    """``Conv2DTranspose(padding="same")``: output = input * stride, cropped as TensorFlow crops."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, stride: int = 1, bias: bool = True):
        super().__init__(in_ch, out_ch, kernel, stride=stride, padding=0, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        k, s = self.kernel_size[0], self.stride[0]
        h, w = x.shape[-2] * s, x.shape[-1] * s
        top, bottom = _same_pads(h, k, s)
        left, right = _same_pads(w, k, s)
        # PyTorch crops `padding` from both sides; crop the smaller amount there, the rest here:
        # by a negative pad, one contiguous copy forward and one zero-filled copy backward (a
        # slice per dimension cost two of each, and left the next BatchNorm a strided input)
        y = F.conv_transpose2d(x, self.weight, self.bias, s, (top, left))
        return F.pad(y, (0, w - y.shape[-1], 0, h - y.shape[-2])) if (bottom != top or right != left) else y


class Dropout(nn.Dropout):
    """``nn.Dropout`` with a faster mask on the CPU; the same function and distribution.

    On the CPU, ``bernoulli_`` (what ``F.dropout`` draws its mask with) took 30 ms for the
    tutorial D's (256, 64, 14, 14) activation, against 10 ms for ``torch.rand`` and a comparison;
    with the backward pass, 32-35 ms against 15-17 ms. Elements are kept with probability
    1 - p and scaled by 1 / (1 - p), drawn from the global generator as nn.Dropout draws. Other
    devices keep PyTorch's fused kernel.
    """

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0 or x.device.type != "cpu" or self.inplace:
            return super().forward(x)
        keep = 1.0 - self.p
        # float32 uniforms even under bf16 autocast, so the keep probability is exact to 2^-24
        mask = (torch.rand(x.shape, device=x.device) < keep).to(x.dtype).mul_(1.0 / keep)
        return x * mask


def keras_init_(module: nn.Module) -> nn.Module:
    """Keras defaults: Glorot-uniform kernels and zero biases (BN keeps gamma 1, beta 0)."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
    return module


def dcgan_init_(module: nn.Module) -> nn.Module:
    """Radford et al.: every weight N(0, 0.02); BN gamma N(1, 0.02), beta 0."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


class Reshape(nn.Module):
    def __init__(self, *shape: int):
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)

    def extra_repr(self) -> str:
        return f"shape={self.shape}"


def add_dropout(G: nn.Module, p: float) -> None:
    """The 'dropout in G' trick (``--g-dropout``): dropout after each hidden activation (not after
    the output), in place."""
    acts = (nn.ReLU, nn.LeakyReLU)
    for module in list(G.modules()):  # a snapshot: the wrappers added below are not revisited
        if isinstance(module, nn.Sequential):
            for i, layer in enumerate(module):
                if isinstance(layer, acts):
                    module[i] = nn.Sequential(layer, Dropout(p))
