#!/usr/bin/env bash
# Faults around a running daemon's files:
#   * the policy file deleted, truncated (a half-written file), emptied, made
#     invalid, or one of its rule packs broken or deleted, then reloaded: the
#     last good policy stays in force, decisions go on, and each case is
#     logged on the daemon's stderr naming the file; a good file is taken;
#   * the socket file removed: the daemon notices, logs it and binds it again;
#   * the socket's permissions loosened: the daemon logs it and restores them;
#   * a shim that may not reach the socket (wrong permissions for its user)
#     answers deny naming the failure, instead of judging unlogged in-process.
# Reloads are triggered by reload() below: SIGHUP today. A daemon that watches
# its files reloads by itself; set TOOLGATE_FAULTS_RELOAD=watch to test that
# (reload() then only waits for the daemon to notice).
# Usage: reload_faults_test.sh TOOLGATE TOOLGATE_HOOK SOURCE_ROOT
tg=$1
shim=$2
root=$3
. "$root/tests/faults/lib.sh"

mode=${TOOLGATE_FAULTS_RELOAD:-hup}
cp -r "$root/tests/faults/policy.json" "$root/tests/faults/packs" "$tmp/"
policy="$tmp/policy.json"
sock="$tmp/run/toolgate.sock"
err="$tmp/serve.err"
claude_input Bash '{"command":"git status"}' toolu_git > "$tmp/git.json"

start_daemon "$sock" "$err" --policy "$policy" --log "$tmp/log" || exit 1
good=$(ping_digest "$sock")

reload() {
  if [ "$mode" = hup ]; then kill -HUP "$daemon"; fi
}
decide_git() {  # -> the verdict the daemon gives `git status`
  client "$sock" '{"v":1,"id":1,"op":"decide","call":{"agent_id":"claude-dev","tool_name":"Bash","cwd":"/home/dev/project","tool_input":{"command":"git status"}}}' |
    python3 -c 'import json,sys
try: print(json.load(sys.stdin)["decision"]["verdict"])
except Exception: print("no answer")'
}

# fault_case NAME REASON_REGEX: reloads after the caller broke the policy, and
# checks the failure is logged (a new line naming the policy file and the
# reason), the digest is unchanged and decisions go on.
fault_case() {
  local name=$1 why=$2 failures
  failures=$(grep -c "keeping the last good policy" "$err")
  : > "$tmp/err.mark"; cp "$err" "$tmp/err.before"
  reload
  local i
  for i in $(seq 1 300); do
    [ "$(grep -c "keeping the last good policy" "$err")" -gt "$failures" ] && break
    sleep 0.1
  done
  local new
  new=$(diff "$tmp/err.before" "$err" | sed -n 's/^> //p')
  if printf '%s' "$new" | grep -q "reload of $policy failed; keeping the last good policy $good"; then
    ok "$name: logged, last good policy kept"
  else
    bad "$name: no failure logged: $new"
  fi
  expect_match "$name: the log says why" "$why" "$new"
  expect_eq "$name: the digest is unchanged" "$good" "$(ping_digest "$sock")"
  expect_eq "$name: decisions go on" allow "$(decide_git)"
}

cp "$policy" "$tmp/policy.good"
cp "$tmp/packs/hostile.lua" "$tmp/hostile.good"

rm "$policy"
fault_case "policy deleted" "cannot (open|read)|No such file"
cp "$tmp/policy.good" "$policy"

head -c "$(($(stat -c %s "$policy") / 2))" "$tmp/policy.good" > "$policy"
fault_case "policy truncated (half written)" "error\[policy_json\]|JSON|parse"

: > "$policy"
fault_case "policy emptied" "error\["

echo '{"toolgate_policy": 1, "profiles": {"dev": {"tools": {"allow": 5}}}}' > "$policy"
fault_case "policy invalid (schema)" "/profiles/dev/tools/allow"

printf '\xff\xfe{"toolgate_policy": 1}' > "$policy"
fault_case "policy invalid (not UTF-8)" "UTF-8|utf8|error\["

