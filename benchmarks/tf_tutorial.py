"""The TensorFlow DCGAN tutorial's models and train step, run on this machine for comparison.

Not part of dcgan and not run by the tests: it needs TensorFlow, which dcgan does not depend on.
It rebuilds the tutorial as written (Keras Sequential models, BinaryCrossentropy(from_logits=True),
Adam(1e-4) for both, one tf.function train step computing both gradients from one forward pass)
from the issue's specification, and reads MNIST from dcgan's verified cache, so both tools see the
same images. Three jobs:

    # steady-state training speed, median of timed windows after warm-up (as dcgan bench):
    python benchmarks/tf_tutorial.py bench --windows 7 --steps 3
    # train N epochs as the tutorial does and write 10,000 samples drawn with training=False:
    python benchmarks/tf_tutorial.py train --epochs 2 --out /tmp/tf-run
    dcgan eval /tmp/tf-run/samples.npz --data mnist --n 10000
    # each layer's forward and backward, each Adam and the step, timed on request by
    # benchmarks/tf_side_by_side.py, which alternates them with dcgan's own:
    python benchmarks/tf_tutorial.py serve

Set up once (TensorFlow from PyPI, in its own environment):
    python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install tensorflow-cpu safetensors
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np
import tensorflow as tf
from tensorflow.keras import layers

NOISE = 100
BATCH = 256


def generator() -> tf.keras.Model:
    return tf.keras.Sequential([
        tf.keras.Input((NOISE,)),
        layers.Dense(7 * 7 * 256, use_bias=False), layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Reshape((7, 7, 256)),
        layers.Conv2DTranspose(128, 5, strides=1, padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Conv2DTranspose(64, 5, strides=2, padding="same", use_bias=False),
        layers.BatchNormalization(), layers.LeakyReLU(),
        layers.Conv2DTranspose(1, 5, strides=2, padding="same", use_bias=False, activation="tanh"),
    ])


def discriminator() -> tf.keras.Model:
    return tf.keras.Sequential([
        tf.keras.Input((28, 28, 1)),
        layers.Conv2D(64, 5, strides=2, padding="same"), layers.LeakyReLU(), layers.Dropout(0.3),
        layers.Conv2D(128, 5, strides=2, padding="same"), layers.LeakyReLU(), layers.Dropout(0.3),
        layers.Flatten(), layers.Dense(1),
    ])


def mnist_train(data_dir: Path) -> np.ndarray:
    from safetensors.numpy import load_file

    images = load_file(str(data_dir / "mnist" / "train.safetensors"))["images"]  # (N, 1, 28, 28) uint8
    return ((images.transpose(0, 2, 3, 1).astype("float32") - 127.5) / 127.5)


class Tutorial:
    def __init__(self, seed: int = 0):
        tf.random.set_seed(seed)
        self.G, self.D = generator(), discriminator()
        self.bce = tf.keras.losses.BinaryCrossentropy(from_logits=True)
        self.opt_g, self.opt_d = tf.keras.optimizers.Adam(1e-4), tf.keras.optimizers.Adam(1e-4)

    @tf.function
    def train_step(self, images):
        noise = tf.random.normal([tf.shape(images)[0], NOISE])
        with tf.GradientTape() as gen_tape, tf.GradientTape() as disc_tape:
            fake = self.G(noise, training=True)
            real_out = self.D(images, training=True)
            fake_out = self.D(fake, training=True)
            g_loss = self.bce(tf.ones_like(fake_out), fake_out)
            d_loss = self.bce(tf.ones_like(real_out), real_out) + self.bce(tf.zeros_like(fake_out), fake_out)
        self.opt_g.apply_gradients(zip(gen_tape.gradient(g_loss, self.G.trainable_variables),
                                       self.G.trainable_variables))
        self.opt_d.apply_gradients(zip(disc_tape.gradient(d_loss, self.D.trainable_variables),
                                       self.D.trainable_variables))
        return d_loss, g_loss


def bench(args) -> dict:
    x = mnist_train(args.data_dir)[: BATCH * (args.warmup + args.windows * args.steps)]
    t = Tutorial()
    batches = [tf.constant(x[i:i + BATCH]) for i in range(0, len(x) - BATCH + 1, BATCH)]
    k = 0
    for _ in range(args.warmup):
        t.train_step(batches[k % len(batches)])[0].numpy()
        k += 1
    rates = []
    for _ in range(args.windows):
        t0 = time.perf_counter()
        for _ in range(args.steps):
            out = t.train_step(batches[k % len(batches)])
            k += 1
        out[0].numpy()  # wait for the work
        rates.append(args.steps * BATCH / (time.perf_counter() - t0))
    return {"tool": f"tensorflow {tf.__version__} (tutorial as written)", "batch": BATCH,
            "img_per_s_median": round(statistics.median(rates), 1),
            "min": round(min(rates), 1), "max": round(max(rates), 1),
            "windows": args.windows, "steps_per_window": args.steps, "threads": os.cpu_count()}


def _wait(out) -> None:
    """Block until TensorFlow has computed ``out`` (a tensor or a nest of them)."""
    for t in tf.nest.flatten(out):
        if t is not None:
            t.numpy()


G_NAMES = ["G.dense", "G.bn0", "G.act0", "G.reshape", "G.convT1", "G.bn1", "G.act1", "G.convT2",
           "G.bn2", "G.act2", "G.convT3+tanh"]  # the last transposed conv carries the tanh
D_NAMES = ["D.conv1", "D.act1", "D.drop1", "D.conv2", "D.act2", "D.drop2", "D.flatten", "D.dense"]


def ops(data_dir: Path) -> dict:
    """What benchmarks/tf_side_by_side.py times, by the names it uses: each layer of the tutorial's
    models forward (``NAME/fwd``) and forward + backward (``NAME/fwdbwd``: the gradients for its
    input, except G's noise, and for its weights), alone in a tf.function at its activation shape;
    each Adam update (``adam.G``, ``adam.D``); and the whole train step (``step``)."""
    t = Tutorial()
    x = tf.constant(mnist_train(data_dir)[:BATCH])
    t.train_step(x)  # builds both optimisers' slots
    rng = tf.random.Generator.from_seed(0)
    fns = {}
    for names, model, inp in ((G_NAMES, t.G, rng.normal([BATCH, NOISE])), (D_NAMES, t.D, x)):
        for name, layer in zip(names, model.layers):
            out = layer(inp, training=True)
            grad_out = rng.normal(tf.shape(out))
            wrt_input = name != "G.dense"

            @tf.function
            def fwd(inp=inp, layer=layer):
                return layer(inp, training=True)

            @tf.function
            def fwd_bwd(inp=inp, layer=layer, grad_out=grad_out, wrt_input=wrt_input):
                with tf.GradientTape() as tape:
                    if wrt_input:
                        tape.watch(inp)
                    y = layer(inp, training=True)
                sources = ([inp] if wrt_input else []) + list(layer.trainable_variables)
                # y is returned too: a gradient that does not need y (a convolution's) would let
                # Grappler prune the forward pass away
                return [y] + tape.gradient(y, sources, output_gradients=grad_out)

            fns[name + "/fwd"], fns[name + "/fwdbwd"] = fwd, fwd_bwd
            inp = out
    for name, model, opt in (("adam.G", t.G, t.opt_g), ("adam.D", t.D, t.opt_d)):
        grads = [tf.ones_like(v) * 1e-3 for v in model.trainable_variables]

        @tf.function
        def apply(model=model, opt=opt, grads=grads):
            opt.apply_gradients(zip(grads, model.trainable_variables))
            return model.trainable_variables[0]

        fns[name] = apply
    fns["step"] = lambda: t.train_step(x)
    return fns


def serve(args) -> None:
    """Time ops on request: one JSON line in (``{"op": NAME, "steps": K, "warmup": W}``), one out
    (``{"ms": milliseconds per call}``), until stdin closes. The driver alternates these windows
    with dcgan's, so load from other processes hits both alike."""
    import sys

    fns = ops(args.data_dir)
    print(json.dumps({"ready": sorted(fns), "tool": f"tensorflow {tf.__version__}",
                      "intra_op": tf.config.threading.get_intra_op_parallelism_threads(),
                      "inter_op": tf.config.threading.get_inter_op_parallelism_threads()}), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        fn = fns[req["op"]]
        for _ in range(req.get("warmup", 0)):
            _wait(fn())
        t0 = time.perf_counter()
        for _ in range(req["steps"]):
            out = fn()
        _wait(out)
        print(json.dumps({"ms": (time.perf_counter() - t0) / req["steps"] * 1e3}), flush=True)


def train(args) -> dict:
    x = mnist_train(args.data_dir)
    ds = tf.data.Dataset.from_tensor_slices(x).shuffle(60000).batch(BATCH)
    t = Tutorial(args.seed)
    per_epoch = []
    for epoch in range(args.epochs):
        t0 = time.perf_counter()
        for batch in ds:
            d_loss, g_loss = t.train_step(batch)
        d_loss.numpy()
        per_epoch.append(round(time.perf_counter() - t0, 1))
        print(f"epoch {epoch + 1}: {per_epoch[-1]} s, d_loss {float(d_loss):.3f} g_loss {float(g_loss):.3f}",
              flush=True)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    rng = tf.random.Generator.from_seed(args.seed)
    chunks = [t.G(rng.normal([500, NOISE]), training=False).numpy() for _ in range(args.n // 500)]
    imgs = np.concatenate(chunks)  # (n, 28, 28, 1) in [-1, 1]
    u8 = np.clip(np.round((imgs + 1) * 127.5), 0, 255).astype(np.uint8).transpose(0, 3, 1, 2)
    np.savez(out / "samples.npz", images=u8)
    moving_var = float(np.mean(t.G.layers[1].moving_variance.numpy()))
    return {"tool": f"tensorflow {tf.__version__}", "epochs": args.epochs, "seconds_per_epoch": per_epoch,
            "samples": str(out / "samples.npz"), "first_bn_moving_variance_mean": moving_var}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("job", choices=("bench", "train", "serve"))
    ap.add_argument("--data-dir", type=Path, default=Path(os.environ.get(
        "DCGAN_DATA", Path.home() / ".cache" / "dcgan" / "data")))
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--windows", type=int, default=7)
    ap.add_argument("--steps", type=int, default=3)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--n", type=int, default=10000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="tf-run")
    args = ap.parse_args()
    if args.job == "serve":
        serve(args)
    else:
        print(json.dumps(bench(args) if args.job == "bench" else train(args)))


if __name__ == "__main__":
    main()
