"""Generators and discriminators: one module per tutorial architecture, the preset table in
``presets.py`` (architecture + recipe by name), shared layers in ``layers.py``, Keras-style layer
tables in ``summary.py``. Add a preset: write its G and D in a new module and ``register`` it there.
"""

from .presets import (PRESETS, Packed, Preset, build_discriminator, build_generator, count_parameters,
                      get_preset, register, spectral_normalise_)

__all__ = ["PRESETS", "Packed", "Preset", "build_discriminator", "build_generator", "count_parameters",
           "get_preset", "register", "spectral_normalise_"]
