"""The training side: a run folder from a resolved config to its last checkpoint.

``config`` (every setting, defaulted and validated once) → ``run`` (the run folder: new, resumed,
locked) → ``trainer`` (the loop) → ``updates`` (how one batch updates D and G, over ``losses``) with
``speed`` (Adam kernels, memory format, compile/DDP wrappers) and ``graphs`` (CUDA graphs);
``health`` (evaluation and failure checks during training), ``rollback`` (the one way back to a
checkpoint), ``trackers`` (epochs.jsonl, TensorBoard, the report), ``distributed`` (torchrun),
``throughput`` (what ``dcgan bench`` times). ``from dcgan import train`` is the entry point.
"""
