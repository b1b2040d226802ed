#!/usr/bin/env bash
# Builds the "fuzz" preset (clang, libFuzzer, ASan + UBSan) and runs each fuzz
# target for SECONDS (default 60) on a fresh copy of its seed corpus
# (fuzz/corpus/<target>/), one after another. Prints, per target, how many
# inputs were run and whether it crashed. Exits 1 if any target crashed
# (a crash, leak, timeout or out-of-memory); the input that did it is kept in
# build-fuzz/fuzz-runs/<target>/ (reproduce: build-fuzz/fuzz/<target> FILE).
#
#   scripts/fuzz.sh [SECONDS]            all targets
#   FUZZ_TARGETS="fuzz_pfx" scripts/fuzz.sh 300
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
if ! [[ "$seconds" =~ ^[1-9][0-9]*$ ]]; then
  echo "usage: $0 [SECONDS]" >&2
  exit 2
fi
targets=(${FUZZ_TARGETS:-fuzz_pfx fuzz_thumbprint fuzz_config fuzz_channel})

cmake --preset fuzz >/dev/null
cmake --build --preset fuzz

# fuzz_config writes a file per input: keep that off the disk when we can.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

runs_dir="build-fuzz/fuzz-runs"
failed=0
summary=()
for t in "${targets[@]}"; do
  work="$runs_dir/$t"
  rm -rf "$work"
  mkdir -p "$work/corpus"
  cp -R "fuzz/corpus/$t/." "$work/corpus/"
  dict=()
  case "$t" in fuzz_config | fuzz_channel) dict=("-dict=fuzz/json.dict") ;; esac
  echo "== $t: ${seconds}s on $(ls "$work/corpus" | wc -l) seed inputs"
  rc=0
  "build-fuzz/fuzz/$t" "$work/corpus" "${dict[@]}" \
    -max_total_time="$seconds" -timeout=25 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$work/" >"$work/log" 2>&1 || rc=$?
  runs="$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$work/log" | tail -1)"
  if [ -z "$runs" ]; then runs="$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$work/log" | tail -1)"; fi
  artifacts="$(find "$work" -maxdepth 1 -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' -o -name 'oom-*' \) | sort)"
  if [ "$rc" -eq 0 ] && [ -z "$artifacts" ]; then
    line="$t: ${runs:-?} runs in ${seconds}s, no crash"
  else
    failed=1
    line="$t: ${runs:-?} runs, CRASHED (exit $rc): ${artifacts:-no artifact}; log: $work/log"
    grep -m1 -E '^==[0-9]+==ERROR|runtime error|deadly signal|Timeout|out-of-memory' "$work/log" || true
  fi
  echo "$line"
  summary+=("$line")
done

echo
echo "Fuzzing summary:"
printf '  %s\n' "${summary[@]}"
exit "$failed"
