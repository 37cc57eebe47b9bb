"""dcgan: train, sample, explore and evaluate deep convolutional GANs.

The Python API mirrors the command line::

    import dcgan
    run = dcgan.train(model="tf-tutorial", data="mnist", epochs=1, limit=2048)
    G, meta = dcgan.load_generator(run)
    images = dcgan.sample(run, n=16, seed=0)   # uint8 (16, 1, 28, 28)
"""

from .version import __version__  # noqa: E402

# Imported eagerly on purpose: `dcgan.train` must be the function, and a lazily imported submodule
# of the same name would replace it on the package.
from .errors import DcganError  # noqa: E402
from .generation.loading import load_discriminator, load_generator  # noqa: E402
from .generation.sampling import discriminate, sample  # noqa: E402
from .training.run import train  # noqa: E402

__all__ = ["train", "load_generator", "load_discriminator", "sample", "discriminate", "DcganError",
           "__version__"]
