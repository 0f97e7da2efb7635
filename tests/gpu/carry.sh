#!/bin/bash
# Puts build/gpupool and the shared libraries it needs beyond glibc into build/gpu-carry, for a
# GPU machine that has no gpupool build (the device tool's `carry`): run-on-gpu.sh then checks
# `gpupool gpus --json` against nvidia-smi too. Usage (after a build): bash tests/gpu/carry.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
carry=build/gpu-carry
rm -rf "$carry"
mkdir -p "$carry/lib"
# Without its debugging symbols: what is carried is bounded (64 MiB).
strip -o "$carry/gpupool" build/gpupool
ldd build/gpupool | awk '$3 ~ /^\// {print $3}' | while read -r library; do
  case "$(basename "$library")" in
    libc.so.* | libm.so.* | ld-linux* | libpthread.so.* | libdl.so.*) ;;  # the machine's own
    *) cp -L "$library" "$carry/lib/" ;;
  esac
done
du -sh "$carry"
