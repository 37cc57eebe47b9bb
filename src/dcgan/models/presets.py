"""The preset table: every architecture and training recipe dcgan reproduces, by name.

A preset pairs a generator and a discriminator with the recipe of the tutorial it comes from
(loss, optimiser, batch size, update scheme). Flags override any recipe field; the architecture
itself is rebuilt from ``(preset name, arch kwargs)``, which every checkpoint stores.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from ..errors import DcganError
from .bonsai64 import Bonsai64Discriminator, Bonsai64Generator
from .dcgan64 import WIDTH, DCGAN64Discriminator, DCGAN64Generator, stride2_layers
from .keras_gan import KerasGANDiscriminator, KerasGANGenerator, KerasGANMnistDiscriminator
from .lean import LeanDiscriminator, LeanGenerator
from .lsgan import LSGANDiscriminator, LSGANGenerator
from .tf_tutorial import TFTutorialDiscriminator, TFTutorialGenerator


@dataclass(frozen=True)
class Preset:
    name: str
    summary: str
    source: str
    generator: Callable[..., nn.Module]      # (noise_dim, channels, resolution, **extra) -> G
    discriminator: Callable[..., nn.Module]  # (channels, resolution, **extra) -> D
    resolution: int                          # native resolution
    channels: int                            # native channels
    noise_dim: int
    resolutions: Callable[[int], bool]       # which resolutions the architecture can build
    recipe: dict[str, Any]                   # training defaults: loss, lr, betas, batch size, ...
    data: str                                # the data set its tutorial trains on
    extra: dict[str, Any] = field(default_factory=dict)  # architecture options (ngf, ndf, ...)
    conditional: bool = False                # G and D take a class label (``--cond``)
    data_recipes: dict[str, dict[str, Any]] = field(default_factory=dict)  # a data set's, over recipe

    def check_conditional(self, flag: str) -> None:
        """Refuse ``flag`` (--cond, --clusters) in one line when this preset takes no class label."""
        if not self.conditional:
            fits = ", ".join(p.name for p in PRESETS.values() if p.conditional)
            raise DcganError(f"{flag}: preset {self.name!r} takes no class label; use one of: {fits}")

    def arch(self, channels: int | None = None, resolution: int | None = None,
             noise_dim: int | None = None, pack: int = 1, spectral_norm: bool = False,
             cond: str = "none", class_names: list[str] | None = None,
             class_prior: list[float] | None = None, class_source: str = "clusters",
             **extra: Any) -> dict[str, Any]:
        """The full architecture description stored in checkpoints (``pack``: see Packed;
        ``spectral_norm``: D's conv and linear weights spectrally normalised; ``cond``: how D
        reads the class, with ``class_names`` the classes in label order, recorded so sampling
        needs nothing else; ``class_prior``: the classes' shares of the training data, which G's
        unasked labels follow, and ``class_source`` what they are shares of: "clusters" under
        --clusters, "labels" for a labelled --cond run)."""
        if cond != "none":
            self.check_conditional("--cond")
        res = resolution or self.resolution
        if not self.resolutions(res):
            fits = ", ".join(p.name for p in PRESETS.values() if p.resolutions(res)) or "none"
            raise DcganError(f"preset {self.name!r} cannot build {res}x{res} images; presets that "
                             f"fit: {fits} (or pass --resolution to resize the data)")
        unknown = set(extra) - set(self.extra)
        if unknown:
            raise DcganError(f"preset {self.name!r} has no option(s) {sorted(unknown)}; "
                             f"it takes {sorted(self.extra) or 'none'}")
        arch = {"model": self.name, "channels": channels or self.channels, "resolution": res,
                "noise_dim": noise_dim or self.noise_dim, **{**self.extra, **extra}}
        if pack > 1:  # only then: unpacked architectures stay exactly as they were saved before
            arch["pack"] = pack
        if spectral_norm:  # likewise
            arch["spectral_norm"] = True
        if cond != "none":  # likewise
            arch.update(cond=cond, classes=len(class_names or []), class_names=list(class_names or []))
            if class_prior:
                arch.update(class_source=class_source, class_prior=[round(float(p), 8) for p in class_prior])
        return arch


def _mult(k: int) -> Callable[[int], bool]:
    return lambda r: r >= k and r % k == 0


KERAS_ADAM = {"beta1": 0.9, "beta2": 0.999, "adam_eps": 1e-7}
TORCH_ADAM = {"beta1": 0.9, "beta2": 0.999, "adam_eps": 1e-8}

PRESETS: dict[str, Preset] = {}


def register(preset: Preset) -> Preset:
    PRESETS[preset.name] = preset
    return preset


register(Preset(
    name="tf-tutorial",
    summary="TensorFlow DCGAN tutorial: Dense→BN→ConvT×3 (5×5) G, 2-conv D with dropout",
    source="https://www.tensorflow.org/tutorials/generative/dcgan",
    generator=TFTutorialGenerator, discriminator=TFTutorialDiscriminator,
    resolution=28, channels=1, noise_dim=100, resolutions=_mult(4), data="mnist",
    recipe={"loss": "bce", "update": "simultaneous", "lr_g": 1e-4, "lr_d": 1e-4, **KERAS_ADAM,
            "batch_size": 256, "epochs": 50, "ckpt_every": 15},
))

# Keras-GAN trains 4,000 iterations of batch 32 (~2.1 MNIST epochs); 3 epochs cover them.
KERAS_GAN_RECIPE = {"loss": "bce", "update": "keras-gan", "lr_g": 2e-4, "lr_d": 2e-4,
                    **KERAS_ADAM, "beta1": 0.5, "batch_size": 32, "epochs": 3, "ckpt_every": 1}

register(Preset(
    name="keras-gan-mnist",
    summary="Keras-GAN DCGAN: Dense→BN→(UpSampling2D, 3×3 conv)×2 G, 4-conv D with ZeroPadding",
    source="https://github.com/eriklindernoren/Keras-GAN/blob/master/dcgan/dcgan.py",
    generator=KerasGANGenerator, discriminator=KerasGANMnistDiscriminator,
    resolution=28, channels=1, noise_dim=100, resolutions=_mult(4), data="mnist",
    recipe=dict(KERAS_GAN_RECIPE),
))

register(Preset(
    name="keras-gan-cifar10",
    summary="Keras-GAN DCGAN for 32×32 colour: Dense to 8×8×128, D without the ZeroPadding",
    source="https://github.com/eriklindernoren/Keras-GAN/blob/master/dcgan/dcgan.py",
    generator=KerasGANGenerator, discriminator=KerasGANDiscriminator,
    resolution=32, channels=3, noise_dim=100, resolutions=_mult(4), data="cifar10",
    recipe=dict(KERAS_GAN_RECIPE),
))

register(Preset(
    name="lsgan",
    summary="CS231n LSGAN: InfoGAN-style FC+ConvT G, conv/max-pool/FC D, least-squares loss",
    source="https://cs231n.github.io/assignments2024/assignment3/ (Generative_Adversarial_Networks.ipynb)",
    generator=LSGANGenerator, discriminator=LSGANDiscriminator,
    resolution=28, channels=1, noise_dim=96, resolutions=lambda r: r >= 16 and r % 4 == 0,
    data="mnist",
    recipe={"loss": "lsgan", "update": "alternating", "lr_g": 1e-3, "lr_d": 1e-3, **TORCH_ADAM,
            "beta1": 0.5, "batch_size": 128, "epochs": 10, "ckpt_every": 5},
))

register(Preset(
    name="dcgan64",
    summary="Radford et al. / pytorch/examples DCGAN: all-conv G and D, BN, ngf=ndf=128 by default",
    source="https://github.com/pytorch/examples/tree/main/dcgan; arXiv:1511.06434",
    generator=DCGAN64Generator, discriminator=DCGAN64Discriminator,
    resolution=64, channels=3, noise_dim=100, resolutions=lambda r: stride2_layers(r) > 0,
    data="emoji", extra={"ngf": WIDTH, "ndf": WIDTH},
    recipe={"loss": "bce", "update": "alternating", "lr_g": 2e-4, "lr_d": 2e-4, **TORCH_ADAM,
            "beta1": 0.5, "batch_size": 128, "epochs": 25, "ckpt_every": 5},
))

register(Preset(
    name="bonsai64",
    summary="Keras bonsai DCGAN (Caltech-101 bonsai/ folder): Dense→ConvT×3 (4×4)→5×5 conv G, 3-conv D",
    source="https://keras.io/examples/generative/dcgan_overriding_train_step/ (bonsai tutorial)",
    generator=Bonsai64Generator, discriminator=Bonsai64Discriminator,
    resolution=64, channels=3, noise_dim=100, resolutions=_mult(8), data="emoji",
    recipe={"loss": "bce", "update": "alternating", "lr_g": 2e-4, "lr_d": 2e-4, **KERAS_ADAM,
            "beta1": 0.5, "batch_size": 32, "epochs": 50, "ckpt_every": 5},
))


# -- beyond the tutorials: presets chosen by measured time to quality (BENCHMARKS.md) -----------
# Radford et al.'s lr and beta1 at batch 64; R3GAN's pairing loss and zero-centred penalties; an EMA
# whose half-life (~140 steps) fits a run of minutes. 3 epochs: the README's first command.
LEAN_RECIPE = {"loss": "rpgan", "update": "simultaneous", "lr_g": 2e-4, "lr_d": 2e-4, "beta1": 0.5,
               "beta2": 0.99, "adam_eps": 1e-8, "batch_size": 64, "epochs": 3, "ckpt_every": 1,
               "r1": 0.1, "r2": 0.1, "reg_every": 4, "ema": 0.995}

register(Preset(
    name="lean",
    summary="not a tutorial: lean DCGAN (G ~13 M MACs/img), relativistic loss + R1/R2, EMA, self-conditioned on clusters; fastest to quality",
    source="dcgan's own (models/lean.py; recipe after R3GAN, Huang et al. 2024)",
    generator=LeanGenerator, discriminator=LeanDiscriminator,
    resolution=28, channels=1, noise_dim=64, resolutions=_mult(4), data="mnist",
    # precision auto: bf16 where the CPU has bf16 instructions; at 150 s of training it reached
    # FID 26.6 against fp32's 34.0 (3 seeds each, BENCHMARKS.md "Does bf16 keep sample quality")
    # clusters auto: a self-conditioned run on 50 spectral clusters of a large set (MNIST, 10 minutes:
    # FID 0.48 against plain lean's 9.1; BENCHMARKS.md "No labels"), none on a small one
    # lr 8e-4: ten minutes of MNIST FID 0.32-0.34 (seeds 0-2) against 0.47-0.56 at 2e-4, Stacked MNIST's
    # 60 minutes KL 0.052 against 0.059 (seed 0; BENCHMARKS.md "a higher learning rate", "lean at lr 8e-4")
    recipe={**LEAN_RECIPE, "lr_g": 8e-4, "lr_d": 8e-4, "precision": "auto", "clusters": "auto"}, extra={"width": 32}, conditional=True,
    # Stacked MNIST: PacGAN's packs of 2 instead of clusters (--clusters auto is off under --pack):
    # 60 minutes at seeds 0/1/2, KL 0.034/0.059/0.038 against 0.052/0.053 clustered (seeds 0/1),
    # FID 10.8/24.2/11.5 against 10.7/11.9 (BENCHMARKS.md "Stacked MNIST in packs of two for an hour")
    data_recipes={"stacked-mnist": {"pack": 2}},
))

# The same shapes four strided layers deep for 64x64 colour (G ~3.8 M parameters, a third
# of dcgan64's multiply-adds); a few thousand images (emoji, a photo folder) make D memorise, so
# every image it sees is augmented (DiffAugment: translation, cutout, colour).
register(Preset(
    name="lean64",
    summary="not a tutorial: lean DCGAN for 64x64 colour, relativistic loss + R1/R2, EMA, DiffAugment",
    source="dcgan's own (models/lean.py, depth 4; recipe after R3GAN and DiffAugment)",
    generator=LeanGenerator, discriminator=LeanDiscriminator,
    resolution=64, channels=3, noise_dim=128, resolutions=_mult(16), data="emoji",
    recipe={**LEAN_RECIPE, "epochs": 50, "ckpt_every": 5, "augment": "translation,cutout,color"},
    extra={"width": 32, "depth": 4}, conditional=True,
))


def get_preset(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise DcganError(f"unknown model {name!r}; choose one of {', '.join(PRESETS)} "
                         "(`dcgan models` lists them)") from None


def _arch_args(arch: dict[str, Any]) -> tuple[Preset, dict[str, Any]]:
    preset = get_preset(arch["model"])
    extra = {k: v for k, v in arch.items() if k in preset.extra}
    return preset, extra


def _cond_args(arch: dict[str, Any], d: bool) -> dict[str, Any]:
    """A conditional architecture's class count (and, for D, how it reads the class); {} otherwise."""
    if arch.get("cond", "none") == "none":
        return {}
    prior = {"class_prior": [float(p) for p in arch["class_prior"]]} if arch.get("class_prior") and not d else {}
    return {"classes": int(arch["classes"]), **({"cond": arch["cond"]} if d else {}), **prior}


