#!/usr/bin/env bash
# Does bf16 (and channels_last) keep sample quality? The tutorial's 50-epoch MNIST run at two more
# seeds in fp32 and in bf16, each evaluated like gpu_runs.sh does (seed 0 is there).
#   . benchmarks/gpu_precision.sh      (repository root, .carry/ carried)
. benchmarks/gpu_env.sh
for seed in 1 2; do
  run "mnist-fp32-seed$seed" mnist 10000 --seed "$seed"
  run "mnist-bf16-seed$seed" mnist 10000 --seed "$seed" --precision bf16
done
cd "$R" && tar czf "$OUT/precision.tgz" *.log */config.json */epochs.jsonl */eval.json */samples/epoch_0050.png