cp "$tmp/policy.good" "$policy"
echo 'rule { id = "broken", check = ' >> "$tmp/packs/hostile.lua"
fault_case "rule pack broken" "hostile.lua"
rm "$tmp/packs/hostile.lua"
fault_case "rule pack deleted" "hostile.lua"
cp "$tmp/hostile.good" "$tmp/packs/hostile.lua"

# A good policy again (one more tool allowed): taken, and logged.
python3 - "$tmp/policy.good" "$policy" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["profiles"]["dev"]["tools"]["allow"].append("Extra")
json.dump(p, open(sys.argv[2], "w"), indent=1)
PY
reload
for _ in $(seq 1 300); do [ "$(ping_digest "$sock")" != "$good" ] && break; sleep 0.1; done
new_digest=$(ping_digest "$sock")
if [ -n "$new_digest" ] && [ "$new_digest" != "$good" ]; then ok "a good policy is taken after the failures"
else bad "the good policy was not taken"; fi
if grep -q "reloaded $policy: policy $new_digest (was $good)" "$err"; then ok "the reload is logged"
else bad "the reload is not logged"; fi
good=$new_digest

# ---- the socket file removed: noticed, logged, bound again ---------------------
rm "$sock"
if wait_for_line "$err" "socket file $sock was removed" 10; then ok "socket removal is logged"
else bad "socket removal not logged: $(tail -3 "$err")"; fi
for _ in $(seq 1 50); do [ -S "$sock" ] && break; sleep 0.1; done
if [ -S "$sock" ]; then ok "the socket is bound again"; else bad "the socket was not bound again"; fi
expect_eq "socket mode after rebinding" 600 "$(stat -c %a "$sock" 2>/dev/null)"
expect_eq "the rebound socket serves the same policy" "$good" "$(ping_digest "$sock")"
out=$("$shim" --client claude --socket "$sock" --agent claude-dev < "$tmp/git.json" 2>/dev/null)
expect_eq "a shim is answered through the rebound socket" allow "$(hook_verdict "$out" $?)"

# ---- loosened permissions: logged and restored ----------------------------------
chmod 0666 "$sock"
if wait_for_line "$err" "socket $sock has mode 0?666" 10; then ok "loosened socket mode is logged"
else bad "loosened socket mode not logged: $(tail -3 "$err")"; fi
for _ in $(seq 1 50); do [ "$(stat -c %a "$sock")" = 600 ] && break; sleep 0.1; done
expect_eq "the socket mode is restored" 600 "$(stat -c %a "$sock")"

# ---- a socket the shim's user may not reach: deny, never in-process -------------
# The socket is root's, mode 0600, in a directory others may enter: another
# user's shim gets EACCES from connect and must deny (judging in-process would
# bypass the daemon's log).
chmod 0711 "$tmp"
chmod 0755 "$tmp/run"
if command -v setpriv >/dev/null && [ "$(id -u)" = 0 ]; then
  out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$shim" --client claude --socket "$sock" --agent claude-dev \
    < "$tmp/git.json" 2>/dev/null)
  code=$?
  expect_eq "a shim denied access to the socket -> deny" deny "$(hook_verdict "$out" "$code")"
  expect_match "the reason names the socket and the error" "cannot connect to the toolgate daemon: Permission denied" \
    "$(hook_reason "$out")"
  out=$(setpriv --reuid=65534 --regid=65534 --clear-groups "$tg" hook --client claude --socket "$sock" --agent claude-dev \
    < "$tmp/git.json" 2>/dev/null)
  code=$?
  expect_eq "toolgate hook denied access to the socket -> deny" deny "$(hook_verdict "$out" "$code")"
else
  echo "skip: the other-user socket case needs root and setpriv"
fi
chmod 0700 "$tmp" "$tmp/run"

# ---- the log holds every decision; the daemon stops cleanly ------------------------
stop_daemon
expect_eq "graceful stop" 0 "$stop_code"
"$tg" log verify "$tmp/log" > "$tmp/verify.out" 2>&1
expect_eq "the log verifies" 0 "$?"
echo "--- the daemon's operational log ---"
cat "$err"
finish reload_faults
