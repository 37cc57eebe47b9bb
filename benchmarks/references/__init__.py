"""Plain eager PyTorch references, one for every preset of ``dcgan models``: the yardsticks that
``benchmarks/compare_reference.py`` times dcgan's step against.

Each is the preset's architecture from stock ``nn`` modules (the same layer shapes and parameter
count as dcgan's G and D: ``compare_reference.py`` checks it at start-up, and
``tests/test_benchmarks_refs.py`` for every preset) trained by the preset's recipe as a newcomer
would write it: the same loss, update scheme, penalties, augmentation, EMA, optimiser settings and
batch size, so the same work per step, with none of dcgan's speed settings. No module here imports
dcgan, so a change inside dcgan cannot make its own yardstick faster; the worker
(``benchmarks/reference_worker.py``) runs them in a process of their own.

``REFERENCES[preset](images_uint8, batch_size, device=...)`` builds one; ``.step()`` trains on one
batch; ``.G`` and ``.D`` are its models.
"""

from __future__ import annotations

from functools import partial

from .bonsai64 import Bonsai64Reference
from .dcgan64 import DCGAN64Reference
from .keras_gan import KerasGANReference
from .lean import LeanReference
from .lsgan import LSGANReference
from .tf_tutorial import TFTutorialReference

REFERENCES = {
    "tf-tutorial": TFTutorialReference,
    "keras-gan-mnist": partial(KerasGANReference, zero_pad=True),
    "keras-gan-cifar10": KerasGANReference,
    "lsgan": LSGANReference,
    "dcgan64": DCGAN64Reference,
    "bonsai64": Bonsai64Reference,
    "lean": LeanReference,
    "lean64": partial(LeanReference, noise_dim=128, depth=4, augment=True),
}

__all__ = ["REFERENCES", "Bonsai64Reference", "DCGAN64Reference", "KerasGANReference", "LSGANReference",
           "LeanReference", "TFTutorialReference"]
