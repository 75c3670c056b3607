#!/usr/bin/env bash
# Sets up (tools/setup.sh), builds, and runs every test suite; then the hardening stage: the whole
# suite again in the ASan + UBSan build (tools/sanitize.sh) and a bounded run of every fuzz target
# from that same build (tools/fuzz.sh, one target per core at a time). Ends with "suites: N
# passed, N skipped, N failed" over all of it.
# TOOLGATE_HARDENING=0 skips the hardening stage (a quick local run); CI runs it.
# TOOLGATE_FUZZ_SECONDS sets each fuzz target's time (default 60). The normal suite replays every
# fuzz corpus and regression input in any case.
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh || exit 1
# The real-client tests (suite "clients") drive the agent CLIs pinned in tests/clients; the MCP
# proxy's end-to-end test (suite "mcp") drives the MCP client SDK and filesystem server pinned in
# tests/mcp. Install scripts are skipped, as npm 11 does by default, so every npm behaves alike: the
# tests run the CLIs' platform binaries directly, and the native add-ons those scripts would build are
# optional. A copy of the lockfile in node_modules marks an install as current; a changed lockfile
# reinstalls.
for dir in tests/clients tests/mcp; do
  if ! cmp -s "$dir/package-lock.json" "$dir/node_modules/.toolgate-installed-lock"; then
    echo "toolgate test: installing the pinned node packages (npm ci --prefix $dir)"
    npm ci --prefix "$dir" --no-audit --no-fund --ignore-scripts || exit 1
    cp "$dir/package-lock.json" "$dir/node_modules/.toolgate-installed-lock"
  fi
done

# Prints "PASSED SKIPPED FAILED" of a meson test log.
count() {
  python3 - "$1" <<'PY'
import json, sys
passed = skipped = failed = 0
try:
    with open(sys.argv[1]) as f:
        for line in f:
            r = json.loads(line)
            if r.get("result") in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif r.get("result") == "SKIP":
                skipped += 1
            else:
                failed += 1
except OSError:
    failed = 1  # the suite did not run at all
print(passed, skipped, failed)
PY
}

meson test -C build --print-errorlogs
status=$?
read -r passed skipped failed < <(count build/meson-logs/testlog.json)
echo "normal build: $passed passed, $skipped skipped, $failed failed"

if [ "${TOOLGATE_HARDENING:-1}" = 0 ]; then
  echo "toolgate test: hardening stage (ASan + UBSan suite, fuzzing) skipped: TOOLGATE_HARDENING=0"
else
  start=$SECONDS
  asan_dir=${TOOLGATE_ASAN_BUILD:-build-asan}
  rm -f "$asan_dir/meson-logs/testlog.json"
  bash tools/sanitize.sh
  asan_status=$?
  read -r p s f < <(count "$asan_dir/meson-logs/testlog.json")
  echo "asan+ubsan build: $p passed, $s skipped, $f failed ($((SECONDS - start)) s)"
  passed=$((passed + p)); skipped=$((skipped + s)); failed=$((failed + f))
  ((asan_status != 0 && f == 0)) && failed=$((failed + 1))  # the build itself failed
  ((asan_status != 0)) && status=1

  start=$SECONDS
  fuzz_out=$(mktemp)
  bash tools/fuzz.sh --seconds "${TOOLGATE_FUZZ_SECONDS:-60}" | tee "$fuzz_out"
  fuzz_status=${PIPESTATUS[0]}
  read -r p f < <(sed -n 's/^fuzz: \([0-9]*\) passed, \([0-9]*\) failed$/\1 \2/p' "$fuzz_out" | tail -1)
  rm -f "$fuzz_out"
  p=${p:-0}
  f=${f:-1}
  echo "fuzz targets: $p passed, $f failed ($((SECONDS - start)) s)"
  passed=$((passed + p)); failed=$((failed + f))
  ((fuzz_status != 0)) && status=1
fi
echo "suites: $passed passed, $skipped skipped, $failed failed"
((status == 0 && failed == 0))
