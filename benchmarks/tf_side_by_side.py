"""Where the time of one tf-tutorial training step goes, in dcgan and in TensorFlow, op by op.

    python3 -m venv /tmp/tfenv && /tmp/tfenv/bin/pip install -r benchmarks/requirements-tensorflow.txt
    PYTHONPATH=src python benchmarks/tf_side_by_side.py --tf-python /tmp/tfenv/bin/python
    PYTHONPATH=src python benchmarks/tf_side_by_side.py --tf-python /tmp/tfenv/bin/python \\
        --set precision=bf16 --json /tmp/side.json

Each layer of the tutorial's two models is timed alone at its activation shape, batch 256:
forward (``/fwd``) and forward + backward (``/fwdbwd``: the gradients for its input, except G's
noise, and for its weights); then each Adam update and the whole train step. The dcgan side runs
dcgan's own modules from the tf-tutorial preset (with ``--set`` applied, as ``dcgan train`` would);
the TensorFlow side runs the tutorial's Keras layers in tf.functions, in a worker process
(``benchmarks/tf_tutorial.py serve``) started from ``--tf-python``. The two are timed in
alternating windows, one op at a time, so load from other processes hits both alike; every figure
is a median over windows. Printed: the ten largest differences, then the step and what is left
of it after the ops (scheduling, inter-op parallelism, framework overhead).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch import nn

from dcgan.training import throughput as bench

HERE = Path(__file__).resolve().parent
BATCH = 256
G_NAMES = ["G.dense", "G.bn0", "G.act0", "G.reshape", "G.convT1", "G.bn1", "G.act1", "G.convT2",
           "G.bn2", "G.act2", "G.convT3+tanh"]
D_NAMES = ["D.conv1", "D.act1", "D.drop1", "D.conv2", "D.act2", "D.drop2", "D.flatten", "D.dense"]


def torch_ops(settings: dict) -> tuple[dict, dict]:
    """dcgan's side of every op ``benchmarks/tf_tutorial.py serve`` times, by the same names."""
    tr = bench.make_trainer({"model": "tf-tutorial", "batch_size": BATCH, "device": "cpu", **settings})
    g_layers = list(tr.G.net[:10]) + [nn.Sequential(tr.G.net[10], tr.G.net[11])]
    fmt = torch.channels_last if tr.speed.channels_last else torch.contiguous_format
    fns = {}
    gen = torch.Generator().manual_seed(0)
    for names, layers, inp in ((G_NAMES, g_layers, torch.randn(BATCH, 100, generator=gen)),
                               (D_NAMES, list(tr.D.net), torch.rand(BATCH, 1, 28, 28, generator=gen) * 2 - 1)):
        for name, layer in zip(names, layers):
            layer.train()
            if inp.dim() == 4:
                inp = inp.contiguous(memory_format=fmt)
            wrt_input = name != "G.dense"
            x = inp.detach().requires_grad_(wrt_input)
            with tr.ctx.autocast():
                out = layer(x)
            grad_out = torch.randn(out.shape, generator=gen).to(out.dtype)
            if grad_out.dim() == 4:  # as the layer above's backward hands it over
                grad_out = grad_out.contiguous(memory_format=fmt)
            sources = ([x] if wrt_input else []) + [p for p in layer.parameters() if p.requires_grad]

            def fwd(layer=layer, x=x, ctx=tr.ctx):
                with torch.no_grad(), ctx.autocast():
                    return layer(x)

            def fwd_bwd(layer=layer, x=x, grad_out=grad_out, sources=sources, ctx=tr.ctx):
                with ctx.autocast():
                    y = layer(x)
                return torch.autograd.grad(y, sources, grad_out) if sources else y

            fns[name + "/fwd"], fns[name + "/fwdbwd"] = fwd, fwd_bwd
            inp = out.detach().float()
    for name, model, opt in (("adam.G", tr.G, tr.opt_g), ("adam.D", tr.D, tr.opt_d)):
        for p in model.parameters():
            p.grad = torch.full_like(p, 1e-3)
        fns[name] = opt.step
    step, _ = bench.train_stepper(tr)
    fns["step"] = step
    return fns, {"intra_op": torch.get_num_threads(), "inter_op": torch.get_num_interop_threads(),
                 "settings": settings, "channels_last": tr.speed.channels_last, "adam": tr.speed.adam}


def time_torch(fn, steps: int, warmup: int) -> float:
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    for _ in range(steps):
        fn()
    return (time.perf_counter() - t0) / steps * 1e3


