"""Data sets by name: an unknown name is a clear error that lists the known ones."""

import pytest

from dcgan import data as datasets
from dcgan.errors import DcganError


def test_unknown_data_set_is_a_clear_error(data_dir):
    with pytest.raises(DcganError, match="unknown data set 'mnsit'; choose one of .*mnist"):
        datasets.load_any("mnsit")
