"""Class-conditional training (--cond): the projection and AC-GAN formulas on tiny examples, a tiny
conditional run that resumes bit for bit with its classes recorded, the class grid, and the one-line
refusals of what conditioning cannot combine with."""

from __future__ import annotations

import json
import math

import pytest
import torch

import dcgan
from dcgan import checkpoint as ckpt
from dcgan.data.cache import ImageSet
from dcgan.errors import DcganError
from dcgan.generation.loading import load_discriminator, load_generator
from dcgan.models import build_discriminator, build_generator, get_preset
from dcgan.training import conditioning
from dcgan.training.losses import LOSSES
from dcgan.training.updates import StepContext

from conftest import TINY_8, assert_same_run

COND_8 = {**TINY_8, "model": "lean", "data": "fake", "channels": 1, "eval_every": 0}


def _pair(cond: str, classes: int = 3):
    torch.manual_seed(0)
    arch = get_preset("lean").arch(resolution=8, cond=cond, class_names=[f"c{i}" for i in range(classes)],
                                   width=4)
    return arch, build_generator(arch), build_discriminator(arch)


def test_projection_logit_is_the_linear_read_out_plus_the_class_embedding_dot_features():
    _, _, D = _pair("projection")
    x, y = torch.rand(5, 1, 8, 8) * 2 - 1, torch.tensor([0, 1, 2, 1, 0])
    h = D.net[:-1](x)                                            # (5, F) features before the read-out
    w, b = D.net[-1].weight[0], D.net[-1].bias[0]
    expected = torch.stack([h[i] @ w + b + h[i] @ D.embed.weight[y[i]] for i in range(5)])
    torch.testing.assert_close(D(x, y), expected)
    # the label changes the logit by exactly <e_y' - e_y, h>
    y2 = (y + 1) % 3
    torch.testing.assert_close(D(x, y2) - D(x, y), ((D.embed.weight[y2] - D.embed.weight[y]) * h).sum(1))


def test_a_packed_projection_logit_adds_each_member_s_class_projection():
    arch = {**_pair("projection")[0], "pack": 2}
    torch.manual_seed(0)
    P = build_discriminator(arch)
    D = P.inner
    x, y = torch.rand(6, 1, 8, 8) * 2 - 1, torch.tensor([0, 2, 1, 1, 2, 0])
    packs = x.reshape(3, 2, 8, 8)                                 # images 2i and 2i + 1, channels stacked
    h = D.net[:-1](packs)
    w, b = D.net[-1].weight[0], D.net[-1].bias[0]
    expected = torch.stack([h[i] @ w + b + h[i] @ (D.embed.weight[y[2 * i]] + D.embed.weight[y[2 * i + 1]])
                            for i in range(3)])
    torch.testing.assert_close(P(x, y), expected)
    torch.testing.assert_close(P(x), h @ w + b)                   # no labels: the class-free part


def test_acgan_losses_add_the_cross_entropy_of_the_class_head_on_real_and_fake():
    _, G, D = _pair("acgan")
    ctx = StepContext(G=G, D=D, opt_g=None, opt_d=None, scaler=None, loss=LOSSES["rpgan"],
                      rng=torch.Generator().manual_seed(0), noise_dim=G.noise_dim,
                      device=torch.device("cpu"), precision="fp32", images=None, cond="acgan", classes=3)
    real, y = torch.rand(4, 1, 8, 8) * 2 - 1, torch.tensor([2, 0, 1, 2])
    fake, y_fake = ctx.generate(4)
    assert fake.shape == (4, 1, 8, 8) and y_fake.shape == (4,) and int(y_fake.max()) < 3
    (r_out, r_cls), (f_out, f_cls) = ctx.judge(real, y), ctx.judge(fake, y_fake)
    assert r_out.shape == (4,) and r_cls.shape == (4, 3)

    def ce(logits, labels):  # -log softmax(logits)[label], averaged
        return -torch.stack([logits[i, labels[i]] - torch.logsumexp(logits[i], 0) for i in range(len(labels))]).mean()

    adversarial = torch.nn.functional.softplus(f_out - r_out).mean()  # rpgan's D half
    d = ctx.d_loss(real, fake, r_out, f_out, 0, y, y_fake, r_cls, f_cls)
    torch.testing.assert_close(d, adversarial + ce(r_cls, y) + ce(f_cls, y_fake))
    g = ctx.with_class_loss(LOSSES["rpgan"].g(f_out, r_out), (f_cls, y_fake))
    torch.testing.assert_close(g, torch.nn.functional.softplus(r_out - f_out).mean() + ce(f_cls, y_fake))


