#!/usr/bin/env bash
# Sets up (tools/setup.sh), builds, and runs every test suite; ends with "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
bash tools/setup.sh || exit 1
meson test -C build --print-errorlogs
status=$?
python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = 0
with open(sys.argv[1]) as f:
    for line in f:
        r = json.loads(line)
        if r.get("result") in ("OK", "EXPECTEDFAIL", "SKIP"):
            passed += 1
        else:
            failed += 1
print(f"suites: {passed} passed, {failed} failed")
PY
exit $status
