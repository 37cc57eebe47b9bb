# Source this on a lent GPU machine (no registry there): dcgan from this checkout on the machine's
# own torch, plus what it lacks carried in .carry/ (platformdirs wheel; the MNIST and Fashion-MNIST
# caches as data.tar.xz, made here by `tar -C ~/.cache/dcgan/data -cJf .carry/data.tar.xz
# mnist/*.safetensors mnist/*.sha256 fashion-mnist/*.safetensors fashion-mnist/*.sha256`).
set -e
python3 -m pip install -q --no-index --no-deps --no-compile --target /tmp/site .carry/*.whl
export PYTHONPATH="$PWD/src:/tmp/site" PYTHONUNBUFFERED=1 DCGAN_OFFLINE=1
export DCGAN_DATA=/tmp/dcgan-data
mkdir -p "$DCGAN_DATA"
[ -f .carry/data.tar.xz ] && tar -C "$DCGAN_DATA" -xJf .carry/data.tar.xz
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.max.sm --format=csv
python3 -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, 'cudnn', torch.backends.cudnn.version(), 'graph-generators', hasattr(torch.cuda.CUDAGraph, 'register_generator_state'))"
set +e
R=/tmp/gpu-runs
mkdir -p "$R"

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
