#!/usr/bin/env bash
# Builds toolgate with clang, AddressSanitizer (with LeakSanitizer) and
# UndefinedBehaviorSanitizer into build-asan/ (-Db_sanitize=address,undefined;
# every UBSan finding aborts), with libFuzzer's coverage instrumentation
# (-Dfuzzing=true) so the same build carries the fuzz targets tools/fuzz.sh
# runs, then runs the whole meson test suite there.
#
#   bash tools/sanitize.sh [--build-only] [meson test arguments...]
#
# TOOLGATE_ASAN_BUILD names another build directory. Exit status: the suite's.
set -uo pipefail
cd "$(dirname "$0")/.."
dir=${TOOLGATE_ASAN_BUILD:-build-asan}
build_only=0
if [ "${1:-}" = "--build-only" ]; then
  build_only=1
  shift
fi

if [ ! -f "$dir/build.ninja" ]; then
  cc=clang
  cxx=clang++
  if command -v ccache > /dev/null 2>&1; then
    cc="ccache clang"
    cxx="ccache clang++"
  fi
  # -O1 and line tables only: faster to build than -O2 -g, and stack traces
  # keep their file:line. b_lundef=false: libtoolgate.so leaves the sanitizer
  # runtime to the executable that loads it. werror=false: warnings are the
  # gcc build's gate; a clang-only warning must not hide what the sanitizers say.
  CC="$cc" CXX="$cxx" meson setup "$dir" \
    -Db_sanitize=address,undefined -Db_lundef=false -Dfuzzing=true -Dwerror=false \
    --buildtype=plain -Doptimization=1 -Dcpp_args=-gline-tables-only -Dc_args=-gline-tables-only || exit 1
fi
ninja -C "$dir" || exit 1
[ "$build_only" = 1 ] && exit 0

# Findings abort the process that has them, so the test that ran it fails.
# Leaks are findings (LeakSanitizer runs at every instrumented process's exit).
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:halt_on_error=1:check_initialization_order=1:strict_init_order=1:detect_stack_use_after_return=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:abort_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
export TOOLGATE_SANITIZED=1
# Instrumented code runs 2-3 times slower; every test keeps its own timeout times 3.
meson test -C "$dir" --print-errorlogs --timeout-multiplier 3 "$@"
