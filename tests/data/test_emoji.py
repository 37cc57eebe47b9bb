"""Emoji from the npm package, on a tarball the tests make: composited onto a background, the sha512
integrity checked, npm's own client; a ``network`` test fetches the real package."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from dcgan import data as datasets
from dcgan.data import emoji, sources
from dcgan.errors import DcganError

from conftest import make_npm_tarball, sri


def test_emoji_composited_onto_a_background(data_dir, emoji_tarball):
    white = datasets.load("emoji")
    assert white.images.shape == (4, 3, 64, 64)
    assert white.classes == ["Smileys & Emotion", "People & Body", "Flags"]
    assert white.labels.tolist() == [0, 1, 1, 2]  # the skin-tone variant shares its emoji's category
    assert white.images[0, :, 0, 0].tolist() == [255, 255, 255]        # transparent -> background
    assert white.images[0, :, 32, 32].tolist() == [255, 0, 0]          # opaque red stays red
    alpha = 128 / 255
    assert white.images[1, :, 32, 32].tolist() == [round(255 * (1 - alpha))] * 2 + [255]
    black = datasets.load("emoji:black")
    assert black.images[0, :, 0, 0].tolist() == [0, 0, 0]
    assert black.images[1, :, 32, 32].tolist() == [0, 0, round(255 * alpha)]
    assert datasets.load("emoji:#102030").images[2, :, 0, 0].tolist() == [16, 32, 48]
    with pytest.raises(DcganError, match="not a colour"):
        datasets.load("emoji:notacolour")
    with pytest.raises(DcganError, match="takes no option"):
        datasets.load("mnist:black")
    # one cache for every background: the RGBA images
    assert datasets.cache.load_split(data_dir / "emoji" / "train.safetensors").images.shape[1] == 4


def test_emoji_integrity_mismatch(data_dir, emoji_tarball, monkeypatch):
    monkeypatch.setattr(emoji, "INTEGRITY", sri(b"something else"))
    with pytest.raises(DcganError) as err:
        datasets.fetch("emoji")
    msg = str(err.value)
    assert "sha512" in msg and "does not match" in msg and "npm pack emoji-datasource-google@16.0.0" in msg


def test_emoji_offline_says_where_to_put_the_tarball(data_dir):
    with pytest.raises(DcganError) as err:
        datasets.fetch("emoji")
    msg = str(err.value)
    assert "offline" in msg and f"put {emoji.TARBALL} in {data_dir / 'emoji' / 'raw'}" in msg


def fake_npm(tmp_path: Path, monkeypatch, tarball: Path) -> None:
    """An ``npm`` on PATH whose ``pack`` drops ``tarball`` in the current folder, as the real one does."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "npm"
    script.write_text(f"#!/bin/sh\n[ \"$1\" = pack ] && cp '{tarball}' ./{emoji.TARBALL}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bindir}{os.pathsep}{os.environ['PATH']}")


def test_emoji_npm_pack_source(data_dir, tmp_path, monkeypatch):
    blob = make_npm_tarball(tmp_path / "registry" / emoji.TARBALL)
    fake_npm(tmp_path, monkeypatch, tmp_path / "registry" / emoji.TARBALL)
    monkeypatch.setenv("DCGAN_OFFLINE", "0")
    monkeypatch.setattr(emoji, "INTEGRITY", sri(blob + b"x"))
    with pytest.raises(DcganError, match="does not match"):
        datasets.fetch("emoji")
    monkeypatch.setattr(emoji, "INTEGRITY", sri(blob))
    assert len(datasets.load("emoji")) == 4
    assert (data_dir / "emoji" / "raw" / emoji.TARBALL).read_bytes() == blob  # kept for rebuilds


@pytest.mark.network
@pytest.mark.slow
def test_emoji_real_npm_package(tmp_path, monkeypatch):
    """npm pack emoji-datasource-google@16.0.0 really delivers 3,786 64x64 images in 10 categories."""
    monkeypatch.setenv("DCGAN_OFFLINE", "0")
    try:
        tarball = sources.npm_pack(emoji.PACKAGE, emoji.INTEGRITY, tmp_path)
    except sources.SourceFailed as exc:
        if "does not match" in str(exc):
            raise
        pytest.skip(f"npm registry unreachable here: {exc}")
    data = emoji.from_tarball(tarball)["train"]
    assert data.images.shape == (3786, 4, 64, 64)
    assert len(data.classes) == 10 and "Flags" in data.classes
    from dcgan.data import holdout

    assert int(holdout.held_out_mask(data.images).sum()) == 438  # the held-out split README states
