#!/usr/bin/env bash
# Recipes against the tutorial's plain run (gpu_runs.sh): an EMA generator on MNIST and
# Fashion-MNIST, and packing 4 on Stacked MNIST, each 50 epochs and evaluated the same way.
#   . benchmarks/gpu_recipes.sh      (repository root, .carry/ carried)
. benchmarks/gpu_env.sh
run mnist-ema mnist 10000 --ema 0.999
run fashion-mnist-ema fashion-mnist 10000 --data fashion-mnist --ema 0.999
run stacked-mnist-pack4 stacked-mnist 26000 --data stacked-mnist --pack 4
cd "$R" && tar czf "$OUT/recipes.tgz" *.log */config.json */epochs.jsonl */eval.json */samples/epoch_0050.png
