"""The generator-using side: everything done with a trained generator (and its discriminator).

``loading`` (a run, checkpoint or weights file → G or D, no flags), ``batchnorm`` (which BatchNorm
statistics G samples with), ``sampling`` (seeded noise → uint8 images, grids, arrays; D's decision),
``latent`` (interpolation, arithmetic, directions), ``explorer`` (the local web page), ``export``
(TorchScript, ONNX, safetensors).
"""
