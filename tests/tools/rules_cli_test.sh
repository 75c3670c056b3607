#!/usr/bin/env bash
# CLI checks for the Lua rules stage: `toolgate test`, `check --explain` naming
# the deciding rule with pack file and line, exit codes, and a broken pack
# failing the policy load with a located error. Asserts codes and structure,
# not prose.
set -u
TOOLGATE=$(realpath "$1")
ROOT="$2"
fail=0
check() { if ! eval "$2"; then echo "FAIL: $1"; fail=1; fi; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

cd "$ROOT" || exit 1
"$TOOLGATE" test rules >"$tmp/test.out" 2>&1
check "toolgate test rules exits 0" "[ $? -eq 0 ]"
check "toolgate test reports 8 packs" "grep -q '8 packs' '$tmp/test.out'"

# A pack whose test fails makes `toolgate test` fail.
mkdir -p "$tmp/rules/mini"
cat >"$tmp/rules/mini/mini.lua" <<'LUA'
pack { id = "mini" }
rule { id = "never", tools = { "Bash" }, check = function() return nil end }
LUA
echo '{"name":"wrong expectation","call":{"tool_name":"Bash","tool_input":{"command":"ls"}},"expect":"deny"}' >"$tmp/rules/mini/tests.jsonl"
"$TOOLGATE" test "$tmp/rules" >/dev/null 2>&1
check "a failing pack test exits 1" "[ $? -eq 1 ]"

call='{"agent_id":"claude-dev","tool_name":"Bash","tool_input":{"command":"git reset --hard HEAD~1"},"cwd":"/home/dev/project"}'
echo "$call" | "$TOOLGATE" check --policy rules/examples/with-packs.json --explain >"$tmp/explain.out" 2>"$tmp/explain.err"
check "a rule deny exits 20" "[ $? -eq 20 ]"
check "explain names the rule with pack file and line" "grep -Eq '<- rule dev-guard.raw-git \\(rules/dev-guard/dev-guard.lua:[0-9]+\\)' '$tmp/explain.out'"
echo "$call" | "$TOOLGATE" check --policy rules/examples/with-packs.json --explain --json >"$tmp/explain.json" 2>/dev/null
check "json output carries the rule's file and line" "python3 -c \"import json,sys; d=json.load(open('$tmp/explain.json')); r=[f['rule'] for f in d['reasons'] if f.get('rule')]; sys.exit(0 if r and r[0]['file'].endswith('dev-guard.lua') and r[0]['line'] > 0 else 1)\""

# A broken pack: the policy does not load (exit 78) and the error is located.
cat >"$tmp/broken.lua" <<'LUA'
pack { id = "broken" }
rule { id = "r", check = function() return ( end }
LUA
cat >"$tmp/policy.json" <<'JSON'
{"toolgate_policy": 1, "default_profile": "p", "rule_packs": {"broken": {"path": "broken.lua"}},
 "profiles": {"p": {"default": "allow", "rules": {"broken": true}}}}
JSON
echo '{"tool_name":"Bash","tool_input":{"command":"ls"}}' | "$TOOLGATE" check --policy "$tmp/policy.json" >/dev/null 2>"$tmp/broken.err"
check "a broken pack fails the policy load (78)" "[ $? -eq 78 ]"
check "the load error names the pack file and line" "grep -q 'broken.lua:2: error\\[policy_rule\\]' '$tmp/broken.err'"

exit $fail
