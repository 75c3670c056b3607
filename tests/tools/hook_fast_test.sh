#!/usr/bin/env bash
# The fast hook shim toolgate-hook against `toolgate hook`: for every recorded
# client input, the same stdout, stderr and exit code with a daemon running
# (`toolgate serve`) and without one (the shim execs `toolgate hook`); a
# silent daemon is a deny within --timeout-ms; a usage error is answered by
# the full binary; `toolgate install` writes the shim's path when the shim sits
# beside toolgate.
# Usage: hook_fast_test.sh TOOLGATE TOOLGATE_HOOK SOURCE_ROOT
set -u
abs() { echo "$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"; }
tg=$(abs "$1")
shim=$(abs "$2")
root=$3
fx=$root/tests/hooks/fixtures
tmp=$(mktemp -d)
daemon_pid=
listener_pid=
cleanup() {
  for p in $daemon_pid $listener_pid; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
export TOOLGATE_BIN=$tg  # in the build tree the shim does not sit beside toolgate
unset TOOLGATE_SOCKET TOOLGATE_AGENT

# Runs both with the same arguments on FIXTURE and compares everything they print.
same() {  # LABEL FIXTURE ARGS...
  local label=$1 f=$2; shift 2
  local a_out a_err a_code b_out b_err b_code
  a_out=$("$tg" hook "$@" < "$fx/$f" 2>"$tmp/a.err"); a_code=$?
  b_out=$("$shim" "$@" < "$fx/$f" 2>"$tmp/b.err"); b_code=$?
  a_err=$(cat "$tmp/a.err"); b_err=$(cat "$tmp/b.err")
  if [ "$a_out" == "$b_out" ] && [ "$a_code" -eq "$b_code" ] && [ "$a_err" == "$b_err" ]; then ok
  else bad "$label $f: toolgate hook exit $a_code [$a_out] [$a_err], toolgate-hook exit $b_code [$b_out] [$b_err]"; fi
}

fixtures=$(cd "$fx" && ls */*.json)
[ "$(echo "$fixtures" | wc -l)" -ge 25 ] && ok || bad "expected the recorded fixtures under $fx"

# ---- no daemon: the shim execs toolgate hook with the input it read ----------
for f in $fixtures; do
  same "no daemon" "$f" --agent claude-dev --socket "$tmp/none.sock"
  same "no daemon, no agent" "$f" --socket "$tmp/none.sock"
done
mkdir "$tmp/log"
same "no daemon, log" claude/pre_bash_deny.json --agent claude-dev --socket "$tmp/none.sock" --log "$tmp/log"
[ "$(wc -l < "$tmp/log/decisions.jsonl")" -eq 2 ] && ok || bad "fallback: both runs logged in-process"
same "--no-daemon" codex/pre_bash_allow.json --no-daemon --agent claude-dev
same "usage error" claude/pre_bash_allow.json --client nosuch
same "unknown option" gemini/before_shell_allow.json --frobnicate
same "unreadable input" claude/pre_bash_allow.json --client cursor --policy "$tmp/missing.json" --socket "$tmp/none.sock"
printf 'not json' > "$tmp/garbage.json"
a=$("$tg" hook --socket "$tmp/none.sock" < "$tmp/garbage.json" 2>/dev/null); ac=$?
b=$("$shim" --socket "$tmp/none.sock" < "$tmp/garbage.json" 2>/dev/null); bc=$?
[ "$a" == "$b" ] && [ "$ac" -eq "$bc" ] && [ "$bc" -eq 2 ] && ok || bad "garbage input: [$a] $ac vs [$b] $bc"
# An input past the size limit reaches the full binary as it was read.
python3 -c "import json; print(json.dumps({'hook_event_name':'PreToolUse','tool_name':'Bash','tool_input':{'command':'x'*(1<<20)}}))" > "$tmp/big.json"
a=$("$tg" hook --socket "$tmp/none.sock" < "$tmp/big.json" 2>/dev/null); ac=$?
b=$("$shim" --socket "$tmp/none.sock" < "$tmp/big.json" 2>/dev/null); bc=$?
[ "$a" == "$b" ] && [ "$ac" -eq "$bc" ] && ok || bad "oversized input: [$a] $ac vs [$b] $bc"
# No full binary to fall back on: a deny, never a silent pass.
out=$(TOOLGATE_BIN=$tmp/nothing-here "$shim" --socket "$tmp/none.sock" < "$fx/claude/pre_bash_allow.json" 2>/dev/null)
printf '%s' "$out" | grep -q '"permissionDecision":"deny"' && printf '%s' "$out" | grep -q 'nothing-here' && ok \
  || bad "missing toolgate: deny naming it: $out"

# ---- a daemon: the shim answers from it, as toolgate hook does -----------------
mkdir -m 700 "$tmp/run"
sock=$tmp/run/toolgate.sock
"$tg" serve --socket "$sock" 2>"$tmp/serve.err" &
daemon_pid=$!
for _ in $(seq 100); do
  printf '{"v":1,"id":0,"op":"ping"}\n' | python3 -c "
import socket,sys
s=socket.socket(socket.AF_UNIX); s.settimeout(1); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read())
sys.exit(0 if b'pong' in s.recv(4096) else 1)" "$sock" 2>/dev/null && break
  sleep 0.1
done
[ -S "$sock" ] && ok || { bad "the daemon did not start: $(cat "$tmp/serve.err")"; exit 1; }
for f in $fixtures; do
  same "daemon" "$f" --agent claude-dev --socket "$sock"
  same "daemon, no agent" "$f" --socket "$sock"
done
same "daemon, via environment" claude/pre_bash_allow.json
TOOLGATE_SOCKET=$sock same "daemon, TOOLGATE_SOCKET" codex/pre_bash_allow.json --agent claude-dev
# Shell forwarding comes from the daemon's "shell_sandboxed", no local policy:
# an unreadable --policy does not matter once the daemon judged.
out=$("$shim" --agent claude-dev --socket "$sock" < "$fx/claude/pre_bash_allow.json" 2>/dev/null)
printf '%s' "$out" | grep -q "' run --session" && ok || bad "daemon allow forwards into toolgate run: $out"
# Proof the daemon answered: the shim alone (no full binary) still answers.
out=$(TOOLGATE_BIN=$tmp/nothing-here "$shim" --agent claude-dev --socket "$sock" < "$fx/claude/pre_bash_deny.json" 2>/dev/null)
printf '%s' "$out" | grep -q '"permissionDecision":"deny"' && printf '%s' "$out" | grep -q 'id_rsa' && ok \
  || bad "daemon deny without the full binary: $out"
kill "$daemon_pid" 2>/dev/null; wait "$daemon_pid" 2>/dev/null; daemon_pid=

# ---- a daemon that accepts and never answers: deny within --timeout-ms ------
python3 - "$tmp/silent.sock" <<'PY' &
import socket, sys, time
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(sys.argv[1]); s.listen(8); s.settimeout(1.0)
held = []
deadline = time.time() + 60
while time.time() < deadline:
    try:
        c, _ = s.accept(); held.append(c)
    except socket.timeout:
        pass
PY
listener_pid=$!
for _ in $(seq 50); do [ -S "$tmp/silent.sock" ] && break; sleep 0.1; done
start=$(date +%s%N)
out=$("$shim" --agent claude-dev --socket "$tmp/silent.sock" --timeout-ms 300 < "$fx/claude/pre_bash_allow.json" 2>/dev/null); code=$?
elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$code" -eq 0 ] && ok || bad "silent daemon: exit $code"
printf '%s' "$out" | grep -q '"permissionDecision":"deny"' && printf '%s' "$out" | grep -q 'did not answer within 300 ms' && ok \
  || bad "silent daemon: deny naming the timeout: $out"
[ "$elapsed_ms" -lt 3000 ] && ok || bad "silent daemon: took ${elapsed_ms} ms, expected about 300"
same "silent daemon" gemini/before_shell_allow.json --agent claude-dev --socket "$tmp/silent.sock" --timeout-ms 200
kill "$listener_pid" 2>/dev/null; wait "$listener_pid" 2>/dev/null; listener_pid=

# ---- install: the shim's path when it sits beside toolgate -----------------------
mkdir -p "$tmp/bin" "$tmp/proj" "$tmp/proj2"
cp "$tg" "$tmp/bin/toolgate"
(cd "$tmp/proj2" && "$tmp/bin/toolgate" install claude >/dev/null 2>&1)
grep -q "$tmp/bin/toolgate hook --client claude" "$tmp/proj2/.claude/settings.json" && ok \
  || bad "install without the shim: $(cat "$tmp/proj2/.claude/settings.json")"
cp "$shim" "$tmp/bin/toolgate-hook"
(cd "$tmp/proj" && "$tmp/bin/toolgate" install claude >/dev/null 2>&1)
grep -q "\"$tmp/bin/toolgate-hook --client claude" "$tmp/proj/.claude/settings.json" && ok \
  || bad "install with the shim: $(cat "$tmp/proj/.claude/settings.json")"
(cd "$tmp/proj" && "$tmp/bin/toolgate" uninstall claude >/dev/null 2>&1)
grep -q "toolgate-hook" "$tmp/proj/.claude/settings.json" 2>/dev/null && bad "uninstall leaves the shim's entry" || ok
# The installed pair: the shim finds toolgate beside it without TOOLGATE_BIN.
out=$(env -u TOOLGATE_BIN "$tmp/bin/toolgate-hook" --agent claude-dev --socket "$tmp/none.sock" < "$fx/claude/pre_bash_deny.json" 2>/dev/null)
printf '%s' "$out" | grep -q '"permissionDecision":"deny"' && printf '%s' "$out" | grep -q 'id_rsa' && ok \
  || bad "installed shim falls back to the toolgate beside it: $out"

echo "hook_fast: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
