#!/usr/bin/env bash
# Sets everything up, then runs every test: lint, the end-to-end tests against a real
# `gpupool up` (release build), the real Docker engine, Jupyter and OpenSSH; the unit and
# integration tests under AddressSanitizer + UndefinedBehaviorSanitizer; then fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

# The browser tests: Debian's chromium, driven by playwright-core from npm (pinned by
# tests/browser/package-lock.json), with a CJK font for the zh-CN screenshots; and
# the linters shellcheck, clang-format and clang-tidy from Debian, eslint from npm; clang
# with libFuzzer for the fuzz targets; Debian's docker-registry (and htpasswd) for the
# multi-node tests' registry; Prometheus (and promtool) for the alert rules and the
# dashboard's queries; aiosmtpd, the SMTP server the e-mail tests mail to. A machine with its
# own node and npm keeps them. Slurm (with munge), bubblewrap and curl for the Slurm tests: a
# real cluster of two nodes on this machine (tests/slurm/cluster.sh), and skopeo and umoci
# (with getcap to check it) for the images they unpack. PostgreSQL 15 for the
# store's tests on it and the control plane of several servers, HAProxy in front of them.
# zsh, to load the CLI's completion script as its users do. OpenLDAP's slapd and its
# clients for the LDAP sign-in tests (tests/ldap/directory.py); oidc-provider from npm, the
# OpenID Connect provider of the sign-in tests (tests/oidc). Podman, the second engine a node
# with real GPUs is checked against (tests/e2e/test_gpu_devices.py).
tools_missing=()
for package in chromium fonts-wqy-microhei shellcheck clang-format clang-tidy clang libclang-rt-14-dev systemd \
  docker-registry apache2-utils prometheus python3-aiosmtpd slurm-wlm munge bubblewrap curl \
  skopeo umoci libcap2-bin postgresql-15 postgresql-client-15 haproxy zsh slapd ldap-utils podman catatonit; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || tools_missing+=("$package")
done
command -v npm >/dev/null 2>&1 || tools_missing+=(nodejs npm)
if [ ${#tools_missing[@]} -gt 0 ]; then
  apt-get update -q
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${tools_missing[@]}"
fi
[ -d tests/browser/node_modules/playwright-core ] || npm ci --prefix tests/browser --no-audit --no-fund
[ -x tests/lint/node_modules/.bin/eslint ] || npm ci --prefix tests/lint --no-audit --no-fund
[ -d tests/oidc/node_modules/oidc-provider ] || npm ci --prefix tests/oidc --no-audit --no-fund
# The run's own PostgreSQL server (tests/postgres/start.sh); tests that need it fail, rather
# than skip, where it is missing.
GPUPOOL_TEST_POSTGRES=$(tests/postgres/start.sh)
export GPUPOOL_TEST_POSTGRES GPUPOOL_REQUIRE_POSTGRES=1
# What the end-to-end tests bring along: stand-ins for NVML and the CUDA driver, the cap's client,
# agents posed in numbers (bench/sync_load, for tests/e2e/test_replicas.py).
ninja -C build fake_nvml fake_cuda cap_client sync_load
# The end-to-end tests mostly wait on containers, so the CPU-bound checks run beside them at
# the lowest priority: clang-tidy, then the one sanitized build (clang with ASan, UBSan and
# libFuzzer's coverage) that the unit and integration tests and the fuzz targets share. With
# the scheduler's autogroups, a nice value counts only inside the task's session: the checks
# get a session (setsid) of their own, niced as a whole, or they would take half the CPU
# from the sessions' containers.
background_checks() {
  echo 19 >/proc/self/autogroup 2>/dev/null || true
  echo "== clang-tidy (.clang-tidy: any finding fails)"
  nice -n 19 run-clang-tidy -p build -j "$(nproc)" -quiet "$PWD/src/.*\.cpp" >build/clang-tidy.log 2>&1 ||
    { grep -E "(warning|error):" build/clang-tidy.log | sort -u; exit 1; }
  echo "== sanitized build"
  nice -n 19 scripts/fuzz.sh --build unit_tests integration_tests gpu_cap_tests
}
export -f background_checks
setsid bash -c background_checks >build/background.log 2>&1 &
background=$!  # the session's leader: its process group is all of it
trap 'kill -- -$background 2>/dev/null || true' EXIT

echo "== end-to-end and lint tests (release build)"
started=$SECONDS
GPUPOOL_REQUIRE_ENGINE=1 ctest --test-dir build --output-on-failure -LE 'unit|integration'
echo "   took $((SECONDS - started)) s"

echo "== waiting for clang-tidy and the sanitized build"
started=$SECONDS
if ! wait "$background"; then
  tail -60 build/background.log
  exit 1
fi
trap - EXIT
grep -E "^== " build/background.log
echo "   waited $((SECONDS - started)) s"

echo "== unit and integration tests under ASan/UBSan"
GPUPOOL_REQUIRE_ENGINE=1 ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir build-fuzz --output-on-failure -j "$(nproc)" -L 'unit|integration'
echo "== fuzzing (tests/fuzz), 20 s per target"
scripts/fuzz.sh 20
echo "== all tests passed in $SECONDS s"