def test_the_conditional_generator_draws_the_class_it_is_given():
    from dcgan.models.lean import ClassBatchNorm2d

    _, G, _ = _pair("projection")
    z = torch.randn(3, G.noise_dim)
    bns = [m for m in G.modules() if isinstance(m, ClassBatchNorm2d)]
    assert len(bns) == 3  # every BatchNorm of G is conditional: batch statistics, then a class's scale and shift
    x = torch.randn(4, bns[0].bn.num_features, 2, 2)
    y = torch.tensor([0, 2, 1, 0])
    normed = (x - x.mean((0, 2, 3), keepdim=True)) / (x.var((0, 2, 3), unbiased=False, keepdim=True) + 1e-5).sqrt()
    expected = normed * bns[0].scale.weight[y][:, :, None, None] + bns[0].shift.weight[y][:, :, None, None]
    torch.testing.assert_close(bns[0](x, y), expected)
    G.eval()
    a, b = G(z, torch.tensor([0, 0, 0])), G(z, torch.tensor([1, 1, 1]))
    assert not torch.equal(a, b)
    torch.testing.assert_close(G(z), G(z, torch.tensor([0, 1, 2])))  # no labels: the classes in turn


def test_unconditional_architectures_stay_as_they_were():
    arch = get_preset("lean").arch()
    assert not {"cond", "classes", "class_names"} & set(arch)
    assert not any("embed" in k or "classify" in k for k in build_discriminator(arch).state_dict())
    assert not any("scale" in k or "shift" in k for k in build_generator(arch).state_dict())


@pytest.mark.parametrize("cond, update", [("projection", "simultaneous"), ("acgan", "simultaneous"),
                                          ("acgan", "alternating")])
def test_a_conditional_run_resumes_bit_for_bit_and_records_its_classes(tmp_path, cond, update):
    whole = dcgan.train(out=str(tmp_path / "whole"), epochs=2, cond=cond, update=update, **COND_8)
    part = dcgan.train(out=str(tmp_path / "part"), epochs=2, max_steps=5, cond=cond, update=update, **COND_8)
    dcgan.train(resume=part, max_steps=10_000)
    assert_same_run(whole, part)
    assert (whole / "samples" / "epoch_0002.png").read_bytes() == (part / "samples" / "epoch_0002.png").read_bytes()
    G, meta = load_generator(whole)
    assert meta["arch"]["cond"] == cond and meta["arch"]["class_names"] == [str(i) for i in range(10)]
    assert G.classes == 10
    D, _ = load_discriminator(whole)
    assert D.cond == cond
    assert json.loads((whole / "config.json").read_text())["cond"] == cond


def test_a_labelled_run_draws_its_classes_in_the_data_s_shares(tiny_mnist, tmp_path):
    """What a conditional G draws when no class is asked (the fakes of every training step, samples,
    eval) follows the training labels' shares (tiny_mnist's are uneven), recorded in the run."""
    from dcgan import data as datasets
    from dcgan.generation.sampling import generate
    from dcgan.models.lean import default_labels, share_labels

    run = dcgan.train(model="lean", cond="projection", out=str(tmp_path / "run"), max_steps=2, batch_size=32,
                      progress=False, eval_every=0, report=False)
    G, meta = load_generator(run)
    counts = torch.bincount(datasets.load("mnist", "train").labels, minlength=10)
    shares = (counts / counts.sum()).tolist()
    assert meta["arch"]["class_source"] == "labels" and meta["arch"]["class_prior"] == pytest.approx(shares)
    assert max(shares) - min(shares) > 0.04 and G.class_prior == pytest.approx(shares)
    edges = conditioning.class_edges(meta["arch"], torch.device("cpu"))  # the training fakes' labels
    drawn = torch.bincount(share_labels(torch.rand(50_000, generator=torch.Generator().manual_seed(0)), edges),
                           minlength=10) / 50_000
    assert torch.allclose(drawn, torch.tensor(shares, dtype=torch.float32), atol=0.01)
    unasked = default_labels(0, 1000, 10, G.class_prior)   # samples and eval without a class
    assert (torch.bincount(unasked, minlength=10) - 1000 * torch.tensor(shares)).abs().max() <= 2
    assert len(torch.cat(list(generate(G, 30, 0)))) == 30


