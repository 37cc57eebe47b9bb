"""A Keras-style ``model.summary()`` table for any dcgan network."""

from __future__ import annotations

import torch
from torch import nn

from . import count_parameters


def _own_params(m: nn.Module) -> int:
    n = sum(p.numel() for p in m.parameters(recurse=False))
    n += sum(b.numel() for name, b in m.named_buffers(recurse=False)
             if name in ("running_mean", "running_var"))
    return n


def summarize(model: nn.Module, example: torch.Tensor, title: str) -> str:
    """Run ``example`` through ``model`` and tabulate each leaf layer's output shape and weights."""
    rows: list[tuple[str, str, int]] = []
    hooks = []
    for name, m in model.named_modules():
        if next(m.children(), None) is None:  # leaf layers only, as Keras lists them
            def hook(mod, _inp, out, name=name):
                shape = "(None, " + ", ".join(str(d) for d in out.shape[1:]) + ")"
                rows.append((f"{name.split('.')[-1]} ({type(mod).__name__})", shape, _own_params(mod)))
            hooks.append(m.register_forward_hook(hook))
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            model(example)
    finally:
        model.train(was_training)
        for h in hooks:
            h.remove()
    counts = count_parameters(model)
    w = (max(len(r[0]) for r in rows) + 2, max(len(r[1]) for r in rows) + 2, 12)
    line = "─" * sum(w)
    out = [f'Model: "{title}"', line,
           f"{'Layer (type)':<{w[0]}}{'Output Shape':<{w[1]}}{'Param #':>{w[2]}}", line]
    out += [f"{a:<{w[0]}}{b:<{w[1]}}{c:>{w[2]},}" for a, b, c in rows]
    out += [line, f"Total params: {counts['total']:,}", f"Trainable params: {counts['trainable']:,}",
            f"Non-trainable params: {counts['non_trainable']:,}", line]
    return "\n".join(out)
