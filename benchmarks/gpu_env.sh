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
