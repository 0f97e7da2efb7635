#!/usr/bin/env bash
# Sets everything up, then runs every test: unit and integration tests (also under
# AddressSanitizer + UndefinedBehaviorSanitizer) and the end-to-end tests against a real
# `gpupool up`, the real Docker engine, Jupyter and OpenSSH.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

# The browser tests: Debian's chromium, driven by playwright-core from npm (pinned by
# tests/browser/package-lock.json), with a CJK font for the zh-CN screenshots; and
# the linters shellcheck, clang-format and clang-tidy from Debian, eslint from npm; clang
# with libFuzzer for the fuzz targets. A
# machine with its own node and npm keeps them.
tools_missing=()
for package in chromium fonts-wqy-microhei shellcheck clang-format clang-tidy clang libclang-rt-14-dev systemd; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || tools_missing+=("$package")
done
command -v npm >/dev/null 2>&1 || tools_missing+=(nodejs npm)
if [ ${#tools_missing[@]} -gt 0 ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${tools_missing[@]}"
fi
[ -d tests/browser/node_modules/playwright-core ] || npm ci --prefix tests/browser --no-audit --no-fund
[ -x tests/lint/node_modules/.bin/eslint ] || npm ci --prefix tests/lint --no-audit --no-fund

echo "== clang-tidy (.clang-tidy: any finding fails)"
run-clang-tidy -p build -j "$(nproc)" -quiet "$PWD/src/.*\.cpp" >build/clang-tidy.log 2>&1 ||
  { grep -E "(warning|error):" build/clang-tidy.log | sort -u; exit 1; }

echo "== tests (release build)"
GPUPOOL_REQUIRE_ENGINE=1 ctest --test-dir build --output-on-failure

echo "== unit and integration tests under ASan/UBSan"
cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug -DGPUPOOL_SANITIZE=ON >/dev/null
ninja -C build-asan unit_tests integration_tests fuzz_replays
GPUPOOL_REQUIRE_ENGINE=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-asan --output-on-failure -L 'unit|integration'
echo "== fuzzing (tests/fuzz), 20 s per target"
scripts/fuzz.sh 20
echo "== all tests passed"
