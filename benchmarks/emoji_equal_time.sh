#!/bin/bash
# Issue 13's colour row: lean64 against dcgan64 on emoji at equal training time, each preset's whole
# recipe as shipped, then both judged in Inception-v3 features against emoji's held-out tenth.
#
#   benchmarks/emoji_equal_time.sh [SEED] [MINUTES] [N_EVAL]     # defaults: 0 60 2000
#
# The two runs train at the same time, each pinned to its own core with one thread (taskset,
# OMP_NUM_THREADS=1), so both see the same machine for the same minutes (--max-minutes counts
# training only); the evaluations then run one after the other on both cores. Needs the emoji
# cache (`dcgan data fetch emoji`) and the inception extra. Writes runs/emoji-{lean64,dcgan64}-sSEED/.
set -u
S=${1:-0}
M=${2:-60}
N=${3:-2000}
mkdir -p runs
core=0
for model in lean64 dcgan64; do
  taskset -c $((core++)) env OMP_NUM_THREADS=1 dcgan train --model $model --data emoji --max-minutes "$M" \
    --epochs 100000 --seed "$S" --no-progress --out runs/emoji-$model-s$S > runs/emoji-$model-s$S.log 2>&1 &
done
wait
for model in lean64 dcgan64; do
  echo "== $model, seed $S: $(grep -c '^epoch' runs/emoji-$model-s$S.log) epochs; $(grep 'stopped at' runs/emoji-$model-s$S.log)"
  dcgan eval runs/emoji-$model-s$S --n "$N" --no-progress --out runs/emoji-$model-s$S/eval.json
done
