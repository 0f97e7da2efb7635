#!/bin/bash
# The checks that need a real NVIDIA GPU, in one run of under 8 minutes on a machine with
# the driver, CUDA, PyTorch, a C compiler and Python but no Docker and no gpupool build:
# builds the GPU-memory cap from src/gpu_cap, then tests/gpu/checks.py compares NVML's view
# with nvidia-smi's, holds PyTorch to a share, shares one cap between two processes and times
# a training loop with and without the cap. Prints one summary table; exits non-zero when a
# check fails. Usage (from the repository): bash tests/gpu/run-on-gpu.sh [SHARE_MB]; with
# build/gpu-carry (tests/gpu/carry.sh) it checks `gpupool gpus --json` too.
set -euo pipefail
cd "$(dirname "$0")/../.."
share_mb="${1:-10240}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
out="${OUT:-$work}"

echo "== machine"
nvidia-smi --query-gpu=index,name,uuid,memory.total,driver_version --format=csv,noheader
python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda)'

echo "== building the cap (and the allocation benchmark)"
# The settings path may come from the environment in this build only, as in the unit tests.
cc -std=gnu11 -D_GNU_SOURCE -DGPUCAP_CONFIG_FROM_ENVIRONMENT -O2 -fPIC -shared \
  -fvisibility=hidden -fno-stack-protector -Isrc -o "$work/libgpupool_gpu_cap.so" \
  src/gpu_cap/*.c -ldl
cc -std=gnu11 -O2 -Isrc -o "$work/alloc_free" bench/gpu_cap/alloc_free.c -ldl

printf 'limit_mb=%s\naccount=%s/account\n' "$share_mb" "$work" > "$work/gpu-cap.conf"
: > "$work/account"
export GPUCAP_LIBRARY="$work/libgpupool_gpu_cap.so" GPUPOOL_GPU_CAP_CONFIG="$work/gpu-cap.conf"
export GPUCAP_ACCOUNT="$work/account" GPUCAP_SHARE_MB="$share_mb" GPUCAP_ALLOC_FREE="$work/alloc_free"
# gpupool's own probe, where tests/gpu/carry.sh brought the binary along.
if [ -x build/gpu-carry/gpupool ]; then
  export GPUCAP_GPUPOOL="$PWD/build/gpu-carry/gpupool" LD_LIBRARY_PATH="$PWD/build/gpu-carry/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
timeout 450 python3 tests/gpu/checks.py | tee "$out/gpu-checks.txt"