def build_generator(arch: dict[str, Any]) -> nn.Module:
    preset, extra = _arch_args(arch)
    extra.update(_cond_args(arch, d=False))
    return preset.generator(noise_dim=arch["noise_dim"], channels=arch["channels"],
                            resolution=arch["resolution"], **extra)


def build_discriminator(arch: dict[str, Any]) -> nn.Module:
    preset, extra = _arch_args(arch)
    extra.update(_cond_args(arch, d=True))
    pack = int(arch.get("pack", 1))
    D = preset.discriminator(channels=arch["channels"] * pack, resolution=arch["resolution"], **extra)
    if arch.get("spectral_norm"):
        spectral_normalise_(D)
    return Packed(D, pack) if pack > 1 else D


def spectral_normalise_(D: nn.Module) -> nn.Module:
    """Spectral normalisation (Miyato et al., 2018) of every conv and linear layer of D, in place,
    with PyTorch's own parametrization: one power iteration per training forward, its vectors kept
    as buffers (so they are saved, and resumed, with the weights)."""
    from torch.nn.utils.parametrizations import spectral_norm

    for name, module in list(D.named_modules()):
        if isinstance(module, (nn.Conv2d, nn.Linear, nn.ConvTranspose2d)):
            spectral_norm(module)
    return D


