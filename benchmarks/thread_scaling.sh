#!/bin/bash
# usage: benchmarks/thread_scaling.sh   (TFPY: the python of a venv with benchmarks/requirements-tensorflow.txt)
# threads scaling: dcgan (torch) at 1 and 2 OpenMP threads, TF at (intra, inter) = (1,1), (2,2), (2,1)
cd "$(dirname "$0")/.."
for pass in 1 2; do
  for t in 2 1; do
    r=$(OMP_NUM_THREADS=$t .venv/bin/dcgan bench --model tf-tutorial --batch-size 256 --device cpu --only train --windows 5 --steps 3 --json 2>/dev/null | .venv/bin/python -c "import sys,json; d=json.load(sys.stdin)['train_images_per_s']; print(d['median'], d['min'], d['max'])")
    echo "pass $pass dcgan threads=$t $r"
  done
  for ti in "1 1" "2 2" "2 1"; do
    set -- $ti
    r=$(TF_NUM_INTRAOP_THREADS=$1 TF_NUM_INTEROP_THREADS=$2 TF_CPP_MIN_LOG_LEVEL=3 ${TFPY:-/tmp/tfenv/bin/python} benchmarks/tf_tutorial.py bench --windows 5 --steps 3 2>/dev/null | tail -1 | /tmp/tfenv/bin/python -c "import sys,json; d=json.loads(sys.stdin.read()); print(d['img_per_s_median'], d['min'], d['max'])")
    echo "pass $pass tf intra=$1 inter=$2 $r"
  done
done
