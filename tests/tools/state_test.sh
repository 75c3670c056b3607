#!/usr/bin/env bash
# tg.state across restarts and processes, and ask_fallback where no human can
# be asked: a rate-limit pack (at most 3 sends per hour per agent) under
# `toolgate serve --state DIR`, killed with SIGKILL and restarted; damaged
# state refused; `toolgate check --state` and `toolgate hook --no-daemon
# --state` counting across processes; headless asks through the daemon, the
# CLI and the Codex, Gemini and Cursor hooks.
# Usage: state_test.sh TOOLGATE SOURCE_ROOT
set -u
tg=$1
source "$(dirname "$0")/daemon_test_lib.sh"
expect_in() {  # NAME NEEDLE HAYSTACK
  case "$3" in *"$2"*) ok ;; *) bad "$1: '$2' not in: $3" ;; esac
}

cat > "$tmp/rate-limit.lua" <<'LUA'
pack { id = "rate-limit", description = "At most max sends per hour per agent.", params = { max = 3 } }
rule {
  id = "send",
  tools = { "mcp__mail__send" },
  check = function(call, params)
    local n = tg.state.incr("sent", 3600, "agent")
    if n > params.max then return tg.deny("at most " .. params.max .. " emails per hour") end
  end,
}
LUA
write_policy() {  # ASK_FALLBACK_LINE
  cat > "$tmp/policy.json" <<JSON
{
  "toolgate_policy": 1,
  $1
  "default_profile": "mailer",
  "profiles": {
    "mailer": {
      "default": "deny",
      "tools": { "allow": ["mcp__mail__send", "Bash", "Read"], "ask": ["mcp__deploy__*"] },
      "exec": { "allow": ["echo *"], "ask": ["git push *"] },
      "fs": { "read": ["/home/dev/project/**"], "ask": ["/home/dev/project/.env"] },
      "rules": { "rate-limit": true }
    }
  },
  "rule_packs": { "rate-limit": { "path": "rate-limit.lua" } }
}
JSON
}
write_policy ""

