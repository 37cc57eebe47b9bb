"""Data sets by name: an unknown name is a clear error that lists the known ones."""

import pytest

from dcgan import data as datasets
from dcgan.errors import DcganError


def test_unknown_data_set_is_a_clear_error(data_dir):
    with pytest.raises(DcganError, match="unknown data set 'mnsit'; choose one of .*mnist"):
        datasets.load_any("mnsit")


def test_a_missing_folder_says_so_instead_of_unknown_data_set(tmp_path):
    with pytest.raises(DcganError, match=r"photos/bonsai does not exist; give a folder of images"):
        datasets.load_any("photos/bonsai")
    (tmp_path / "one.png").write_bytes(b"x")
    with pytest.raises(DcganError, match="is a file, not a folder of images"):
        datasets.load_any(str(tmp_path / "one.png"))
    with pytest.raises(DcganError, match="unknown data set 'nope'"):
        datasets.load_any("nope")
