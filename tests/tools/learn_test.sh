#!/usr/bin/env bash
# Learning mode end to end: `serve --mode learn` allows calls the policy would
# deny, the log keeps the policy's verdict with the learn marker, `log query`
# and `log stats` show it, `policy suggest` proposes the grants, and the policy
# with them allows the same calls under enforcement (but not the explicit deny).
# Also `check --mode learn` and `hook --mode learn`.
# Usage: learn_test.sh TOOLGATE SOURCE_ROOT
set -u
tg=$1
root=$2
source "$(dirname "$0")/daemon_test_lib.sh"
expect_json() {  # NAME JSON_TEXT PYTHON_EXPR (o = the parsed object)
  if printf '%s' "$2" | python3 -c "import json,sys; o=json.load(sys.stdin); sys.exit(0 if ($3) else 1)" 2>/dev/null; then ok
  else bad "$1: $3 is false for: $(printf '%s' "$2" | head -c 600)"; fi
}

cp "$root/rules/examples/default.json" "$tmp/policy.json"
sock="$tmp/run/toolgate.sock"


# What a developer agent did that the default policy does not allow: a program
# (yq), files under one directory, an API host, a tool; and one explicit deny.
cat > "$tmp/calls.jsonl" <<'JSONL'
{"agent_id":"claude-dev","tool_name":"Bash","cwd":"/home/dev/project","tool_input":{"command":"cat /srv/data/a.json | yq .x"}}
{"agent_id":"claude-dev","tool_name":"Bash","cwd":"/home/dev/project","tool_input":{"command":"cat /srv/data/b.json"}}
{"agent_id":"claude-dev","tool_name":"Bash","cwd":"/home/dev/project","tool_input":{"command":"cat /srv/data/c.json | yq .y"}}
{"agent_id":"claude-dev","tool_name":"WebFetch","tool_input":{"url":"https://api.example.com/v1/items"}}
{"agent_id":"claude-dev","tool_name":"LearnProbe","tool_input":{}}
{"agent_id":"claude-dev","tool_name":"Bash","cwd":"/home/dev/project","tool_input":{"command":"cat ~/.ssh/id_rsa"}}
{"agent_id":"claude-dev","tool_name":"Bash","cwd":"/home/dev/project","tool_input":{"command":"git status"}}
JSONL
n_calls=$(wc -l < "$tmp/calls.jsonl")

# ---- enforce first: these are denied (except git status) -----------------------
denied=0
while IFS= read -r call; do
  printf '%s' "$call" | "$tg" check --policy "$tmp/policy.json" >/dev/null 2>&1
  [ $? -eq 20 ] && denied=$((denied + 1))
done < "$tmp/calls.jsonl"
expect_eq "denied under enforcement" $((n_calls - 1)) "$denied"

# ---- serve --mode learn -----------------------------------------------------------
"$tg" serve --mode bogus --socket "$sock" 2>/dev/null; expect_eq "--mode bogus" 64 $?
"$tg" serve --policy "$tmp/policy.json" --socket "$sock" --log "$tmp/log" --mode learn 2>"$tmp/serve.err" &
daemon=$!
for _ in $(seq 1 300); do
  [ -S "$sock" ] && client '{"v":1,"id":0,"op":"ping"}' 2>/dev/null | grep -q pong && break
  sleep 0.1
done
grep -q "LEARNING MODE" "$tmp/serve.err" && ok || bad "no learning-mode warning on start: $(cat "$tmp/serve.err")"

reqs=()
i=0
while IFS= read -r call; do
  i=$((i + 1))
  reqs+=("{\"v\":1,\"id\":$i,\"op\":\"decide\",\"call\":$call}")
