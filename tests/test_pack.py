"""--pack M (PacGAN): D judges packs of M samples stacked along the channels."""

import pytest
import torch

import dcgan
from dcgan import checkpoint as ckpt
from dcgan.errors import DcganError
from dcgan.images import make_grid, save_png
from dcgan.models import Packed, build_discriminator, count_parameters, get_preset

TINY = {"batch_size": 16, "limit": 64, "log_every": 1, "progress": False}


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


def test_packed_run_trains_resumes_samples_and_discriminates(tiny_mnist, tmp_path):
    run = dcgan.train(out=str(tmp_path / "p"), epochs=1, pack=2, **TINY)
    dcgan.train(resume=run, epochs=2)
    assert ckpt.all_checkpoints(run / "checkpoints")[-1].name == "step_000000008"
    assert ckpt.load_state(ckpt.newest_good(run))["arch"]["pack"] == 2
    imgs = dcgan.sample(run, n=4)
    paths = []
    for i in range(3):
        save_png(make_grid(imgs[i:i + 1], nrow=1, padding=0), tmp_path / f"{i}.png")
        paths.append(tmp_path / f"{i}.png")
    decisions = dcgan.discriminate(run, paths[:2])
    assert len(decisions) == 1 and 0.0 <= decisions[0]["p_real"] <= 1.0
    assert str(paths[0]) in decisions[0]["image"] and str(paths[1]) in decisions[0]["image"]
    with pytest.raises(DcganError, match="multiple of 2"):
        dcgan.discriminate(run, paths)


def test_pack_that_does_not_divide_the_batches_is_refused(tiny_mnist, tmp_path):
    with pytest.raises(DcganError, match="--pack 3"):
        dcgan.train(out=str(tmp_path / "a"), pack=3, **TINY)
    with pytest.raises(DcganError, match="half batch"):
        dcgan.train(out=str(tmp_path / "b"), model="keras-gan-mnist", data="mnist", pack=16, **TINY)
    with pytest.raises(DcganError, match="--limit"):  # 60 images: the last batch holds 12, then...
        dcgan.train(out=str(tmp_path / "c"), pack=8, batch_size=16, limit=60, progress=False)
    assert not (tmp_path / "a" / "checkpoints").exists()
