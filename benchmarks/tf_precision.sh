#!/bin/bash
# usage: benchmarks/tf_precision.sh [PASSES]   (TFPY: the python of a venv with benchmarks/requirements-tensorflow.txt)
# The TensorFlow tutorial (fp32, as written, its default threads) beside dcgan's tf-tutorial preset
# in fp32 and in bf16 autocast, batch 256 on the CPU, alternating contenders within each pass:
# issue 17's "x1.2 of TF in fp32" and "x2 with the best precision" as same-run ratios.
cd "$(dirname "$0")/.."
for pass in $(seq 1 "${1:-2}"); do
  for p in fp32 bf16; do
    r=$(.venv/bin/dcgan bench --model tf-tutorial --batch-size 256 --device cpu --precision $p --only train --windows 5 --steps 3 --json 2>/dev/null | .venv/bin/python -c "import sys,json; d=json.load(sys.stdin)['train_images_per_s']; print(d['median'], d['min'], d['max'])")
    echo "pass $pass dcgan $p $r"
  done
  r=$(TF_CPP_MIN_LOG_LEVEL=3 ${TFPY:-/tmp/tfenv/bin/python} benchmarks/tf_tutorial.py bench --windows 5 --steps 3 2>/dev/null | tail -1 | .venv/bin/python -c "import sys,json; d=json.loads(sys.stdin.read()); print(d['img_per_s_median'], d['min'], d['max'])")
  echo "pass $pass tf fp32 $r"
done
