#!/bin/bash
# Issue 13's colour row: lean64 against dcgan64 on emoji at equal training time, each preset's whole
# recipe as shipped, then both judged in Inception-v3 features against emoji's held-out tenth.
#
#   benchmarks/emoji_equal_time.sh [SEED] [MINUTES] [N_EVAL]     # defaults: 0 60 2000
#   LEAN64_FLAGS="--precision bf16" TAG=-bf16 benchmarks/emoji_equal_time.sh 0 60 10000
#
# LEAN64_FLAGS: extra flags for lean64's run only; TAG: a suffix for both run folders.
# The two runs train at the same time, each pinned to its own core with one thread (taskset,
# OMP_NUM_THREADS=1), so both see the same machine for the same minutes (--max-minutes counts
# training only); the evaluations then run one after the other on both cores. Needs the emoji
# cache (`dcgan data fetch emoji`) and the inception extra. Writes runs/emoji-{lean64,dcgan64}-sSEED/.
set -u
S=${1:-0}
M=${2:-60}
N=${3:-2000}
T=${TAG:-}
mkdir -p runs
core=0
for model in lean64 dcgan64; do
  extra=""
  [ "$model" = lean64 ] && extra=${LEAN64_FLAGS:-}
  # shellcheck disable=SC2086  # the extra flags are words
  taskset -c $((core++)) env OMP_NUM_THREADS=1 dcgan train --model $model --data emoji --max-minutes "$M" \
    --epochs 100000 --seed "$S" --no-progress $extra --out runs/emoji-$model-s$S$T > runs/emoji-$model-s$S$T.log 2>&1 &
done
wait
for model in lean64 dcgan64; do
  r=runs/emoji-$model-s$S$T
  echo "== $model, seed $S: $(grep -c '^epoch' $r.log) epochs; $(grep 'stopped at' $r.log)"
  dcgan eval $r --n "$N" --no-progress --out $r/eval.json
done
