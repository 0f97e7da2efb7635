#!/usr/bin/env bash
# Verifies the systemd units in deploy/systemd with systemd-analyze, against this build's
# binary in place of the installed one. Any complaint fails.
#   tests/lint/check_units.sh BINARY
set -euo pipefail
binary="$1"
cd "$(dirname "$0")/../.."
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for unit in deploy/systemd/*.service; do
  sed "s|/usr/local/bin/gpupool|$binary|" "$unit" >"$scratch/$(basename "$unit")"
done
output="$(systemd-analyze verify --man=no "$scratch"/*.service 2>&1 || true)"
if [ -n "$output" ]; then
  echo "$output"
  exit 1
fi
echo "units verified: $(ls deploy/systemd)"
