#!/usr/bin/env bash
# End-to-end checks of `toolgate hook`, `toolgate install` and `toolgate uninstall`:
# each client's recorded input gets the expected verdict in its own output shape;
# install merges into existing configuration, is idempotent, keeps a backup, and
# uninstall removes only toolgate's entries; a daemon that accepts and never
# answers is a deny within --timeout-ms.
# Usage: hook_cli_test.sh TOOLGATE SOURCE_ROOT
set -u
tg=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")  # absolute: install runs it from other directories
root=$2
fx=$root/tests/hooks/fixtures
tmp=$(mktemp -d)
listener_pid=
cleanup() {
  if [ -n "$listener_pid" ]; then kill "$listener_pid" 2>/dev/null; wait "$listener_pid" 2>/dev/null; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
expect_exit() { if [ "$2" -eq "$3" ]; then ok; else bad "$1: exit $3, expected $2"; fi; }
# jq-like check with python: NAME JSON_TEXT PYTHON_EXPR (o = the parsed object)
expect_json() {
  if printf '%s' "$2" | python3 -c "import json,sys; o=json.load(sys.stdin); sys.exit(0 if ($3) else 1)" 2>/dev/null; then ok
  else bad "$1: $3 is false for: $(printf '%s' "$2" | head -c 400)"; fi
}
hook() {  # FIXTURE [ARGS...] -> sets out, code
  local f=$1; shift
  out=$("$tg" hook --no-daemon --agent claude-dev "$@" < "$fx/$f" 2>"$tmp/stderr"); code=$?
}

# ---- every client's dialect, auto-detected ----------------------------------
hook claude/pre_bash_allow.json;  expect_exit "claude allow" 0 $code
expect_json "claude allow" "$out" 'o["hookSpecificOutput"]["permissionDecision"]=="allow"'
hook claude/pre_bash_deny.json;   expect_exit "claude deny" 0 $code
expect_json "claude deny" "$out" 'o["hookSpecificOutput"]["permissionDecision"]=="deny" and "id_rsa" in o["hookSpecificOutput"]["permissionDecisionReason"]'
hook claude/pre_bash_ask.json
expect_json "claude ask" "$out" 'o["hookSpecificOutput"]["permissionDecision"]=="ask"'
hook claude/post_bash.json;       expect_exit "claude post" 0 $code
[ -z "$out" ] && ok || bad "claude post prints nothing: $out"

hook copilot/pre_bash_deny.json;  expect_exit "copilot deny" 0 $code
expect_json "copilot deny (toolArgs string)" "$out" 'o["permissionDecision"]=="deny" and "id_rsa" in o["permissionDecisionReason"] and "hookSpecificOutput" not in o'
hook copilot/pre_create_allow.json
expect_json "copilot create allow" "$out" 'o["permissionDecision"]=="allow"'
hook copilot/pre_edit_deny.json
expect_json "copilot edit /etc/hosts" "$out" 'o["permissionDecision"]=="deny"'
hook copilot/post_bash.json;      expect_exit "copilot post" 0 $code
[ -z "$out" ] && ok || bad "copilot post prints nothing: $out"
hook copilot/claude_shaped_pre_deny.json --client copilot
expect_json "copilot claude-shaped" "$out" 'o["permissionDecision"]=="deny" and o["hookSpecificOutput"]["permissionDecision"]=="deny"'

# The developer profile runs shell commands sandboxed: Codex gets allow with
# the rewritten command (never a bare allow).
hook codex/pre_bash_allow.json;   expect_exit "codex allow" 0 $code
expect_json "codex allow forwards into toolgate run" "$out" 'o["hookSpecificOutput"]["permissionDecision"]=="allow" and " run " in o["hookSpecificOutput"]["updatedInput"]["command"]'
hook codex/pre_bash_deny.json
expect_json "codex deny" "$out" 'o["hookSpecificOutput"]["permissionDecision"]=="deny" and o["hookSpecificOutput"]["permissionDecisionReason"]'
hook codex/pre_bash_ask.json
expect_json "codex ask is a deny" "$out" 'o["hookSpecificOutput"]["permissionDecision"]=="deny" and "human" in o["hookSpecificOutput"]["permissionDecisionReason"]'
hook codex/pre_apply_patch_allow.json
[ -z "$out" ] && ok || bad "codex patch in the project is allowed (silence): $out"
hook codex/pre_apply_patch_deny.json
expect_json "codex patch writing authorized_keys" "$out" 'o["hookSpecificOutput"]["permissionDecision"]=="deny" and "authorized_keys" in o["hookSpecificOutput"]["permissionDecisionReason"]'
for f in $(cd "$fx" && ls codex/*.json); do
  hook "$f"
  case "$out" in
    *'"updatedInput"'*) ok ;;  # a forwarded shell call: allow with the rewritten command
    *'"allow"'*|*'"ask"'*) bad "codex $f: answer holds allow/ask: $out" ;;
    *) ok ;;
  esac
done

hook gemini/before_shell_allow.json
expect_json "gemini allow" "$out" 'o["decision"]=="allow"'
hook gemini/before_shell_deny.json
expect_json "gemini deny" "$out" 'o["decision"]=="deny" and "id_rsa" in o["reason"]'
hook gemini/before_shell_ask.json
expect_json "gemini ask is a deny" "$out" 'o["decision"]=="deny"'
hook gemini/before_read_file_deny.json
expect_json "gemini read .env" "$out" 'o["decision"]=="deny"'
hook gemini/after_tool.json
expect_json "gemini after" "$out" 'o=={}'
for f in $(cd "$fx" && ls gemini/*.json); do
  hook "$f"
  case "$out" in *'"ask"'*) bad "gemini $f: answer holds ask: $out" ;; *) ok ;; esac
done

hook cursor/before_shell_allow.json
expect_json "cursor allow" "$out" 'o=={"permission":"allow"}'
hook cursor/before_shell_deny.json
expect_json "cursor deny" "$out" 'o["permission"]=="deny" and "id_rsa" in o["agent_message"] and o["user_message"]'
hook cursor/before_shell_ask.json
expect_json "cursor ask" "$out" 'o["permission"]=="ask"'
hook cursor/before_read_file_deny.json
expect_json "cursor read .env" "$out" 'o["permission"]=="deny"'
hook cursor/pre_tool_use_write_allow.json
expect_json "cursor preToolUse Write" "$out" 'o["permission"]=="allow"'

# ---- bad input: a deny in the client's form ------------------------------------
out=$(printf '{"tool_name": ' | "$tg" hook --no-daemon 2>"$tmp/stderr"); code=$?
expect_exit "truncated JSON, unknown client" 2 $code
grep -q malformed_json "$tmp/stderr" && ok || bad "stderr names the error: $(cat "$tmp/stderr")"
out=$(printf '{"hook_event_name":"BeforeTool","tool_name":"run_shell_command","tool_input":{"command":"ls \xff"}}' |
      "$tg" hook --no-daemon --client gemini 2>/dev/null); code=$?
expect_json "invalid UTF-8 to gemini" "$out" 'o["decision"]=="deny" and "invalid_utf8" in o["reason"]'
out=$(python3 -c 'print("{\"toolName\":\"bash\",\"toolArgs\":{\"command\":\"" + "a"*1100000 + "\"}}")' |
      "$tg" hook --no-daemon --client copilot 2>/dev/null); code=$?
expect_exit "oversized to copilot exits 0" 0 $code
expect_json "oversized to copilot" "$out" 'o["permissionDecision"]=="deny" and "input_too_large" in o["permissionDecisionReason"]'
out=$("$tg" hook --no-daemon --client nosuch < "$fx/claude/pre_bash_allow.json" 2>/dev/null); code=$?
expect_exit "unknown --client" 2 $code
expect_json "unknown --client denies" "$out" 'o["hookSpecificOutput"]["permissionDecision"]=="deny"'
out=$("$tg" hook --no-daemon --client cursor --policy "$tmp/missing.json" < "$fx/cursor/before_shell_allow.json" 2>/dev/null); code=$?
expect_json "missing policy" "$out" 'o["permission"]=="deny" and "policy failed to load" in o["agent_message"]'

# ---- --log: the same audit log as check --log (a directory gets decisions.jsonl) --
mkdir -p "$tmp/log"
"$tg" hook --no-daemon --agent claude-dev --log "$tmp/log/decisions.jsonl" < "$fx/gemini/before_shell_deny.json" >/dev/null 2>&1
out=$("$tg" hook --no-daemon --agent claude-dev --log "$tmp/log" < "$fx/codex/pre_apply_patch_allow.json" 2>/dev/null)
[ -z "$out" ] && ok || bad "logged codex patch is still allowed: $out"
out=$("$tg" hook --no-daemon --agent claude-dev --log "$tmp/nodir/x/decisions.jsonl" < "$fx/claude/pre_bash_allow.json" 2>/dev/null)
expect_json "unwritable log: deny" "$out" 'o["hookSpecificOutput"]["permissionDecision"]=="deny" and "audit log" in o["hookSpecificOutput"]["permissionDecisionReason"]'
"$tg" log verify "$tmp/log/decisions.jsonl" >/dev/null 2>&1; expect_exit "hook log verifies" 0 $?
lines=$(wc -l < "$tmp/log/decisions.jsonl")
[ "$lines" -eq 3 ] && ok || bad "one record per judged call (1 shell + 2 patched files), got $lines"
grep -q '"client_tool_name":"run_shell_command"' "$tmp/log/decisions.jsonl" && ok || bad "log keeps gemini's tool name"
grep -q '"client_tool_name":"apply_patch"' "$tmp/log/decisions.jsonl" && ok || bad "log keeps codex's tool name"

# ---- daemon: down = in-process; silent = deny within --timeout-ms ---------------
sock=$tmp/d/toolgate.sock
mkdir -p "$tmp/d"
out=$("$tg" hook --agent claude-dev --socket "$sock" < "$fx/claude/pre_bash_allow.json" 2>/dev/null)
expect_json "no daemon socket: in-process" "$out" 'o["hookSpecificOutput"]["permissionDecision"]=="allow"'
python3 - "$sock" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(8)
held = []
deadline = time.time() + 60
s.settimeout(1.0)
while time.time() < deadline:
    try:
        c, _ = s.accept()
        held.append(c)  # accept, read nothing back, never answer
    except socket.timeout:
        pass
PY
listener_pid=$!
for _ in $(seq 50); do [ -S "$sock" ] && break; sleep 0.1; done
start=$(date +%s%N)
out=$("$tg" hook --agent claude-dev --socket "$sock" --timeout-ms 300 < "$fx/claude/pre_bash_allow.json" 2>/dev/null); code=$?
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
expect_exit "silent daemon exit" 0 $code
expect_json "silent daemon: deny naming the daemon" "$out" 'o["hookSpecificOutput"]["permissionDecision"]=="deny" and "did not answer within 300 ms" in o["hookSpecificOutput"]["permissionDecisionReason"]'
[ "$elapsed_ms" -lt 3000 ] && ok || bad "silent daemon: took ${elapsed_ms} ms, expected about 300"
out=$("$tg" hook --agent claude-dev --socket "$sock" --timeout-ms 300 < "$fx/gemini/before_shell_allow.json" 2>/dev/null)
expect_json "silent daemon, gemini form" "$out" 'o["decision"]=="deny"'
kill "$listener_pid" 2>/dev/null; wait "$listener_pid" 2>/dev/null; listener_pid=
# A daemon that answers garbage is a deny too.
python3 - "$sock.2" <<'PY' &
import os, socket, sys, time
p = sys.argv[1]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(p); s.listen(8); s.settimeout(1.0)
deadline = time.time() + 60
while time.time() < deadline:
    try:
        c, _ = s.accept()
        c.recv(65536); c.sendall(b'{"v":1,"id":1,"ok":true,"decision":{"verdict":"maybe"}}\n'); c.close()
    except socket.timeout:
        pass
PY
listener_pid=$!
for _ in $(seq 50); do [ -S "$sock.2" ] && break; sleep 0.1; done
out=$("$tg" hook --agent claude-dev --socket "$sock.2" --timeout-ms 2000 < "$fx/cursor/before_shell_allow.json" 2>/dev/null)
expect_json "garbage daemon: deny" "$out" 'o["permission"]=="deny" and "daemon" in o["agent_message"]'
kill "$listener_pid" 2>/dev/null; wait "$listener_pid" 2>/dev/null; listener_pid=
# A daemon that answers: its verdict and message are the answer, one request per judged call.
python3 - "$sock.3" "$tmp/daemon-requests.jsonl" <<'PY' &
import json, socket, sys, time
p, log = sys.argv[1], sys.argv[2]
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.bind(p); s.listen(8); s.settimeout(1.0)
deadline = time.time() + 60
while time.time() < deadline:
    try:
        c, _ = s.accept()
    except socket.timeout:
        continue
    buf = b""
    c.settimeout(5.0)
    try:
        while True:
            data = c.recv(65536)
            if not data:
                break
            buf += data
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                req = json.loads(line)
                open(log, "a").write(json.dumps(req) + "\n")
                verdict = "deny" if "authorized_keys" in json.dumps(req["call"]) else "allow"
                reply = {"v": 1, "id": req["id"], "ok": True, "decision": {
                    "verdict": verdict, "agent_id": req["call"]["agent_id"], "profile": "developer",
                    "message": "toolgate: the daemon says " + verdict, "reasons": [],
                    "policy_digest": "sha256:00", "latency_ns": 1}}
                # The daemon's policy runs this agent's shell commands sandboxed.
                if verdict == "allow" and req["call"]["tool_name"] == "Bash" and req["call"]["agent_id"] != "plain":
                    reply["shell_sandboxed"] = True
                c.sendall((json.dumps(reply) + "\n").encode())
    except socket.timeout:
        pass
    c.close()
PY
listener_pid=$!
for _ in $(seq 50); do [ -S "$sock.3" ] && break; sleep 0.1; done
out=$("$tg" hook --agent claude-dev --socket "$sock.3" < "$fx/codex/pre_apply_patch_deny.json" 2>/dev/null)
expect_json "daemon answer" "$out" 'o["hookSpecificOutput"]["permissionDecision"]=="deny" and o["hookSpecificOutput"]["permissionDecisionReason"]=="toolgate: the daemon says deny"'
python3 - "$tmp/daemon-requests.jsonl" <<'PY' && ok || bad "daemon requests: v 1, op decide, ids 1 and 2, canonical calls with agent and client tool name"
import json, sys
reqs = [json.loads(l) for l in open(sys.argv[1])]
assert [r["id"] for r in reqs] == [1, 2], reqs
for r in reqs:
    assert r["v"] == 1 and r["op"] == "decide"
    c = r["call"]
    assert c["agent_id"] == "claude-dev" and c["client"] == "codex" and c["client_tool_name"] == "apply_patch"
    assert c["tool_name"] in ("Write", "Edit") and c["cwd"] == "/home/dev/project"
PY
out=$("$tg" hook --agent claude-dev --socket "$sock.3" < "$fx/gemini/before_shell_allow.json" 2>/dev/null)
expect_json "daemon allow, gemini form (forwarded)" "$out" 'o["decision"]=="allow" and " run " in o["hookSpecificOutput"]["tool_input"]["command"]'
# Forwarding follows the daemon's "shell_sandboxed", not a local policy.
out=$("$tg" hook --agent plain --socket "$sock.3" < "$fx/gemini/before_shell_allow.json" 2>/dev/null)
expect_json "daemon allow without shell_sandboxed: not forwarded" "$out" 'o["decision"]=="allow" and "hookSpecificOutput" not in o'
out=$("$tg" hook --agent claude-dev --socket "$sock.3" --policy "$tmp/missing.json" < "$fx/gemini/before_shell_allow.json" 2>/dev/null)
expect_json "daemon allow: no local policy is loaded" "$out" 'o["decision"]=="allow" and " run " in o["hookSpecificOutput"]["tool_input"]["command"]'
kill "$listener_pid" 2>/dev/null; wait "$listener_pid" 2>/dev/null; listener_pid=
# A socket file nobody listens on (a daemon that died) means judging in-process.
out=$("$tg" hook --agent claude-dev --socket "$sock" < "$fx/claude/pre_bash_allow.json" 2>/dev/null)
expect_json "stale socket: in-process" "$out" 'o["hookSpecificOutput"]["permissionDecision"]=="allow"'

# ---- install / uninstall round trip ---------------------------------------------
proj=$tmp/proj
mkdir -p "$proj/.claude" "$proj/.gemini" "$proj/.cursor"
cat > "$proj/.claude/settings.json" <<'JSON'
{"permissions": {"allow": ["Bash(npm test)"]}, "model": "opus",
 "hooks": {"PreToolUse": [{"matcher": "Write", "hooks": [{"type": "command", "command": "prettier --check"}]}]}}
JSON
cat > "$proj/.gemini/settings.json" <<'JSON'
{"theme": "Dracula", "hooks": {"AfterTool": [{"matcher": "write_file", "hooks": [{"type": "command", "command": "lint"}]}]}}
JSON
cat > "$proj/.cursor/hooks.json" <<'JSON'
{"version": 1, "hooks": {"afterFileEdit": [{"command": "hooks/format.sh"}]}}
JSON
for c in claude gemini cursor copilot codex; do
  f=$(case $c in claude) echo .claude/settings.json;; gemini) echo .gemini/settings.json;; cursor) echo .cursor/hooks.json;;
                 copilot) echo .github/hooks/toolgate.json;; codex) echo .codex/hooks.json;; esac)
  [ -f "$proj/$f" ] && cp "$proj/$f" "$tmp/$c.orig" || rm -f "$tmp/$c.orig"
  (cd "$proj" && HOME=$tmp/home "$tg" install "$c" --agent claude-dev --policy "$root/rules/examples/default.json" > "$tmp/install.out" 2>&1)
  expect_exit "install $c" 0 $?
  grep -q "hook --client $c --policy $root/rules/examples/default.json --agent claude-dev" "$proj/$f" && ok || bad "install $c: command in $f"
  grep -q "^notes:" "$tmp/install.out" && ok || bad "install $c prints notes: $(cat "$tmp/install.out")"
  if [ -f "$tmp/$c.orig" ]; then
    cmp -s "$tmp/$c.orig" "$proj/$f.toolgate-backup" && ok || bad "install $c: backup holds the previous file"
    python3 - "$tmp/$c.orig" "$proj/$f" <<'PY' && ok || bad "install $c keeps every key"
import json, sys
a, b = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
def sub(x, y):  # every key/value of x is still in y (arrays: x's items appear in y in order)
    if isinstance(x, dict): return isinstance(y, dict) and all(k in y and sub(v, y[k]) for k, v in x.items())
    if isinstance(x, list): return isinstance(y, list) and all(any(sub(i, j) for j in y) for i in x)
    return x == y
sys.exit(0 if sub(a, b) else 1)
PY
  fi
  sum1=$(md5sum "$proj/$f" | cut -d' ' -f1)
  (cd "$proj" && HOME=$tmp/home "$tg" install "$c" --agent claude-dev --policy "$root/rules/examples/default.json" > "$tmp/install2.out" 2>&1)
  [ "$sum1" = "$(md5sum "$proj/$f" | cut -d' ' -f1)" ] && ok || bad "install $c twice changes nothing"
  grep -q "^unchanged " "$tmp/install2.out" && ok || bad "second install $c says unchanged: $(head -1 "$tmp/install2.out")"
  (cd "$proj" && HOME=$tmp/home "$tg" uninstall "$c" > /dev/null 2>&1)
  expect_exit "uninstall $c" 0 $?
  if [ -f "$tmp/$c.orig" ]; then
    python3 -c 'import json,sys; sys.exit(0 if json.load(open(sys.argv[1])) == json.load(open(sys.argv[2])) else 1)' \
      "$tmp/$c.orig" "$proj/$f" && ok || bad "uninstall $c restores the original content: $(cat "$proj/$f")"
  elif [ -f "$proj/$f" ]; then
    grep -q "hook --client" "$proj/$f" && bad "uninstall $c left toolgate's entry" || ok
  else
    ok
  fi
done
(cd "$proj" && "$tg" install claude --scope nowhere >/dev/null 2>&1); expect_exit "bad scope" 64 $?
(cd "$proj" && "$tg" install vim >/dev/null 2>&1); expect_exit "unknown client" 64 $?

# Forwarding: an allowed shell call of the developer profile comes back wrapped
# in `toolgate run`; run as the client would, its network goes through the
# egress proxy, whose decisions land in their own chain beside the hook's log.
fwd=$tmp/fwd; mkdir -p "$fwd/proj" "$fwd/log"
call='{"session_id":"fwd-1","cwd":"'$fwd/proj'","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"echo inside > made.txt; python3 -c \"import urllib.request as u; u.urlopen('"'"'https://github.com/'"'"', timeout=5)\""},"tool_use_id":"f1"}'
out=$(cd "$fwd/proj" && "$tg" hook --client claude --agent claude-dev --no-daemon --log "$fwd/log" <<< "$call" 2>/dev/null)
wrapped=$(python3 -c 'import json,sys; print(json.loads(sys.argv[1])["hookSpecificOutput"]["updatedInput"]["command"])' "$out" 2>/dev/null)
case "$wrapped" in
  "'$tg' run --session 'fwd-1' --log '$fwd/log/egress' --agent 'claude-dev' -- '/bin/bash' -c "*) ok ;;
  *) bad "forwarded command: $out" ;;
esac
(cd "$fwd/proj" && timeout 60 bash -c "$wrapped" > "$fwd/run.out" 2>&1)
[ "$(cat "$fwd/proj/made.txt" 2>/dev/null)" = inside ] && ok || bad "the forwarded command ran in the project: $(cat "$fwd/run.out")"
"$tg" log verify "$fwd/log" > /dev/null 2>&1 && ok || bad "the hook's log verifies"
"$tg" log verify "$fwd/log/egress" > /dev/null 2>&1 && ok || bad "the egress log verifies"
grep -q '"host":"github.com"' "$fwd/log/egress/egress.jsonl" \
  && ok || bad "the proxy logged its decision on github.com: $(cat "$fwd/log/egress/egress.jsonl" 2>/dev/null | head -c 300)"

echo "hook_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
