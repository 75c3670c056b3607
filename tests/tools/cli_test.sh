#!/usr/bin/env bash
# End-to-end checks of the toolgate binary: exit codes, output forms, bad input.
# Usage: cli_test.sh TOOLGATE SOURCE_ROOT
set -u
tg=$1
root=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0

expect_exit() {  # NAME EXPECTED_CODE ACTUAL_CODE
  if [ "$2" -eq "$3" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $1: exit $3, expected $2"; fi
}
expect_match() {  # NAME REGEX TEXT
  if printf '%s' "$3" | grep -Eq -- "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $1: output does not match /$2/:"; printf '%s\n' "$3" | head -20; fi
}

call() { printf '{"agent_id":"claude-dev","tool_name":"Bash","cwd":"/home/dev/project","tool_input":{"command":%s}}' "$1"; }

out=$(call '"git status"' | "$tg" check); code=$?
expect_exit "allowed call" 0 $code
expect_match "allowed text" '^allow: ' "$out"

out=$(call '"cat ~/.ssh/id_rsa"' | "$tg" check); code=$?
expect_exit "denied call" 20 $code
expect_match "denied text names the path" 'id_rsa' "$out"

out=$(call '"git push origin main"' | "$tg" check); code=$?
expect_exit "ask call" 10 $code

out=$(call '"cat ~/.ssh/id_rsa"' | "$tg" check --explain); code=$?
expect_exit "explain keeps the exit code" 20 $code
expect_match "explain names grant, file and JSON path" 'base\.fs\.deny\[[0-9]+\].*default\.json:/profiles/base/fs/deny/[0-9]+' "$out"

out=$(call '"cat ~/.ssh/id_rsa"' | "$tg" check --json); code=$?
expect_exit "json exit code" 20 $code
verdict=$(printf '%s' "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["verdict"])')
expect_match "json verdict" '^deny$' "$verdict"

out=$(printf '{"hook_event_name":"PreToolUse","session_id":"s","cwd":"/home/dev/project","tool_name":"Read","tool_input":{"file_path":"README.md"},"tool_use_id":"t1","permission_mode":"default"}' | "$tg" check --agent claude-dev); code=$?
expect_exit "claude hook input with --agent" 0 $code

out=$(printf 'not json' | "$tg" check 2>&1); code=$?
expect_exit "malformed input is a deny" 20 $code
expect_match "malformed input names the error" 'malformed_json' "$(printf 'not json' | "$tg" check --json)"

head -c 3000000 /dev/zero | tr '\0' 'a' > "$tmp/big"
"$tg" check < "$tmp/big" > /dev/null 2>&1; code=$?
expect_exit "oversized input is a deny" 20 $code

printf '{"toolgate_policy": 1, "profiles": {"p": {"fs": {"read": [7]}}}' > "$tmp/broken.json"
out=$(call '"ls"' | "$tg" check --policy "$tmp/broken.json" 2>&1); code=$?
expect_exit "broken policy refuses to judge" 78 $code

printf '{"toolgate_policy": 1, "profiles": {"p": {"fs": {"raed": ["/x"]}}}}' > "$tmp/typo.json"
out=$("$tg" policy lint "$tmp/typo.json" 2>&1); code=$?
expect_exit "lint exit code on errors" 78 $code
expect_match "lint locates the typo" '/profiles/p/fs/raed' "$out"

out=$("$tg" policy lint "$root/rules/examples/default.json" 2>&1); code=$?
expect_exit "example policy lints without errors" 0 $code

out=$("$tg" policy lint --werror "$root/tests/tools/lint-warnings.json" 2>&1); code=$?
expect_exit "warnings fail with --werror" 1 $code
expect_match "lint reports matches_everything" 'matches_everything' "$out"

out=$("$tg" demo); code=$?
expect_exit "demo runs" 0 $code
expect_match "demo shows allowed and denied calls" '\[ALLOW\].*' "$out"
expect_match "demo shows denied calls" '\[DENY\]' "$out"

"$tg" check --bogus < /dev/null > /dev/null 2>&1; code=$?
expect_exit "unknown option is a usage error" 64 $code

out=$("$tg" bench --iterations 2000); code=$?
expect_exit "bench runs" 0 $code
expect_match "bench prints percentiles" 'p50 us' "$out"

# Start-up: libcurl (and the thirty libraries it pulls in) is loaded only when a
# URL probe runs, never by the binary's own start; a NEEDED entry would bring
# the loader's cost back to every hook call.
if command -v readelf >/dev/null; then
  needed=$(readelf -d "$tg" | grep NEEDED)
  if printf '%s' "$needed" | grep -q 'libcurl'; then
    fail=$((fail + 1)); echo "FAIL toolgate links libcurl at start-up:"; printf '%s\n' "$needed"
  else
    pass=$((pass + 1))
  fi
fi

echo "cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
