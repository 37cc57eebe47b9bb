"""The Keras-style layer table of a network, with its totals."""

import torch

from dcgan.models.summary import summarize


def test_summary_table_lists_layers_and_totals(nets):
    G, _ = nets
    text = summarize(G, torch.zeros(2, 100), "generator")
    assert "(None, 256, 7, 7)" in text and "(None, 1, 28, 28)" in text
    assert "Total params: 2,330,944" in text and "Non-trainable params: 25,472" in text
