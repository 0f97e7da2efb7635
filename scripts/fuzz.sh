#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz) with Debian's clang, ASan and UBSan, and runs each
# for a bounded time from its committed seed corpus. New inputs go to build-fuzz/corpus/, not
# the commit; a crash stops the run with the input saved as build-fuzz/crash-* — add it to the
# target's corpus with the fix, and the replay tests keep it fixed.
#   scripts/fuzz.sh [SECONDS_PER_TARGET]      fuzz every target (default 20 s each)
#   scripts/fuzz.sh --build [TARGET...]       only build the fuzz targets and TARGETs (such as
#                                             unit_tests) in the same sanitized build
set -euo pipefail
cd "$(dirname "$0")/.."
targets=(http_request proxy_path json_input ssh_key image_tag cookies sync_report sync_json slurm_json foreign_json)

# Unoptimised, line tables only: a third of the time -O1 takes to compile Beast's templates
# with coverage and both sanitizers; fuzzing runs slower, for a bounded time either way.
cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG="-O0 -gline-tables-only" \
  -DCMAKE_CXX_COMPILER=clang++ -DGPUPOOL_FUZZ=ON -DGPUPOOL_WERROR=OFF >/dev/null
if [ "${1:-}" = --build ]; then
  shift
  ninja -C build-fuzz "${targets[@]/#/fuzz_}" "$@"
  exit 0
fi
seconds="${1:-20}"
ninja -C build-fuzz "${targets[@]/#/fuzz_}"

run_target() {
  local target="$1"
  mkdir -p "build-fuzz/corpus/$target"
  cd build-fuzz || return 1
  ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    "./tests/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=4096 \
    -print_final_stats=1 "corpus/$target" "../tests/fuzz/corpus/$target" >"$target.log" 2>&1
}

# One target per core at a time; each writes its own log.
echo "== fuzzing ${#targets[@]} targets for ${seconds}s each, $(nproc) at a time"
failed=()
running=0
for target in "${targets[@]}"; do
  if [ "$running" -ge "$(nproc)" ]; then
    wait -n || true
    running=$((running - 1))
  fi
  rm -f "build-fuzz/$target.failed"
  ( (run_target "$target") || touch "build-fuzz/$target.failed") &
  running=$((running + 1))
done
wait
for target in "${targets[@]}"; do
  if [ -e "build-fuzz/$target.failed" ]; then
    failed+=("$target")
    echo "== fuzz $target FOUND A CRASH:"
    tail -40 "build-fuzz/$target.log"
    continue
  fi
  echo "$target: $(grep -aE "^stat::(number_of_executed_units|new_units_added)" "build-fuzz/$target.log" | tr '\n' ' ')"
done
[ ${#failed[@]} -eq 0 ] || exit 1
echo "== fuzzing found nothing"
