#!/usr/bin/env bash
# The full-length runs behind BENCHMARKS.md's quality tables, on a lent GPU, in one call:
#   . benchmarks/gpu_runs.sh      (from the repository root, with .carry/ carried; see gpu_env.sh)
# Each run is `dcgan train` as a user types it (the tutorial's 50 epochs unless said), then
# `dcgan eval` of its final generator. Results, logs and the small run files go to $OUT/runs.tgz.
. benchmarks/gpu_env.sh
R=/tmp/gpu-runs
mkdir -p "$R"
python3 -m pytest -q -m gpu tests/test_cuda_graphs.py -p no:cacheprovider 2>&1 | tail -3

run() {  # run NAME EVAL_DATA N_EVAL [dcgan train flags...]
  local name=$1 data=$2 n=$3 t0=$SECONDS
  shift 3
  python3 -m dcgan train --device cuda --out "$R/$name" --no-progress "$@" > "$R/$name.log" 2>&1
  echo "$name: train exit $? in $((SECONDS - t0)) s; $(grep -c '^epoch' "$R/$name.log") epochs; $(grep '^epoch' "$R/$name.log" | tail -1)"
  grep -iE "error|warning" "$R/$name.log" | head -3
  python3 -m dcgan eval "$R/$name" --data "$data" --n "$n" --device cuda --out "$R/$name/eval.json" > "$R/$name.eval.log" 2>&1
  python3 - "$R/$name/eval.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1])); m = r["metrics"]
print("  eval:", {k: (round(v, 4) if isinstance(v, float) else v) for k, v in m.items()
                  if k in ("fid", "kid", "precision", "recall", "density", "coverage", "modes",
                           "kl_uniform", "classifier_score")})
EOF
}

run mnist mnist 10000 --eval-every 5
run mnist-bf16-nhwc mnist 10000 --eval-every 5 --precision bf16 --channels-last
run fashion-mnist fashion-mnist 10000 --data fashion-mnist --eval-every 5
run stacked-mnist stacked-mnist 26000 --data stacked-mnist
run stacked-mnist-pack2 stacked-mnist 26000 --data stacked-mnist --pack 2

cd "$R" && tar czf "$OUT/runs.tgz" --exclude='checkpoints' --exclude='tensorboard' *.log */config.json \
  */stats.jsonl */epochs.jsonl */metrics.jsonl */eval.json */samples/epoch_0050.png */progress.gif \
  */report.html 2>/dev/null
last=$(ls -d "$R"/mnist/checkpoints/step_* | tail -1)
cp "$last/generator.safetensors" "$OUT/mnist_generator.safetensors"
ls -la "$OUT"
