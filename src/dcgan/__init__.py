"""dcgan: train, sample, explore and evaluate deep convolutional GANs.

The Python API mirrors the command line::

    import dcgan
    run = dcgan.train(model="tf-tutorial", data="mnist", epochs=1, limit=2048)
    G, meta = dcgan.load_generator(run)
    images = dcgan.sample(run, n=16, seed=0)   # uint8 (16, 1, 28, 28)
"""

__version__ = "0.1.0"

# Imported eagerly on purpose: `dcgan.train` must be the function, and a lazily imported submodule
# of the same name would replace it on the package.
from .errors import DcganError  # noqa: E402
from .inference import discriminate, load_discriminator, load_generator, sample  # noqa: E402
from .train import train  # noqa: E402

__all__ = ["train", "load_generator", "load_discriminator", "sample", "discriminate", "DcganError",
           "__version__"]