def test_the_training_grid_has_one_row_per_class(tmp_path):
    from PIL import Image

    run = dcgan.train(out=str(tmp_path / "run"), epochs=1, cond="projection", **COND_8)
    grid = Image.open(run / "samples" / "epoch_0001.png")
    cell = (8 + 2) * 2  # 8x8 images, 2 pixels of padding, saved at scale 2
    assert (grid.height // cell, grid.width // cell) == (10, conditioning.GRID_COLUMNS)
    z, y, per_row = conditioning.fixed_inputs({"cond": "acgan", "classes": 3}, torch.randn(16, 4))
    assert per_row == conditioning.GRID_COLUMNS and y.tolist() == [c for c in range(3) for _ in range(per_row)]
    assert torch.equal(z[:per_row], z[per_row:2 * per_row])  # the same noise in every row


@pytest.mark.parametrize("settings, words", [
    ({"model": "tf-tutorial"}, "takes no class label"),
    ({"update": "keras-gan", "loss": "bce"}, "without their labels"),
    ({"loss": "wgan-gp"}, "WGAN-GP"),
])
def test_what_conditioning_cannot_combine_with_is_refused_in_one_line(tmp_path, settings, words):
    with pytest.raises(DcganError) as info:
        dcgan.train(out=str(tmp_path / "run"), cond="projection", dry_run=True, **{**COND_8, **settings})
    assert words in str(info.value) and "\n" not in str(info.value)


def test_a_packed_projection_run_resumes_bit_for_bit_and_judges_packs_of_a_class(tmp_path):
    whole = dcgan.train(out=str(tmp_path / "whole"), epochs=2, cond="projection", pack=2, **COND_8)
    part = dcgan.train(out=str(tmp_path / "part"), epochs=2, max_steps=5, cond="projection", pack=2, **COND_8)
    dcgan.train(resume=part, max_steps=10_000)
    assert_same_run(whole, part)
    arch = ckpt.load_state(ckpt.newest_good(whole))["arch"]
    assert arch["pack"] == 2 and arch["cond"] == "projection" and arch["classes"] == 10
    images = dcgan.sample(whole, n=4, seed=1, classes=3)
    rows = dcgan.discriminate(whole, images, classes=3)
    assert len(rows) == 2 and all(r["class"] == "3" for r in rows)
    other = dcgan.discriminate(whole, images, classes=4)
    assert [r["logit"] for r in rows] != [r["logit"] for r in other]   # D reads the class of the pack


def test_acgan_refuses_packs_in_one_line(tmp_path):
    with pytest.raises(DcganError) as info:
        dcgan.train(out=str(tmp_path / "run"), cond="acgan", pack=2, dry_run=True, **COND_8)
    assert "a pack mixes classes" in str(info.value) and "--cond projection" in str(info.value)
    assert "\n" not in str(info.value)


def test_data_without_labels_or_with_one_class_is_refused_in_one_line(tmp_path):
    images = torch.zeros(4, 1, 8, 8, dtype=torch.uint8)
    with pytest.raises(DcganError, match="has no class labels") as info:
        conditioning.class_names("acgan", "x", ImageSet(images, None, [], "x"))
    assert "\n" not in str(info.value)
    with pytest.raises(DcganError, match="single class"):
        conditioning.class_names("acgan", "x", ImageSet(images, torch.zeros(4, dtype=torch.int64), ["a"], "x"))
    assert conditioning.class_names("none", "x", ImageSet(images)) == []
    # a folder without class sub-folders is one class: refused before training
    from PIL import Image

    folder = tmp_path / "pics"
    folder.mkdir()
    for i in range(4):
        Image.new("RGB", (8, 8), (i * 60, 0, 0)).save(folder / f"{i}.png")
    with pytest.raises(DcganError, match="single class"):
        dcgan.train(out=str(tmp_path / "run"), cond="projection", **{**COND_8, "data": str(folder)})


def _dry_arch(capsys, *flags: str) -> dict:
    from dcgan.cli import main

    capsys.readouterr()
    assert main(["train", "--model", "lean", "--dry-run", *flags]) == 0
    return json.loads(capsys.readouterr().out)["arch"]


def test_a_conditional_dry_run_prints_the_data_set_s_classes(tiny_mnist, tmp_path, capsys):
    from PIL import Image

    from dcgan.data.cache import cache_path, save_split

    arch = _dry_arch(capsys, "--data", "mnist", "--cond", "projection")
    assert arch["classes"] == 10 and arch["class_names"] == [str(d) for d in range(10)]
    assert arch["class_source"] == "labels" and "counted when training starts" in arch["class_prior"]
    assert _dry_arch(capsys, "--data", "fake", "--cond", "acgan", "--channels", "1")["classes"] == 10
    folder = tmp_path / "pets"
    for cls, n in (("dogs", 2), ("cats", 1), ("owls", 1)):
        for i in range(n):
            (folder / cls).mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (8, 8), (i * 60, 0, 0)).save(folder / cls / f"{i}.png")
    arch = _dry_arch(capsys, "--data", str(folder), "--cond", "projection", "--resolution", "32")
    assert arch["classes"] == 3 and arch["class_names"] == ["cats", "dogs", "owls"]  # as load_folder labels them
    # 1,000 classes (Stacked MNIST's digit triples): the count, and the first names only
    names = [f"{i:03d}" for i in range(1000)]
    save_split(cache_path(tiny_mnist, "stacked-mnist", "train"),
               ImageSet(torch.zeros(2, 3, 28, 28, dtype=torch.uint8), torch.tensor([0, 999]), names, "stacked-mnist"))
    arch = _dry_arch(capsys, "--data", "stacked-mnist", "--cond", "projection")
    assert arch["classes"] == 1000
    assert arch["class_names"] == names[:conditioning.DRY_RUN_NAMES] + ["... (1000 in all)"]
    # a named set not fetched yet: said so, never "0 classes"
    arch = _dry_arch(capsys, "--data", "fashion-mnist", "--cond", "projection")
    assert arch["classes"] is None and "known once fashion-mnist is fetched" in arch["class_names"]
    assert "classes" not in _dry_arch(capsys, "--data", "mnist")  # unconditional: as before