done < "$tmp/calls.jsonl"
client "${reqs[@]}" > "$tmp/replies.jsonl"
expect_eq "one reply per call" "$n_calls" "$(wc -l < "$tmp/replies.jsonl")"
allowed=$(python3 -c '
import json, sys
n = 0
for line in open(sys.argv[1]):
    d = json.loads(line)["decision"]
    n += d["verdict"] == "allow" and d.get("mode") == "learn"
print(n)' "$tmp/replies.jsonl")
expect_eq "every reply in learning mode is allow, marked" "$n_calls" "$allowed"
ssh_reply=$(sed -n 6p "$tmp/replies.jsonl")
expect_json "the would-be deny says so" "$ssh_reply" \
  'o["decision"]["policy_verdict"]=="deny" and "learning mode" in o["decision"]["message"] and "id_rsa" in o["decision"]["message"] and o["decision"]["reasons"][0]["verdict"]=="deny"'
kill -TERM "$daemon"; wait "$daemon"; daemon=""

# ---- the log: the policy's verdict, the marker in every record --------------------
"$tg" log verify "$tmp/log" >/dev/null && ok || bad "the learning-mode log does not verify"
marks=$(python3 -c '
import json, sys
deny = marked = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("type") != "decision": continue
    marked += r.get("mode") == "learn" and r.get("enforced") == "allow"
    deny += r.get("verdict") == "deny"
print(marked, deny)' "$tmp/log/decisions.jsonl")
expect_eq "records: marked, with the policy verdict" "$n_calls $((n_calls - 1))" "$marks"
q=$("$tg" log query --mode learn --verdict deny --json "$tmp/log" 2>/dev/null | wc -l)
expect_eq "log query --mode learn --verdict deny" $((n_calls - 1)) "$q"
"$tg" log query --mode enforce "$tmp/log" >/dev/null 2>&1; expect_eq "log query --mode enforce finds none" 1 $?
"$tg" log query --mode learn "$tmp/log" 2>/dev/null | grep -q "L:deny" && ok || bad "log query table does not mark learn rows"
"$tg" log stats "$tmp/log" 2>/dev/null | grep -q "LEARNING MODE: $n_calls record(s) made in learning mode; $((n_calls - 1)) deny/ask" && ok ||
  bad "log stats: $("$tg" log stats "$tmp/log" 2>/dev/null | head -5)"
stats=$("$tg" log stats --json "$tmp/log" 2>/dev/null)
expect_json "log stats --json learn_mode" "$stats" 'o["learn_mode"]=={"records":7,"allowed_anyway":6}'

# ---- policy suggest ---------------------------------------------------------------
out=$("$tg" policy suggest --policy "$tmp/policy.json" --json "$tmp/log" 2>"$tmp/suggest.err"); code=$?
expect_eq "policy suggest exit" 0 $code
expect_json "suggest: exec yq" "$out" 'any(s["pattern"]=="yq" and s["list"]=="allow" and s["category"]=="exec" and s["calls"]==2 for s in o["suggestions"])'
expect_json "suggest: the directory, listing its files" "$out" \
  'any(s["pattern"]=="/srv/data/*" and s["generalised"] and s["covers"]==["/srv/data/a.json","/srv/data/b.json","/srv/data/c.json"] and s["calls"]==3 for s in o["suggestions"])'
expect_json "suggest: host with port" "$out" 'any(s["pattern"]=="api.example.com:443" and s["category"]=="network" for s in o["suggestions"])'
expect_json "suggest: the tool" "$out" 'any(s["pattern"]=="LearnProbe" and s["category"]=="tools" for s in o["suggestions"])'
expect_json "suggest: the explicit deny is not suggested" "$out" \
  'any("id_rsa" in n["what"] and "base.fs.deny" in n["why"] for n in o["not_suggestible"]) and not any("ssh" in s["pattern"] for s in o["suggestions"])'
expect_json "suggest: the check" "$out" 'o["observed"]==6 and o["check"]["allowed_with_suggestion"]==5 and o["learn_records"]==6'
expect_json "suggest: the fragment" "$out" 'o["fragment"]["profiles"]["developer"]["exec"]["allow"]==["yq"]'
"$tg" policy suggest --policy "$tmp/policy.json" "$tmp/log" > "$tmp/suggest.txt" 2>&1
grep -q "check: with these grants 5 of 6 call(s) would be allowed" "$tmp/suggest.txt" && ok || bad "suggest table: $(cat "$tmp/suggest.txt")"
grep -q "GLOB over /srv/data/a.json" "$tmp/suggest.txt" && ok || bad "suggest table does not show what a glob covers"
before=$(sha256sum < "$tmp/policy.json")
"$tg" policy suggest --policy "$tmp/policy.json" --write-merged "$tmp/policy.json" "$tmp/log" >/dev/null 2>&1
expect_eq "--write-merged refuses the policy itself" 64 $?
"$tg" policy suggest --policy "$tmp/policy.json" --write-merged "$tmp/merged.json" --fragment-out "$tmp/fragment.json" \
  "$tmp/log" >/dev/null 2>&1
expect_eq "the policy file is never changed" "$before" "$(sha256sum < "$tmp/policy.json")"
"$tg" policy lint "$tmp/merged.json" >/dev/null 2>&1; [ $? -ne 78 ] && ok || bad "the merged policy does not load"
expect_json "the fragment file" "$(cat "$tmp/fragment.json")" 'o["profiles"]["developer"]["tools"]["allow"]==["LearnProbe"]'

# ---- the merged policy, enforced: the same calls are allowed, the deny stays ------
allowed=0
denied_ssh=1
i=0
while IFS= read -r call; do
  i=$((i + 1))
  printf '%s' "$call" | "$tg" check --policy "$tmp/merged.json" >/dev/null 2>&1; c=$?
  if [ $c -eq 0 ]; then allowed=$((allowed + 1)); fi
  if [ $i -eq 6 ] && [ $c -ne 20 ]; then denied_ssh=0; fi
done < "$tmp/calls.jsonl"
expect_eq "allowed under the merged policy" $((n_calls - 1)) "$allowed"
expect_eq "the explicit deny still denies" 1 "$denied_ssh"
# Nothing broader than what was seen: another directory stays denied.
printf '%s' '{"agent_id":"claude-dev","tool_name":"Bash","cwd":"/home/dev/project","tool_input":{"command":"cat /srv/other/x"}}' |
  "$tg" check --policy "$tmp/merged.json" >/dev/null 2>&1
expect_eq "a file outside the suggested scope" 20 $?

# ---- check --mode learn and hook --mode learn (in-process) ---------------------------
ssh_call=$(sed -n 6p "$tmp/calls.jsonl")
out=$(printf '%s' "$ssh_call" | "$tg" check --policy "$tmp/policy.json" --mode learn --json --log "$tmp/check.jsonl" 2>"$tmp/check.err"); code=$?
expect_eq "check --mode learn exit" 0 $code
expect_json "check --mode learn --json" "$out" 'o["verdict"]=="allow" and o["policy_verdict"]=="deny" and o["mode"]=="learn"'
grep -q "LEARNING MODE" "$tmp/check.err" && ok || bad "check --mode learn does not warn"
expect_json "check --mode learn record" "$(head -1 "$tmp/check.jsonl")" 'o["verdict"]=="deny" and o["mode"]=="learn" and o["enforced"]=="allow"'
printf '%s' "$ssh_call" | "$tg" check --policy "$tmp/policy.json" --mode nope >/dev/null 2>&1; expect_eq "check --mode nope" 64 $?
# Unreadable input is not learned from: still a deny.
printf 'not json' | "$tg" check --policy "$tmp/policy.json" --mode learn >/dev/null 2>&1; expect_eq "learn: unparseable input" 20 $?

fx=$root/tests/hooks/fixtures
out=$("$tg" hook --mode learn --agent claude-dev --policy "$tmp/policy.json" --log "$tmp/hook.jsonl" \
  < "$fx/claude/pre_bash_deny.json" 2>"$tmp/hook.err"); code=$?
expect_eq "hook --mode learn exit" 0 $code
expect_json "hook --mode learn answers allow" "$out" 'o["hookSpecificOutput"]["permissionDecision"]=="allow"'
expect_json "hook --mode learn record" "$(head -1 "$tmp/hook.jsonl")" 'o["verdict"]=="deny" and o["mode"]=="learn" and o["enforced"]=="allow"'
grep -q "LEARNING MODE" "$tmp/hook.err" && ok || bad "hook --mode learn does not warn"

echo "learn_test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
