# Shared helpers of the fault-injection tests (sourced, not run).
# Expects: tg (toolgate), root (source root); sets tmp, pass, fail.
# Every wait is bounded; every process a test starts is killed by the EXIT trap.
set -u
export TOOLGATE_BIN=$tg  # in the build tree the shim does not sit beside toolgate
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tg-faults.XXXXXX")
pass=0
fail=0
pids=()
cleanup_hooks=()
cleanup() {
  local p h
  for h in "${cleanup_hooks[@]+"${cleanup_hooks[@]}"}"; do eval "$h"; done
  for p in "${pids[@]+"${pids[@]}"}"; do
    kill -CONT "$p" 2>/dev/null
    kill -KILL "$p" 2>/dev/null
  done
  rm -rf "$tmp"
}
trap cleanup EXIT
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
expect_eq() {  # NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then ok "$1"; else bad "$1: got '$3', expected '$2'"; fi
}
expect_match() {  # NAME REGEX TEXT
  if printf '%s' "$3" | grep -Eq -- "$2"; then ok "$1"; else bad "$1: '$3' does not match /$2/"; fi
}
finish() {  # NAME
  echo "$1: $pass passed, $fail failed"
  [ "$fail" -eq 0 ]
}
now_ms() { date +%s%3N; }

# A protocol client: one connection, each argument one request line; prints
# each reply line (until all arrived, the connection closed, or 20 s passed).
cat > "$tmp/client.py" <<'PY'
import socket, sys
path, lines = sys.argv[1], sys.argv[2:]
s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(path)
s.sendall("".join(l + "\n" for l in lines).encode())
buf = b""
while buf.count(b"\n") < len(lines):
    try:
        d = s.recv(1 << 16)
    except (socket.timeout, ConnectionResetError):
        break
    if not d:
        break
    buf += d
sys.stdout.write(buf.decode())
PY
client() {  # SOCKET LINE...
  python3 "$tmp/client.py" "$@"
}
ping_digest() {  # SOCKET -> the active policy digest, or nothing
  client "$1" '{"v":1,"id":"p","op":"ping"}' 2>/dev/null |
    python3 -c 'import json,sys
try: print(json.load(sys.stdin)["policy_digest"])
except Exception: pass'
}

# start_daemon SOCKET ERRFILE ARGS... : starts `toolgate serve`, sets $daemon,
# waits (at most 20 s) until it answers a ping.
daemon=""
start_daemon() {
  local sock=$1 err=$2
  shift 2
  "$tg" serve --socket "$sock" "$@" 2>>"$err" &
  daemon=$!
  pids+=("$daemon")
  local _
  for _ in $(seq 1 200); do
    if [ -S "$sock" ] && [ -n "$(ping_digest "$sock")" ]; then return 0; fi
    if ! kill -0 "$daemon" 2>/dev/null; then break; fi
    sleep 0.1
  done
  echo "the daemon did not start:"; tail -5 "$err"
  return 1
}
stop_code=""
stop_daemon() {  # SIGTERM, wait (at most 20 s); sets stop_code
  kill -TERM "$daemon" 2>/dev/null
  local _
  for _ in $(seq 1 200); do kill -0 "$daemon" 2>/dev/null || break; sleep 0.1; done
  wait "$daemon"
  stop_code=$?
}

# wait_for_line FILE REGEX [SECONDS]: true once FILE has a line matching REGEX.
wait_for_line() {
  local i n=$((${3:-10} * 10))
  for i in $(seq 1 "$n"); do
    grep -Eq -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# A Claude Code PreToolUse input: claude_input TOOL INPUT_JSON [TOOL_USE_ID]
claude_input() {
  printf '{"hook_event_name":"PreToolUse","session_id":"faults","cwd":"/home/dev/project","tool_name":"%s","tool_input":%s,"tool_use_id":"%s"}' \
    "$1" "$2" "${3:-toolu_faults}"
}
# The decision of a Claude hook answer: allow | ask | deny | exit2 (a block on stderr)
hook_verdict() {  # STDOUT_TEXT EXIT_CODE
  if [ "$2" = 2 ]; then echo exit2; return; fi
  printf '%s' "$1" | python3 -c 'import json,sys
try: print(json.load(sys.stdin)["hookSpecificOutput"]["permissionDecision"])
except Exception: print("unparseable")'
}
hook_reason() {
  printf '%s' "$1" | python3 -c 'import json,sys
try: print(json.load(sys.stdin)["hookSpecificOutput"].get("permissionDecisionReason",""))
except Exception: print("")'
}
