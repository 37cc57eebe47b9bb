#!/usr/bin/env bash
# The full-length runs behind BENCHMARKS.md's quality tables, on a lent GPU, in one call:
#   . benchmarks/gpu_runs.sh      (from the repository root, with .carry/ carried; see gpu_env.sh)
# Each run is `dcgan train` as a user types it (the tutorial's 50 epochs unless said), then
# `dcgan eval` of its final generator. Results, logs and the small run files go to $OUT/runs.tgz.
. benchmarks/gpu_env.sh
python3 -m pytest -q -m gpu tests/training/test_graphs.py -p no:cacheprovider 2>&1 | tail -3


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
