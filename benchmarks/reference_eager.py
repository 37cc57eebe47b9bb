"""The eager references under their first names (they live in ``benchmarks/references/`` now, one
module per preset; ``references.REFERENCES`` has one for every preset). Imports nothing from dcgan.
"""

from __future__ import annotations

from references import REFERENCES, DCGAN64Reference, TFTutorialReference

EagerReference = TFTutorialReference          # the TensorFlow tutorial's train_step
EagerDCGAN64Reference = DCGAN64Reference      # pytorch/examples' dcgan loop

__all__ = ["REFERENCES", "EagerDCGAN64Reference", "EagerReference"]
