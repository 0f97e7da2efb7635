#!/usr/bin/env bash
# Sets everything up, then runs `gpupool up` on the embedded default: SQLite in
# /var/lib/gpupool, the local Docker engine, real GPUs through NVML or simulated ones.
# Extra arguments go to `gpupool up` (see `build/gpupool up --help`).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec build/gpupool up --data-dir /var/lib/gpupool --listen 0.0.0.0:8080 "$@"
