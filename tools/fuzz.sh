#!/usr/bin/env bash
# Runs the libFuzzer targets of tests/fuzz for a bounded time each, from the
# ASan + UBSan + libFuzzer build (tools/sanitize.sh --build-only makes it).
#
#   bash tools/fuzz.sh [--seconds N] [--jobs J] [--build DIR] [TARGET...]
#
# Every target (default: all of them) runs N seconds (default 60), J targets
# at a time (default: the number of cores, TOOLGATE_FUZZ_JOBS), starting
# from its checked-in seeds (tests/fuzz/corpus/<target>) and regression inputs
# (tests/fuzz/regress/<target>). New coverage goes to DIR/fuzz/corpus/<target>,
# kept between runs and never into the source tree; a crash, leak, UBSan
# report, timeout (25 s on one input) or out-of-memory (4 GiB) fails the
# target and leaves its input in DIR/fuzz/artifacts/. Ends with
# "fuzz: N passed, N failed"; exit 1 when any target failed.
set -uo pipefail
cd "$(dirname "$0")/.."
seconds=60
jobs=${TOOLGATE_FUZZ_JOBS:-$(nproc 2> /dev/null || echo 1)}
dir=${TOOLGATE_ASAN_BUILD:-build-asan}
targets=()
while (($#)); do
  case "$1" in
    --seconds) seconds=${2:?--seconds needs a number}; shift 2 ;;
    --build) dir=${2:?--build needs a directory}; shift 2 ;;
    --jobs) jobs=${2:?--jobs needs a number}; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    -*) echo "tools/fuzz.sh: unknown option $1" >&2; exit 64 ;;
    *) targets+=("$1"); shift ;;
  esac
done
if ((${#targets[@]} == 0)); then
  for f in tests/fuzz/*_fuzz.cc; do
    t=$(basename "$f" _fuzz.cc)
    targets+=("$t")
  done
fi
if [ ! -f "$dir/build.ninja" ]; then
  bash tools/sanitize.sh --build-only || exit 1
fi
ninja -C "$dir" $(printf "tests/fuzz/%s_fuzz " "${targets[@]}") || exit 1

export ASAN_OPTIONS="detect_leaks=1:check_initialization_order=1:detect_stack_use_after_return=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export TOOLGATE_SOURCE_ROOT=$PWD
mkdir -p "$dir/fuzz/artifacts"

# Runs one target; its summary goes to $dir/fuzz/<target>.summary, and
# $dir/fuzz/<target>.ok exists when it passed.
run_target() {
  local t=$1
  local exe="$dir/tests/fuzz/${t}_fuzz"
  local work="$dir/fuzz/corpus/$t"
  local log="$dir/fuzz/$t.log"
  local summary="$dir/fuzz/$t.summary"
  rm -f "$dir/fuzz/$t.ok"
  mkdir -p "$work"
  local inputs=("$work" "tests/fuzz/corpus/$t")
  [ -d "tests/fuzz/regress/$t" ] && inputs+=("tests/fuzz/regress/$t")
  local dict=()
  case "$t" in
    hook|tool_call|daemon|daemon_reply|policy|mcp) dict=(-dict=tests/fuzz/json.dict) ;;
    shell) dict=(-dict=tests/fuzz/shell.dict) ;;
    url_date) dict=(-dict=tests/fuzz/url_date.dict) ;;
  esac
  # -close_fd_mask=1: the targets' stdout is noise; stderr keeps the reports.
  if "$exe" -max_total_time="$seconds" -timeout=25 -rss_limit_mb=4096 -max_len=65536 -close_fd_mask=1 \
      -print_final_stats=1 -artifact_prefix="$dir/fuzz/artifacts/$t-" "${dict[@]}" "${inputs[@]}" > "$log" 2>&1; then
    { grep -E "^(stat::number_of_executed_units|stat::peak_rss_mb|#[0-9]+.*DONE)" "$log" | tr '\n' ' ' | sed "s/^/  $t: /"
      echo; } > "$summary"
    touch "$dir/fuzz/$t.ok"
  else
    { echo "fuzz: $t FAILED; the report (log: $log):"
      grep -v -E "^#[0-9]|NEW_FUNC|^INFO:" "$log" | tail -60
      ls "$dir/fuzz/artifacts/$t-"* 2> /dev/null | sed 's/^/  input: /'; } > "$summary"
  fi
}

# Up to $jobs targets at a time: each libFuzzer process uses one core.
running=0
for t in "${targets[@]}"; do
  if ((running >= jobs)); then
    wait -n
    running=$((running - 1))
  fi
  echo "fuzz: $t for ${seconds}s (log: $dir/fuzz/$t.log)"
  run_target "$t" &
  running=$((running + 1))
done
wait

passed=0
failed=0
failed_names=()
for t in "${targets[@]}"; do
  cat "$dir/fuzz/$t.summary" 2> /dev/null
  if [ -f "$dir/fuzz/$t.ok" ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failed_names+=("$t")
  fi
done
((failed)) && echo "fuzz: failed targets: ${failed_names[*]}"
echo "fuzz: $passed passed, $failed failed"
((failed == 0))
