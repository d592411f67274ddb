#!/usr/bin/env bash
# Fuzzes tailor: builds the targets of tests/fuzz with clang and libFuzzer
# (ASan and UBSan on) in build-fuzz, then runs each for FUZZ_SECONDS
# (default 60) on a copy of its committed corpus. What the fuzzer finds
# goes to a scratch directory (build-fuzz/fuzz-out/TARGET/), never into
# tests/fuzz/corpus: minimise a find with -merge=1 and commit it by hand.
# Prints per target the runs, execs/s, coverage gained and crashes; exits 1
# on a crash (or leak, timeout, out of memory), naming the reproducer.
#
#   scripts/fuzz.sh [TARGET...]      targets: csv jsonl expr server model scorecard challenger campaign
#   FUZZ_SECONDS=600   seconds per target
#   FUZZ_JOBS=2        targets run at once (default 1)
#   FUZZ_BUILD=DIR     the build directory (default build-fuzz)
#   FUZZ_ARGS="..."    more libFuzzer options (after the defaults, so they win),
#                      e.g. "-max_len=65536"; the default -max_len is 8192
# Replay a reproducer: build-fuzz/tests/fuzz/fuzz_TARGET FILE
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh

secs=${FUZZ_SECONDS:-60}
jobs=${FUZZ_JOBS:-1}
build=${FUZZ_BUILD:-build-fuzz}
out=$build/fuzz-out
if [ $# -gt 0 ]; then
  targets=("$@")
else
  targets=()
  for f in tests/fuzz/fuzz_*.c; do t=${f##*/fuzz_}; targets+=("${t%.c}"); done
fi

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DTAILOR_FUZZ=ON -DTAILOR_SANITIZE=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/#/fuzz_}"

# One target: a copy of the committed corpus (added to earlier finds), then
# libFuzzer for $secs seconds; its log is out/TARGET/log.
run() {
  local t=$1 dir=$out/$1
  mkdir -p "$dir/corpus" "$dir/artifacts"
  cp -n tests/fuzz/corpus/"$t"/* "$dir/corpus/" 2>/dev/null || true
  local opts=()
  [ -f "tests/fuzz/$t.dict" ] && opts=(-dict="tests/fuzz/$t.dict")
  # the server runs about 100 inputs a second: too few for libFuzzer to
  # lengthen its inputs step by step, so it may use max_len from the start
  [ "$t" = server ] && opts+=(-len_control=0)
  # shellcheck disable=SC2086
  ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1} \
    "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=30 -max_len=8192 -print_final_stats=1 \
      -artifact_prefix="$dir/artifacts/" "${opts[@]}" ${FUZZ_ARGS:-} "$dir/corpus" \
      >"$dir/log" 2>&1 || true
}

# Reads a target's log: one line of figures, and the reproducer if it failed.
report() {
  local t=$1 log=$out/$1/log
  local runs eps cov0 cov1 units crash
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  units=$(sed -n 's/^stat::new_units_added: *//p' "$log" | tail -1)
  cov0=$(sed -n 's/.*INITED cov: \([0-9]*\).*/\1/p' "$log" | head -1)
  cov1=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' "$log" | tail -1)
  crash=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
  printf '%-10s runs %-10s execs/s %-7s coverage %s -> %s (+%s), new inputs %s, crashes %s\n' \
    "$t" "${runs:-?}" "${eps:-?}" "${cov0:-?}" "${cov1:-?}" "$(( ${cov1:-0} - ${cov0:-0} ))" \
    "${units:-?}" "$([ -n "$crash" ] && echo 1 || echo 0)"
  if [ -n "$crash" ] || ! grep -q '^Done [0-9]* runs' "$log"; then
    echo "  FAILED: reproducer ${crash:-(none written)}; log $log" >&2
    grep -m1 -E '^==[0-9]+==ERROR|runtime error|invariant failed|ERROR: libFuzzer' "$log" | sed 's/^/  /' >&2 || true
    return 1
  fi
}

echo "fuzzing ${targets[*]} for ${secs}s each ($jobs at a time); finds in $out/" >&2
running=0
for t in "${targets[@]}"; do
  run "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then wait -n || true; running=$((running - 1)); fi
done
wait

status=0
for t in "${targets[@]}"; do report "$t" || status=1; done
exit $status
