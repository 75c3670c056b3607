#!/usr/bin/env bash
# Sets up (tools/setup.sh), builds, and runs every test suite; ends with "N passed, N failed".
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
meson test -C build --print-errorlogs
status=$?
python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
passed = skipped = failed = 0
with open(sys.argv[1]) as f:
    for line in f:
        r = json.loads(line)
        if r.get("result") in ("OK", "EXPECTEDFAIL"):
            passed += 1
        elif r.get("result") == "SKIP":
            skipped += 1
        else:
            failed += 1
print(f"suites: {passed} passed, {skipped} skipped, {failed} failed")
PY
exit $status
