#!/bin/bash
# The cap's cost per allocation/free pair: alloc_free against the stand-in driver (or the real
# one: DRIVER_DIR=/usr/lib/x86_64-linux-gnu), without and with the cap preloaded, alternating
# rounds so both see the same machine; medians and their ratio.
# Usage: bench/gpu_cap/run.sh [ROUNDS] [PAIRS] [THREADS]   (from the repository, after a build)
set -euo pipefail
rounds="${1:-7}"; pairs="${2:-200000}"; threads="${3:-1}"
build="${BUILD:-build}"
driver_dir="${DRIVER_DIR:-$build/tests/gpu_cap/driver}"
work="$(mktemp -d)"; trap 'rm -rf "$work"' EXIT
printf 'limit_mb=1048576\naccount=%s/account\n' "$work" > "$work/gpu-cap.conf"
: > "$work/account"
without=(); with=()
for _ in $(seq "$rounds"); do
  without+=("$(LD_LIBRARY_PATH="$driver_dir" "$build/bench/alloc_free" "$pairs" 2 "$threads" | awk '{print $2}')")
  with+=("$(LD_LIBRARY_PATH="$driver_dir" LD_PRELOAD="$build/src/gpu_cap/libgpupool_gpu_cap_testable.so" \
    GPUPOOL_GPU_CAP_CONFIG="$work/gpu-cap.conf" "$build/bench/alloc_free" "$pairs" 2 "$threads" | awk '{print $2}')")
done
median() { printf '%s\n' "$@" | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
plain="$(median "${without[@]}")"; capped="$(median "${with[@]}")"
echo "$threads thread(s)"
echo "without the cap: ${without[*]} pairs/s (median $plain)"
echo "with the cap:    ${with[*]} pairs/s (median $capped)"
awk -v a="$plain" -v b="$capped" 'BEGIN {printf "capped/plain: %.3f; the cap adds %.0f ns per pair\n", b / a, (1e9 / b) - (1e9 / a)}'
