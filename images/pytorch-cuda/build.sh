#!/usr/bin/env bash
# Builds a CUDA session image from the official PyTorch image and tags it for gpupool's
# catalog. Needs registry access (Docker Hub).
#   usage: images/pytorch-cuda/build.sh PYTORCH_VERSION CUDA_VERSION CUDNN_VERSION
#   e.g.   images/pytorch-cuda/build.sh 2.7.0 11.8 9
set -euo pipefail
pytorch=${1:?pytorch version, e.g. 2.7.0}
cuda=${2:?cuda version, e.g. 11.8}
cudnn=${3:?cudnn major version, e.g. 9}
short=$(echo "$pytorch" | cut -d. -f1-2)
tag="pytorch${short}-cuda${cuda}-cudnn${cudnn}-runtime"
docker build "$(dirname "$0")" \
  --build-arg PYTORCH_VERSION="$pytorch" --build-arg CUDA_VERSION="$cuda" \
  --build-arg CUDNN_VERSION="$cudnn" --build-arg GPUPOOL_TAG="$tag" \
  -t "gpupool/session:${tag}"
echo "built gpupool/session:${tag}; restart gpupool to add it to the catalog"
