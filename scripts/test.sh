#!/usr/bin/env bash
# Sets everything up, then runs every test: unit and integration tests (also under
# AddressSanitizer + UndefinedBehaviorSanitizer) and the end-to-end tests against a real
# `gpupool up`, the real Docker engine, Jupyter and OpenSSH.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

echo "== tests (release build)"
GPUPOOL_REQUIRE_ENGINE=1 ctest --test-dir build --output-on-failure

echo "== unit and integration tests under ASan/UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DGPUPOOL_SANITIZE=ON >/dev/null
ninja -C build-asan unit_tests integration_tests
GPUPOOL_REQUIRE_ENGINE=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -L 'unit|integration'
echo "== all tests passed"
