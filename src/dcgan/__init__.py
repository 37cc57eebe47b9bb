"""dcgan: train, sample, explore and evaluate deep convolutional GANs.

The Python API mirrors the command line::

    import dcgan
    run = dcgan.train(model="tf-tutorial", data="mnist", epochs=1, limit=2048)
    G, meta = dcgan.load_generator(run)
    images = dcgan.sample(run, n=16, seed=0)   # uint8 (16, 1, 28, 28)
"""

__version__ = "0.1.0"

__all__ = ["train", "load_generator", "load_discriminator", "sample", "discriminate", "DcganError",
           "__version__"]


def __getattr__(name: str):
    # Lazy, so `import dcgan` and `dcgan --help` stay fast and import no torch until needed.
    if name == "train":
        from .train import train

        return train
    if name in ("load_generator", "load_discriminator", "sample", "discriminate"):
        from . import inference as _sample

        return getattr(_sample, name)
    if name == "DcganError":
        from .errors import DcganError

        return DcganError
    raise AttributeError(name)
