"""A folder of images as a data set: any depth, classes, corrupt files skipped, the cache, resizing,
channels, and two training steps on it."""

from __future__ import annotations

import pytest
import torch
from PIL import Image

from dcgan import data as datasets
from dcgan.cli import main
from dcgan.errors import DcganError

from conftest import save


def test_folder_any_depth_classes_and_corrupt_files(data_dir, photo_folder, capsys, monkeypatch):
    data = datasets.load_any(str(photo_folder), resolution=16)
    err = capsys.readouterr().err
    assert "skipped 2 of 5 images" in err and "corrupt.png" in err and "truncated.jpg" in err
    assert data.images.shape == (3, 3, 16, 16) and data.images.dtype == torch.uint8
    assert data.classes == ["cats", "dogs"] and data.labels.tolist() == [0, 0, 1]
    assert data.images[1, :, 8, 8].tolist() == pytest.approx([10, 200, 10], abs=3)  # the nested JPEG

    # a second load reads no image file at all, and still reports what was skipped
    monkeypatch.setattr(Image, "open", lambda *a, **k: pytest.fail("an image file was decoded again"))
    again = datasets.load_any(str(photo_folder), resolution=16)
    assert torch.equal(again.images, data.images) and again.classes == data.classes
    assert "2 unreadable images were skipped" in capsys.readouterr().err


def test_folder_cache_follows_the_content(data_dir, photo_folder):
    first = datasets.load_any(str(photo_folder), resolution=16)
    save(photo_folder / "dogs" / "d.png", Image.new("RGB", (16, 16), (9, 9, 9)))
    assert len(datasets.load_any(str(photo_folder), resolution=16)) == len(first) + 1
    assert datasets.load_any(str(photo_folder), resolution=8).images.shape[-1] == 8
    assert len(list((data_dir / "folders").iterdir())) == 3


def test_folder_resize_shorter_side_and_centre_crop(data_dir, tmp_path):
    wide = Image.new("RGB", (30, 10), (255, 0, 0))
    wide.paste(Image.new("RGB", (10, 10), (0, 255, 0)), (10, 0))
    save(tmp_path / "crop" / "wide.png", wide)
    tall = Image.new("RGB", (20, 60), (255, 0, 0))
    tall.paste(Image.new("RGB", (20, 20), (0, 255, 0)), (0, 20))
    save(tmp_path / "crop" / "tall.png", tall)
    data = datasets.load_any(str(tmp_path / "crop"), resolution=10)
    assert data.images.shape == (2, 3, 10, 10)
    assert torch.equal(data.images[1, 1], torch.full((10, 10), 255, dtype=torch.uint8))  # wide: no resize
    assert not data.images[1, 0].any()
    centre = data.images[0, :, 3:7, 3:7]  # beyond the reach of the downscaling filter into the red
    assert (centre[1] >= 250).all() and (centre[0] <= 5).all()
    assert data.classes == ["crop"] and data.labels.tolist() == [0, 0]


def test_folder_channels_follow_the_images(data_dir, tmp_path):
    save(tmp_path / "grey" / "a.png", Image.new("L", (12, 12), 77))
    save(tmp_path / "grey" / "b.jpg", Image.new("RGB", (12, 12), (90, 90, 90)))  # colour file, grey pixels
    grey = datasets.load_any(str(tmp_path / "grey"), resolution=12)
    assert grey.images.shape == (2, 1, 12, 12) and grey.images[0, 0, 6, 6] == 77
    blue = Image.new("RGBA", (12, 12), (0, 0, 255, 0))  # transparent but for one blue corner
    blue.paste(Image.new("RGBA", (3, 3), (0, 0, 255, 255)), (0, 0))
    save(tmp_path / "grey" / "c.png", blue)
    mixed = datasets.load_any(str(tmp_path / "grey"), resolution=12)
    assert mixed.images.shape == (3, 3, 12, 12)
    assert mixed.images[2, :, 6, 6].tolist() == [255, 255, 255]  # onto white, not black


def test_folder_without_images_is_an_error(data_dir, tmp_path):
    (tmp_path / "empty" / "sub").mkdir(parents=True)
    (tmp_path / "empty" / "sub" / "readme.txt").write_text("hi")
    with pytest.raises(DcganError, match="holds no JPEG, PNG or WebP"):
        datasets.load_any(str(tmp_path / "empty"))
    (tmp_path / "empty" / "sub" / "bad.png").write_bytes(b"junk")
    with pytest.raises(DcganError, match="none of the 1 image files"):
        datasets.load_any(str(tmp_path / "empty"))


def test_train_two_steps_on_an_image_folder(data_dir, tmp_path):
    for i in range(8):
        save(tmp_path / "imgs" / f"{i}.png", Image.new("L", (40, 40), 30 * i))
    assert main(["train", "--data", str(tmp_path / "imgs"), "--max-steps", "2", "--batch-size", "4",
                 "--out", str(tmp_path / "run"), "--no-progress"]) == 0
    assert (tmp_path / "run" / "config.json").exists()