class Packed(nn.Module):
    """PacGAN (Lin et al., 2018): D judges ``pack`` samples at once, stacked along the channels.

    A batch of B images (all real or all fake) becomes B / pack packs of ``pack`` consecutive
    images, and D gives one logit per pack: it sees the variety within a pack, so a generator that
    collapses onto few modes is easy to spot. Training batches are shuffled, so consecutive images
    are random companions. A projection D (``--cond projection``) takes each image's label, (B,),
    and reads a pack's as (B / pack, pack): the sum of its members' projections (LeanDiscriminator).
    """

    def __init__(self, inner: nn.Module, pack: int):
        super().__init__()
        self.inner, self.pack = inner, pack

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        b, c, h, w = x.shape
        if b % self.pack:
            raise DcganError(f"this discriminator judges packs of {self.pack} images; "
                             f"{b} is not a multiple of {self.pack}")
        packs = x.reshape(b // self.pack, c * self.pack, h, w)
        return self.inner(packs) if y is None else self.inner(packs, y.reshape(b // self.pack, self.pack))

    def extra_repr(self) -> str:
        return f"pack={self.pack}"


def count_parameters(module: nn.Module) -> dict[str, int]:
    """Keras' counting: trainable weights plus BN moving mean/variance as non-trainable."""
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    frozen = sum(p.numel() for p in module.parameters() if not p.requires_grad)
    stats = sum(b.numel() for n, b in module.named_buffers() if n.endswith(("running_mean", "running_var")))
    return {"total": trainable + frozen + stats, "trainable": trainable, "non_trainable": frozen + stats}
