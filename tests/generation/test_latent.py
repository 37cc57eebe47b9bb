"""Walking the noise space: seeds, slerp and lerp, interpolation pictures, vector arithmetic and the
explorer's directions, on a grey and a colour generator."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from dcgan.cli import main
from dcgan.generation import latent
from dcgan.generation.loading import load_generator


def test_seed_names_the_first_image_of_dcgan_sample(tiny_run):
    G, _ = load_generator(tiny_run)
    via_sample = main(["sample", str(tiny_run), "--n", "1", "--seed", "7", "--out", "s.npz"])
    assert via_sample == 0
    import numpy as np

    expected = torch.from_numpy(np.load("s.npz")["images"])
    torch.testing.assert_close(latent.render(G, latent.seeds_z([7], G.noise_dim)), expected)


def test_slerp_keeps_ends_and_norm_between_unit_vectors():
    a, b = torch.randn(100), torch.randn(100)
    for seed in range(20):  # the ends bit for bit: the explorer's t=1 is seed B's own image
        za, zb = latent.seed_z(seed, 100), latent.seed_z(seed + 1, 100)
        assert torch.equal(latent.slerp(za, zb, 0.0), za) and torch.equal(latent.slerp(za, zb, 1.0), zb)
        assert torch.equal(latent.lerp(za, zb, 1.0), zb)
    ua, ub = a / a.norm(), b / b.norm()
    assert latent.slerp(ua, ub, 0.5).norm() == pytest.approx(1.0, abs=1e-5)
    assert latent.lerp(ua, ub, 0.5).norm() < 0.95  # why slerp: lerp cuts through the inside
    frames = latent.path(torch.stack([a, b, a]), 4, "slerp")
    assert frames.shape == (9, 100)
    torch.testing.assert_close(frames[4], b)


def test_interpolate_writes_gif_and_strip(tiny_run):
    from PIL import Image

    assert main(["interpolate", str(tiny_run), "--seeds", "1,2,3", "--steps", "4", "--method", "slerp",
                 "--out", "walk.gif"]) == 0
    with Image.open("walk.gif") as gif:
        assert gif.n_frames == 2 * 4 + 1 + 7  # there (9) and back (7, ends not repeated)
    assert main(["interpolate", str(tiny_run), "--seeds", "1,2,3", "--steps", "4", "--method", "lerp",
                 "--out", "walk.png"]) == 0
    with Image.open("walk.png") as png:
        # 2 rows of 5 frames, 28 px + 2 px padding, scaled by 2
        assert png.size == (2 * (2 + 5 * 30), 2 * (2 + 2 * 30))


@pytest.mark.parametrize("argv, message", [
    (["--seeds", "1", "--out", "w.gif"], "at least 2"),
    (["--seeds", "1,b", "--out", "w.gif"], "comma-separated integers"),
    (["--seeds", "1,2", "--out", "w.jpg"], ".gif"),
    (["--seeds", "1,2", "--steps", "0", "--out", "w.gif"], "--steps"),
])
def test_interpolate_bad_input_is_one_line(tiny_run, capsys, argv, message):
    assert main(["interpolate", str(tiny_run), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_arithmetic_is_mean_a_minus_mean_b_plus_mean_c(tiny_run):
    from PIL import Image

    dim = 100
    z = latent.arithmetic_z([1, 2], [3], [4, 5, 6], dim)
    expected = (latent.seed_z(1, dim) + latent.seed_z(2, dim)) / 2 - latent.seed_z(3, dim) + \
        (latent.seed_z(4, dim) + latent.seed_z(5, dim) + latent.seed_z(6, dim)) / 3
    torch.testing.assert_close(z, expected)
    assert main(["arithmetic", str(tiny_run), "--a", "1,2", "--b", "3", "--c", "4,5,6",
                 "--out", "x.png"]) == 0
    with Image.open("x.png") as img:
        assert img.width > img.height  # inputs and their means on the left, the result right
        # the result image itself appears in the picture (3x nearest-neighbour upscale)
        G, _ = load_generator(tiny_run)
        res = latent.render(G, z[None])[0, 0].numpy()
        arr = __import__("numpy").asarray(img.convert("L"))
        small = res.repeat(3, 0).repeat(3, 1)
        found = any((arr[y:y + 84, x:x + 84] == small).all()
                    for y in range(arr.shape[0] - 83) for x in range(arr.shape[1] - 83)
                    if arr[y, x] == small[0, 0])
        assert found


def test_explorer_directions_are_orthonormal_and_stable(tiny_run):
    G, _ = load_generator(tiny_run)
    d = latent.directions(G, 4)
    torch.testing.assert_close(d @ d.T, torch.eye(4), atol=1e-5, rtol=0)
    torch.testing.assert_close(latent.directions(G, 4), d)


def test_interpolate_and_arithmetic_make_colour_pictures(colour_run, tmp_path):
    assert main(["interpolate", str(colour_run), "--seeds", "1,2", "--steps", "4", "--out",
                 str(tmp_path / "walk.png")]) == 0
    with Image.open(tmp_path / "walk.png") as img:
        assert img.mode == "RGB" and img.height >= 64 and img.width >= 4 * 64
    assert main(["arithmetic", str(colour_run), "--a", "1", "--b", "2", "--c", "3", "--out",
                 str(tmp_path / "sum.png")]) == 0
    with Image.open(tmp_path / "sum.png") as img:
        assert img.mode == "RGB"


def test_seed_lists_take_ranges_as_stylegan2_ada_writes_them():
    from dcgan.errors import DcganError
    from dcgan.generation.latent import MAX_SEEDS, parse_seeds

    assert parse_seeds("0-3,7, 9") == [0, 1, 2, 3, 7, 9]
    assert parse_seeds("-2,5") == [-2, 5]
    for bad, message in (("3-1", "give a range low-high"), ("1,x", "comma-separated integers or ranges"),
                         (f"0-{MAX_SEEDS * 10}", f"at most {MAX_SEEDS}")):
        with pytest.raises(DcganError, match=message):
            parse_seeds(bad)