sock="$tmp/run/toolgate.sock"
send='{"v":1,"id":1,"op":"decide","call":{"agent_id":"bot","session_id":"s","tool_name":"mcp__mail__send","tool_input":{"to":"a@example.com"}}}'
verdict() { python3 -c 'import json,sys
for l in sys.stdin:
    print(json.loads(l).get("decision", {}).get("verdict", ""))'; }

start_daemon() {  # extra args...
  "$tg" serve --policy "$tmp/policy.json" --socket "$sock" "$@" 2>>"$tmp/serve.err" &
  daemon=$!
  for _ in $(seq 1 300); do
    if [ -S "$sock" ] && client '{"v":1,"id":0,"op":"ping"}' 2>/dev/null | grep -q '"pong":true'; then return 0; fi
    if ! kill -0 "$daemon" 2>/dev/null; then break; fi
    sleep 0.1
  done
  bad "the daemon did not start: $(tail -3 "$tmp/serve.err")"; return 1
}
kill9() { kill -KILL "$daemon"; wait "$daemon" 2>/dev/null; daemon=""; rm -f "$sock"; }

# ---- the limit holds across kill -9 ------------------------------------------
start_daemon --state "$tmp/state" || exit 1
for i in 1 2 3; do expect_eq "send $i" allow "$(client "$send" | verdict)"; done
expect_eq "send 4 is over the limit" deny "$(client "$send" | verdict)"
kill9
start_daemon --state "$tmp/state" || exit 1
reply=$(client "$send")
expect_eq "after kill -9 the limit still holds" deny "$(echo "$reply" | verdict)"
expect_in "the reason is the rule's" "at most 3 emails per hour" "$reply"
# Another agent has its own counter.
expect_eq "another agent" allow "$(client "${send/\"bot\"/\"other\"}" | verdict)"
# A policy reload keeps the counters.
kill -HUP "$daemon"
sleep 0.3
expect_eq "after SIGHUP the limit still holds" deny "$(client "$send" | verdict)"
kill9

# Memory only: a restart forgets, which is exactly what persistence prevents.
start_daemon --state-memory || exit 1
expect_eq "memory-only daemon starts from zero" allow "$(client "$send" | verdict)"
kill9

# Beside the log: --log DIR keeps state in DIR/state.
start_daemon --log "$tmp/log" || exit 1
for i in 1 2 3; do client "$send" > /dev/null; done
kill9
start_daemon --log "$tmp/log" || exit 1
expect_eq "state beside the log survives" deny "$(client "$send" | verdict)"
expect_eq "state directory" 700 "$(stat -c %a "$tmp/log/state")"

# A second daemon on the same state directory is refused at once.
"$tg" serve --policy "$tmp/policy.json" --socket "$tmp/other.sock" --state "$tmp/log/state" 2>"$tmp/second.err"
expect_eq "second daemon on one state dir exits 1" 1 "$?"
expect_in "it says why" "in use by another process" "$(cat "$tmp/second.err")"
kill9

# ---- damaged state: refused with a location; --state-reset starts empty --------
cp "$tmp/state/journal" "$tmp/journal.good"
size=$(stat -c %s "$tmp/state/journal")
# Flip one byte inside the first record's payload (header 16 + frame 8 + 3).
printf '\x99' | dd of="$tmp/state/journal" bs=1 seek=27 conv=notrunc status=none
"$tg" serve --policy "$tmp/policy.json" --socket "$sock" --state "$tmp/state" 2>"$tmp/damaged.err"
expect_eq "damaged journal: the daemon refuses to start" 1 "$?"
expect_in "the error names file and byte" "$tmp/state/journal: byte 16" "$(cat "$tmp/damaged.err")"
# A torn tail (the last record cut short) is dropped and reported.
head -c $((size - 3)) "$tmp/journal.good" > "$tmp/state/journal"
start_daemon --state "$tmp/state" || exit 1
expect_in "torn tail reported" "cut short by a crash" "$(cat "$tmp/serve.err")"
kill9
printf '\x99' | dd of="$tmp/state/journal" bs=1 seek=27 conv=notrunc status=none
start_daemon --state "$tmp/state" --state-reset || exit 1
expect_eq "after --state-reset the counters start empty" allow "$(client "$send" | verdict)"
expect_eq "the old journal is kept aside" 1 "$(ls "$tmp/state" | grep -c '^journal.reset-')"
kill9

# ---- in-process runs share a state directory across processes ------------------
call='{"agent_id":"cli","tool_name":"mcp__mail__send","tool_input":{}}'
for i in 1 2 3; do
  echo "$call" | "$tg" check --policy "$tmp/policy.json" --state "$tmp/cli-state" > /dev/null
  expect_eq "check $i" 0 "$?"
done
echo "$call" | "$tg" check --policy "$tmp/policy.json" --state "$tmp/cli-state" > /dev/null
expect_eq "the 4th check process is over the limit" 20 "$?"
echo "$call" | "$tg" check --policy "$tmp/policy.json" > /dev/null
expect_eq "without --state each run starts from zero" 0 "$?"
# Concurrent processes take turns on the lock: 6 at once, exactly 3 allowed.
rm -rf "$tmp/par-state"
for i in 1 2 3 4 5 6; do
  (echo "$call" | "$tg" check --policy "$tmp/policy.json" --state "$tmp/par-state" > /dev/null; echo $? > "$tmp/par.$i") &
done
wait
expect_eq "concurrent runs: 3 allowed" 3 "$(cat "$tmp"/par.* | grep -c '^0$')"
expect_eq "concurrent runs: 3 denied" 3 "$(cat "$tmp"/par.* | grep -c '^20$')"
# The hook without a daemon, too.
hook_send='{"session_id":"s","transcript_path":"/tmp/t","cwd":"/home/dev/project","hook_event_name":"PreToolUse","tool_name":"mcp__mail__send","tool_input":{}}'
for i in 1 2 3; do
  echo "$hook_send" | "$tg" hook --client claude --agent h --no-daemon --policy "$tmp/policy.json" --state "$tmp/hook-state" > "$tmp/hook.out"
done
echo "$hook_send" | "$tg" hook --client claude --agent h --no-daemon --policy "$tmp/policy.json" --state "$tmp/hook-state" > "$tmp/hook.out"
expect_in "hook --no-daemon --state: 4th is denied" '"permissionDecision":"deny"' "$(cat "$tmp/hook.out")"

# ---- ask_fallback ----------------------------------------------------------------
deploy='{"agent_id":"bot","tool_name":"mcp__deploy__run","tool_input":{}}'
out=$(echo "$deploy" | "$tg" check --policy "$tmp/policy.json")
expect_eq "an ask stays an ask where a human can be asked" 10 "$?"
out=$(echo "$deploy" | "$tg" check --policy "$tmp/policy.json" --headless)
expect_eq "headless check: ask falls back to deny" 20 "$?"
expect_in "the reason says it fell back" "the ask fell back to deny" "$out"
codex_ask='{"session_id":"s","turn_id":"t","cwd":"/home/dev/project","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"git push origin main"}}'
gemini_ask='{"session_id":"s","hook_event_name":"BeforeTool","cwd":"/home/dev/project","tool_name":"run_shell_command","tool_input":{"command":"git push origin main"}}'
cursor_read='{"conversation_id":"c","generation_id":"g","workspace_roots":["/home/dev/project"],"hook_event_name":"beforeReadFile","file_path":"/home/dev/project/.env","content":"x"}'
cursor_shell='{"conversation_id":"c","generation_id":"g","workspace_roots":["/home/dev/project"],"hook_event_name":"beforeShellExecution","command":"git push origin main","cwd":"/home/dev/project"}'
hooks_in_process() {  # LABEL
  out=$(echo "$codex_ask" | "$tg" hook --client codex --no-daemon --policy "$tmp/policy.json" --log "$tmp/hooklog-$1")
  echo "$out" > "$tmp/codex-$1.out"
  out=$(echo "$gemini_ask" | "$tg" hook --client gemini --no-daemon --policy "$tmp/policy.json")
  echo "$out" > "$tmp/gemini-$1.out"
  out=$(echo "$cursor_read" | "$tg" hook --client cursor --no-daemon --policy "$tmp/policy.json")
  echo "$out" > "$tmp/cursor-read-$1.out"
  out=$(echo "$cursor_shell" | "$tg" hook --client cursor --no-daemon --policy "$tmp/policy.json")
  echo "$out" > "$tmp/cursor-shell-$1.out"
}
hooks_in_process deny
expect_in "codex: ask falls back to deny" '"permissionDecision":"deny"' "$(cat "$tmp/codex-deny.out")"
expect_in "codex: the reason says so" "fell back to deny" "$(cat "$tmp/codex-deny.out")"
expect_in "the hook's log records the fallback" "fell back to deny" "$(cat "$tmp/hooklog-deny")"
expect_in "gemini: ask falls back to deny" '"decision":"deny"' "$(cat "$tmp/gemini-deny.out")"
expect_in "gemini: the reason says so" "fell back to deny" "$(cat "$tmp/gemini-deny.out")"
expect_in "cursor beforeReadFile: deny" '"permission":"deny"' "$(cat "$tmp/cursor-read-deny.out")"
expect_in "cursor beforeReadFile: the reason says so" "fell back to deny" "$(cat "$tmp/cursor-read-deny.out")"
expect_in "cursor shell can still ask" '"permission":"ask"' "$(cat "$tmp/cursor-shell-deny.out")"

write_policy '"ask_fallback": "allow",'
hooks_in_process allow
expect_eq "codex with ask_fallback allow: a plain allow is silence" "" "$(cat "$tmp/codex-allow.out")"
expect_in "the log records the fallback to allow" "fell back to allow" "$(cat "$tmp/hooklog-allow")"
expect_in "gemini with ask_fallback allow" '"decision":"allow"' "$(cat "$tmp/gemini-allow.out")"
expect_in "cursor beforeReadFile with ask_fallback allow" '"permission":"allow"' "$(cat "$tmp/cursor-read-allow.out")"
expect_in "cursor shell still asks" '"permission":"ask"' "$(cat "$tmp/cursor-shell-allow.out")"

# Through the daemon: the hook sends "headless": true, the daemon applies the
# fallback and logs it.
write_policy ''
start_daemon --state-memory --log "$tmp/dlog" || exit 1
out=$(echo "$codex_ask" | "$tg" hook --client codex --socket "$sock" --policy "$tmp/policy.json")
expect_in "codex via daemon: deny" '"permissionDecision":"deny"' "$out"
expect_in "codex via daemon: fell back" "fell back to deny" "$out"
expect_in "the daemon's log records it" "fell back to deny" "$(cat "$tmp/dlog/decisions.jsonl")"
reply=$(client '{"v":1,"id":5,"op":"decide","headless":true,"call":'"$deploy"'}')
expect_eq "headless request: deny" deny "$(echo "$reply" | verdict)"
reply=$(client '{"v":1,"id":6,"op":"decide","call":'"$deploy"'}')
expect_eq "a request that can ask gets ask" ask "$(echo "$reply" | verdict)"
reply=$(client '{"v":1,"id":7,"op":"decide","headless":"yes","call":'"$deploy"'}')
expect_in "headless must be a boolean" '"code":"bad_request"' "$reply"
kill9

# A policy value other than allow or deny is refused at load.
write_policy '"ask_fallback": "ask",'
echo "$deploy" | "$tg" check --policy "$tmp/policy.json" > /dev/null 2> "$tmp/bad.err"
expect_eq "ask_fallback ask is refused" 78 "$?"
expect_in "located" "/ask_fallback" "$(cat "$tmp/bad.err")"

echo "state_test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