class TFWorker:
    def __init__(self, python: str, data_dir: str | None):
        cmd = [python, str(HERE / "tf_tutorial.py"), "serve"] + (["--data-dir", data_dir] if data_dir else [])
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"the TensorFlow worker did not start: run {' '.join(cmd)} to see why")
        self.info = json.loads(line)

    def time(self, op: str, steps: int, warmup: int) -> float:
        self.proc.stdin.write(json.dumps({"op": op, "steps": steps, "warmup": warmup}) + "\n")
        self.proc.stdin.flush()
        return json.loads(self.proc.stdout.readline())["ms"]

    def close(self) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=60)


def parse_settings(items: list[str]) -> dict:
    out = {}
    for item in items:
        k, _, v = item.partition("=")
        out[k.replace("-", "_")] = {"1": True, "0": False, "true": True, "false": False}.get(v, v)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tf-python", required=True, help="a Python with TensorFlow (see above)")
    ap.add_argument("--data-dir", help="dcgan's data cache, for the TF worker's MNIST batch")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a dcgan training setting for its side, e.g. precision=bf16, channels_last=1")
    ap.add_argument("--windows", type=int, default=5)
    ap.add_argument("--steps", type=int, default=3, help="calls per window (the step: 1 + steps // 3)")
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--top", type=int, default=10)
    ap.add_argument("--json", metavar="FILE")
    args = ap.parse_args(argv)

    settings = parse_settings(args.set)
    fns, torch_info = torch_ops(settings)
    tf = TFWorker(args.tf_python, args.data_dir)
    missing = set(fns) ^ set(tf.info["ready"])
    if missing:
        raise SystemExit(f"the two sides name different ops: {sorted(missing)}")
    ms = {op: {"dcgan": [], "tf": []} for op in fns}
    try:
        for op in fns:
            steps = max(1, args.steps // 3) if op == "step" else args.steps
            for w in range(args.windows):
                warm = args.warmup if w == 0 else 0
                ms[op]["dcgan"].append(time_torch(fns[op], steps, warm))
                ms[op]["tf"].append(tf.time(op, steps, warm))
            print(f"{op:22s} dcgan {statistics.median(ms[op]['dcgan']):8.2f} ms   "
                  f"tf {statistics.median(ms[op]['tf']):8.2f} ms", file=sys.stderr, flush=True)
    finally:
        tf.close()
    med = {op: {side: statistics.median(v) for side, v in sides.items()} for op, sides in ms.items()}
    report(med, args.top)
    if args.json:
        Path(args.json).write_text(json.dumps({"median_ms": med, "windows": ms, "dcgan": torch_info,
                                               "tf": {k: v for k, v in tf.info.items() if k != "ready"}},
                                              indent=1))
    return 0


def report(med: dict, top: int) -> None:
    rows = []
    for name in G_NAMES + D_NAMES + ["adam.G", "adam.D"]:
        if name.startswith("adam"):
            f_d, f_t, b_d, b_t = med[name]["dcgan"], med[name]["tf"], 0.0, 0.0
        else:
            f_d, f_t = med[name + "/fwd"]["dcgan"], med[name + "/fwd"]["tf"]
            b_d = max(med[name + "/fwdbwd"]["dcgan"] - f_d, 0.0)
            b_t = max(med[name + "/fwdbwd"]["tf"] - f_t, 0.0)
        rows.append((name, f_d, f_t, b_d, b_t))
    rows.sort(key=lambda r: -abs((r[1] + r[3]) - (r[2] + r[4])))
    print(f"| op | dcgan fwd ms | TF fwd ms | dcgan bwd ms | TF bwd ms | dcgan − TF, ms |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, f_d, f_t, b_d, b_t in rows[:top]:
        print(f"| {name} | {f_d:.2f} | {f_t:.2f} | {b_d:.2f} | {b_t:.2f} | {f_d + b_d - f_t - b_t:+.2f} |")

    def in_step(side: str) -> float:
        # one step runs G forward and backward once, D's layers on the real and on the fake batch
        total = 0.0
        for name, f_d, f_t, b_d, b_t in rows:
            t = f_d + b_d if side == "dcgan" else f_t + b_t
            total += 2 * t if name.startswith("D.") else t
        return total

    s_d, s_t = med["step"]["dcgan"], med["step"]["tf"]
    print(f"\nstep: dcgan {s_d:.1f} ms ({BATCH / s_d * 1e3:.0f} img/s), TF {s_t:.1f} ms "
          f"({BATCH / s_t * 1e3:.0f} img/s), dcgan ×{s_t / s_d:.2f} of TF")
    print(f"ops as a step runs them (D twice): dcgan {in_step('dcgan'):.1f} ms, TF {in_step('tf'):.1f} ms; "
          f"left for the rest (scheduling, overlap, overhead): dcgan {s_d - in_step('dcgan'):+.1f} ms, "
          f"TF {s_t - in_step('tf'):+.1f} ms")


if __name__ == "__main__":
    raise SystemExit(main())
