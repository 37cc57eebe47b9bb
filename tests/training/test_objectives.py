"""The objectives and regularisers beyond the tutorials: each against its formula on a tiny example,
each resuming bit for bit, each refused by CUDA graphs with the reason where a graph cannot hold it."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import dcgan
from conftest import TINY_32, assert_same_run
from dcgan import checkpoint as ckpt
from dcgan.errors import DcganError
from dcgan.training import augment, graphs, schedule
from dcgan.training.config import resolve
from dcgan.training.distributed import Dist
from dcgan.training.losses import LOSSES, zero_centred_penalty
from dcgan.training.updates import StepContext

TINY = {**TINY_32, "report": False}
ALL_NEW = {"loss": "rpgan", "r1": 0.5, "r2": 0.25, "reg_every": 2, "spectral_norm": True,
           "augment": "color,translation,cutout", "lr_schedule": "cosine", "gamma_schedule": "linear"}


def test_rpgan_is_softplus_of_paired_differences():
    real, fake = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([0.0, 1.0, 0.5])
    loss = LOSSES["rpgan"]
    assert not loss.separable and not loss.probability
    torch.testing.assert_close(loss.d(real, fake), F.softplus(fake - real).mean())
    torch.testing.assert_close(loss.g(fake, real), F.softplus(real - fake).mean())
    # by hand for the first pair: log(1 + e^(0 - 2))
    assert F.softplus(fake - real)[0].item() == pytest.approx(math.log1p(math.exp(-2.0)))
    with pytest.raises(ValueError, match="pairs fake outputs with real ones"):
        loss.g(fake)


def test_rpgan_cannot_run_on_separate_half_batches():
    with pytest.raises(DcganError, match="keras-gan update steps D on real and fake half batches"):
        resolve({"loss": "rpgan", "update": "keras-gan"})


class Linear(torch.nn.Module):
    """D(x) = <w, x>: its input gradient is w for every image, so R1 = |w|^2 / 2."""

    def __init__(self, w: torch.Tensor):
        super().__init__()
        self.w = torch.nn.Parameter(w)

    def forward(self, x):
        return (x.flatten(1) * self.w).sum(1)


def test_zero_centred_penalty_is_half_the_squared_input_gradient():
    w = torch.tensor([3.0, -4.0, 0.0, 1.0])
    x = torch.randn(5, 1, 2, 2)
    penalty = zero_centred_penalty(Linear(w), x)
    assert penalty.item() == pytest.approx(0.5 * (9 + 16 + 0 + 1))
    D = Linear(w.clone())
    zero_centred_penalty(D, x).backward()  # differentiable in D's parameters: d/dw (|w|^2 / 2) = w
    torch.testing.assert_close(D.w.grad, w)


def _ctx(D, **kw) -> StepContext:
    g = torch.Generator().manual_seed(0)
    opt = torch.optim.Adam(D.parameters())
    return StepContext(G=D, D=D, opt_g=opt, opt_d=opt, scaler=torch.amp.GradScaler("cpu", enabled=False),
                       loss=LOSSES["rpgan"], rng=g, noise_dim=1, device=torch.device("cpu"),
                       precision="fp32", images=torch.zeros(1, 1, 2, 2, dtype=torch.uint8), **kw)


def test_r1_r2_are_lazy_and_scaled_by_gamma_and_the_interval():
    w = torch.tensor([3.0, -4.0, 0.0, 1.0])
    D = Linear(w)
    ctx = _ctx(D, r1=0.5, r2=0.25, reg_every=4)
    x = torch.randn(3, 1, 2, 2)
    assert ctx.penalties(x, x, step=1) is None and ctx.penalties(x, x, step=6) is None
    due = ctx.penalties(x, x, step=8)
    assert due.item() == pytest.approx((0.5 + 0.25) * 4 * 13.0)  # gamma * K * |w|^2 / 2
    ctx.gamma_scale = 0.5
    assert ctx.penalties(x, None, step=0).item() == pytest.approx(0.5 * 0.5 * 4 * 13.0)  # R1 only


def test_schedules_run_from_one_to_their_end():
    assert schedule.factor("constant", 50, 100, 0.1) == 1.0
    assert schedule.factor("linear", 0, 100, 0.1) == 1.0
    assert schedule.factor("linear", 50, 100, 0.1) == pytest.approx(0.55)
    assert schedule.factor("linear", 100, 100, 0.1) == pytest.approx(0.1)
    assert schedule.factor("cosine", 50, 100, 0.0) == pytest.approx(0.5)
    assert schedule.factor("cosine", 100, 100, 0.2) == pytest.approx(0.2)
    assert schedule.factor("cosine", 150, 100, 0.2) == pytest.approx(0.2)  # past the end: the end


def test_the_trainer_follows_the_lr_schedule(tiny_mnist, tmp_path):
    from dcgan.training import throughput

    tr = throughput.make_trainer({"model": "tf-tutorial", "batch_size": 50, "epochs": 2,
                                  "lr_schedule": "linear", "lr_end": 0.5})
    tr.step = tr.schedule_steps // 2
    tr.train_step(*tr.real_batch(torch.arange(tr.n), 0))  # sets the step's rates first
    assert tr.opt_g.param_groups[0]["lr"] == pytest.approx(1e-4 * 0.75)
    assert tr.opt_d.param_groups[0]["lr"] == pytest.approx(1e-4 * 0.75)


@pytest.mark.parametrize("name", ["translation", "cutout", "color"])
def test_augmentations_are_seeded_shape_preserving_and_differentiable(name):
    leaf = torch.rand(6, 3, 8, 8, requires_grad=True)
    x = leaf * 2 - 1
    a = augment.augment(x, (name,), torch.Generator().manual_seed(1))
    b = augment.augment(x, (name,), torch.Generator().manual_seed(1))
    c = augment.augment(x, (name,), torch.Generator().manual_seed(2))
    assert a.shape == x.shape and torch.equal(a, b) and not torch.equal(a, c)
    a.square().sum().backward()
    assert leaf.grad is not None and leaf.grad.abs().sum() > 0


def test_translation_moves_content_and_fills_with_black():
    x = torch.full((64, 1, 8, 8), -1.0)
    x[:, :, 3, 4] = 1.0  # one bright pixel
    out = augment.translation(x, torch.Generator().manual_seed(0))
    assert (out == 1.0).flatten(1).sum(1).max() <= 1          # moved, never duplicated
    ys, xs = torch.nonzero(out[:, 0] == 1.0, as_tuple=True)[1:]
    assert ((ys - 3).abs() <= 1).all() and ((xs - 4).abs() <= 1).all()  # by at most 8 / 8 pixels
    assert len(set(zip(ys.tolist(), xs.tolist()))) > 1          # and not all the same way
    assert set(out.unique().tolist()) <= {-1.0, 1.0}


def test_cutout_blanks_at_most_a_square_of_half_the_size():
    x = torch.ones(200, 1, 8, 8)
    out = augment.cutout(x, torch.Generator().manual_seed(0))
    blank = (out == augment.FILL).flatten(1).sum(1)
    assert blank.max() == 16 and blank.min() >= 1 and (blank < 16).any()  # 4x4, sometimes cut by an edge


def test_spectral_norm_parametrises_every_layer_of_d_and_bounds_it():
    from dcgan.models import build_discriminator, get_preset

    arch = get_preset("tf-tutorial").arch(spectral_norm=True)
    D = build_discriminator(arch)
    layers = [m for m in D.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    assert layers and all(torch.nn.utils.parametrize.is_parametrized(m, "weight") for m in layers)
    x = torch.randn(4, 1, 28, 28)
    for _ in range(30):  # power iterations, one per training forward
        D(x)
    D.eval()
    for m in layers:
        sigma = torch.linalg.matrix_norm(m.weight.flatten(1), ord=2)
        assert sigma.item() == pytest.approx(1.0, abs=0.05)
    assert "spectral_norm" not in get_preset("tf-tutorial").arch()  # off: the architecture as before


def test_every_new_setting_is_refused_by_cuda_graphs_or_graphed():
    one = Dist()
    cuda = torch.device("cuda")
    for extra, reason in (({"r1": 1.0}, "gradient penalty"), ({"r2": 1.0}, "gradient penalty"),
                          ({"lr_schedule": "cosine"}, "--lr-schedule")):
        assert reason in graphs.why_not(resolve(extra), cuda, one)
    if hasattr(torch.cuda.CUDAGraph, "register_generator_state"):
        for extra in ({"loss": "rpgan"}, {"augment": "translation,cutout"}, {"spectral_norm": True}):
            assert graphs.why_not(resolve(extra), cuda, one) is None


@pytest.mark.parametrize("update", ["simultaneous", "alternating"])
def test_all_new_settings_together_train_and_resume_bit_for_bit(tiny_mnist, tmp_path, update):
    from safetensors.torch import load_file

    kw = {**TINY, **ALL_NEW, "update": update}
    whole = dcgan.train(out=str(tmp_path / "whole"), epochs=2, **kw)
    part = dcgan.train(out=str(tmp_path / "part"), epochs=2, max_steps=5, **kw)
    dcgan.train(resume=part, max_steps=10_000)
    sa, _ = assert_same_run(whole, part)
    d = load_file(str(ckpt.all_checkpoints(whole / "checkpoints")[-1] / ckpt.D_FILE))
    assert any("parametrizations" in k for k in d)  # the spectral norm's vectors are saved
    assert sa["opt_g"]["param_groups"][0]["lr"] < 1e-4  # the cosine schedule decayed it
    # the discriminator rebuilds from its file alone (spectral norm included) and judges images
    grid = whole / "samples" / "epoch_0002.png"
    from PIL import Image

    Image.open(grid).convert("L").resize((28, 28)).save(tmp_path / "x.png")
    (decision,) = dcgan.discriminate(whole, [tmp_path / "x.png"])
    assert math.isfinite(decision["logit"]) and decision["p_real"] is None  # rpgan: a score


def test_new_settings_cannot_change_on_resume(tiny_mnist, tmp_path):
    run = dcgan.train(out=str(tmp_path / "run"), epochs=1, max_steps=2, **TINY)
    for key, value in (("loss", "rpgan"), ("r1", 1.0), ("augment", "cutout"), ("spectral_norm", True),
                       ("lr_schedule", "cosine")):
        with pytest.raises(DcganError, match=f"cannot resume with a different {key}"):
            dcgan.train(resume=run, **{key: value})
