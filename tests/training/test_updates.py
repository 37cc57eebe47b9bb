"""The update schemes: each with every loss and trick through the CLI, and Keras-GAN's (D twice and
G once per batch, exact resume)."""

from __future__ import annotations

import pytest

from dcgan.cli import main
from dcgan.training.losses import LOSSES
from dcgan.training.updates import UPDATES

from conftest import _train, assert_same_run

TRICKS = [["--soft-labels", "--label-flip", "0.2"], ["--n-critic", "2"], ["--g-dropout", "0.3"],
          ["--precision", "bf16"]]
# Every (update, loss) pair plain, then every trick with every update, each with all the losses
# spread over them (a full product would triple the run time and find nothing more).


def _losses(update: str) -> list[str]:
    """The losses a scheme can run: a paired loss has no real and fake halves for keras-gan's steps."""
    return [n for n, loss in LOSSES.items() if loss.separable or update != "keras-gan"]


COMBOS = [(u, loss, []) for u in UPDATES for loss in _losses(u)]
COMBOS += [(u, _losses(u)[(i + j) % len(_losses(u))], t)
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
    assert_same_run(tmp_path / "straight", tmp_path / "split")