def test_a_conditional_dry_run_refuses_a_folder_of_one_class(tmp_path, capsys):
    from PIL import Image

    from dcgan.cli import main

    folder = tmp_path / "flat"
    folder.mkdir()
    Image.new("RGB", (8, 8)).save(folder / "a.png")
    assert main(["train", "--model", "lean", "--data", str(folder), "--cond", "projection", "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert "has a single class" in err and "\n" not in err


def test_resuming_after_the_folder_s_classes_changed_names_what_changed_in_one_short_line(tmp_path):
    """A folder that gained a class since its run was trained: the resume is refused with the keys
    that differ (classes, class_names), shortened, not two whole architectures; the run is kept."""
    from PIL import Image

    folder = tmp_path / "pets"
    for cls in ("cats", "dogs"):
        for i in range(4):
            (folder / cls).mkdir(parents=True, exist_ok=True)
            Image.new("RGB", (8, 8), (i * 60, 0, 0)).save(folder / cls / f"{i}.png")
    flags = {"model": "lean", "data": str(folder), "resolution": 8, "batch_size": 4, "progress": False,
             "eval_every": 0, "cond": "projection"}
    run = dcgan.train(out=str(tmp_path / "run"), max_steps=2, **flags)
    (folder / "owls").mkdir()
    Image.new("RGB", (8, 8), (0, 90, 0)).save(folder / "owls" / "0.png")
    with pytest.raises(DcganError) as err:
        dcgan.train(resume=run, max_steps=4)
    text = str(err.value)
    assert "classes: checkpoint 2, now 3" in text and "class_names: checkpoint ['cats', 'dogs'], now" in text
    assert "start a new run" in text and "\n" not in text and len(text) < 400 and "noise_dim" not in text
    assert [c.name for c in ckpt.all_checkpoints(run / "checkpoints")] == ["step_000000002"]
