#!/usr/bin/env bash
# End-to-end checks of `toolgate serve`: the protocol on a real socket, the same
# decisions as `toolgate check --json`, bad lines, concurrent clients, SIGHUP
# reloads, SIGTERM shutdown with a verifying log, socket permissions, peer uid.
# Usage: serve_test.sh TOOLGATE SOURCE_ROOT
set -u
tg=$1
root=$2
source "$(dirname "$0")/daemon_test_lib.sh"

cp "$root/rules/examples/default.json" "$tmp/policy.json"
sock="$tmp/run/toolgate.sock"


start_daemon() {  # extra args...
  "$tg" serve --policy "$tmp/policy.json" --socket "$sock" --log "$tmp/log" "$@" 2>>"$tmp/serve.err" &
  daemon=$!
  for _ in $(seq 1 300); do
    if [ -S "$sock" ] && client '{"v":1,"id":0,"op":"ping"}' 2>/dev/null | grep -q '"pong":true'; then return 0; fi
    sleep 0.1
  done
  bad "the daemon did not start"; cat "$tmp/serve.err"; return 1
}

start_daemon || exit 1

# ---- socket permissions ---------------------------------------------------
expect_eq "socket mode" 600 "$(stat -c %a "$sock")"
expect_eq "socket directory mode" 700 "$(stat -c %a "$tmp/run")"

# ---- a second daemon on the same socket is refused ----------------------------
"$tg" serve --socket "$sock" 2>"$tmp/second.err"; code=$?
expect_eq "second daemon exit code" 1 "$code"
if grep -q "another daemon" "$tmp/second.err"; then ok; else bad "second daemon: $(cat "$tmp/second.err")"; fi

# ---- the same decisions as toolgate check --json -------------------------------
cat > "$tmp/calls.jsonl" <<'JSONL'
{"agent_id":"claude-dev","tool_name":"Bash","cwd":"/home/dev/project","tool_input":{"command":"git status"}}
{"agent_id":"claude-dev","tool_name":"Bash","cwd":"/home/dev/project","tool_input":{"command":"cat ~/.ssh/id_rsa"}}
{"agent_id":"claude-dev","tool_name":"Bash","cwd":"/home/dev/project","tool_input":{"command":"git push origin main"}}
{"agent_id":"claude-dev","tool_name":"Bash","cwd":"/home/dev/project","tool_input":{"command":"ln -s ~/.ssh k; cat k/id_rsa"}}
{"agent_id":"claude-dev","tool_name":"WebFetch","tool_input":{"url":"https://evil.example/x"}}
{"agent_id":"nobody","tool_name":"Read","cwd":"/home/dev/project","tool_input":{"file_path":"README.md"}}
{"hook_event_name":"PreToolUse","session_id":"s","cwd":"/home/dev/project","tool_name":"Read","tool_input":{"file_path":"README.md"},"tool_use_id":"t1","agent_id":"claude-dev"}
{"tool_name":"Bash","tool_input":"not an object"}
{"no_tool_name":true}
JSONL
n=0
while IFS= read -r call; do
  n=$((n + 1))
  expected=$(printf '%s' "$call" | "$tg" check --policy "$tmp/policy.json" --json)
  reply=$(client "{\"v\":1,\"id\":$n,\"op\":\"decide\",\"call\":$call}")
  verdict=$(python3 - "$expected" "$reply" "$n" <<'PY'
import json, sys
want = json.loads(sys.argv[1]); reply = json.loads(sys.argv[2])
assert reply["v"] == 1 and reply["ok"] is True and reply["id"] == int(sys.argv[3]), reply
got = reply["decision"]
for d in (want, got):
    d.pop("latency_ns", None)
if got != want:
    print("MISMATCH", json.dumps(want, sort_keys=True), json.dumps(got, sort_keys=True))
else:
    print(got["verdict"], ",".join(r["grant"]["id"] if r["grant"] else r["subject"] for r in got["reasons"]))
PY
)
  case "$verdict" in
    MISMATCH*|"") bad "call $n differs from toolgate check: $verdict" ;;
    *) ok ;;
  esac
  echo "call $n: $verdict"
done < "$tmp/calls.jsonl"
decisions=$n

# ---- bad lines ------------------------------------------------------------------
out=$(client 'not json' '{"v":2,"id":"w","op":"ping"}' '{"id":"nov","op":"ping"}' '{"v":1,"id":5,"op":"fly"}' \
  '{"v":1,"id":6,"op":"decide"}' '[1,2]' '{"v":1,"id":7,"op":"ping"}')
codes=$(printf '%s\n' "$out" | python3 -c '
import json, sys
print(" ".join(str(j["id"]) + ":" + (j["error"]["code"] if not j["ok"] else "ok") for j in map(json.loads, sys.stdin)))')
expect_eq "bad lines get errors and the connection stays usable" \
  "None:malformed_json w:unsupported_version nov:unsupported_version 5:unknown_op 6:bad_request None:bad_request 7:ok" "$codes"

printf '{"v":1,"id":1,"op":"ping","pad":"\xff"}\n' > "$tmp/badutf8"
out=$(python3 - "$sock" "$tmp/badutf8" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
s.sendall(open(sys.argv[2], "rb").read())
print(s.recv(4096).decode())
PY
)
if printf '%s' "$out" | grep -q '"code":"invalid_utf8"'; then ok; else bad "invalid UTF-8: $out"; fi

# An oversized line: input_too_large, then the daemon closes the connection.
out=$(python3 - "$sock" <<'PY'
import socket, sys
s = socket.socket(socket.AF_UNIX); s.settimeout(10); s.connect(sys.argv[1])
try:
    s.sendall(b'{"v":1,"id":1,"op":"ping","pad":"' + b"x" * (2 << 20) + b'"}\n')
except (BrokenPipeError, ConnectionResetError):
    pass
buf = b""
while True:
    try:
        d = s.recv(65536)
    except socket.timeout:
        break
    except ConnectionResetError:  # closed with our unread bytes in its buffer
        d = b""
    if not d:
        print("CLOSED")
        break
    buf += d
print(buf.decode().strip())
PY
)
if printf '%s' "$out" | grep -q '"code":"input_too_large"' && printf '%s' "$out" | grep -q CLOSED; then ok; else
  bad "oversized line: $out"; fi

# ---- concurrent clients -----------------------------------------------------------
conc=$(python3 - "$sock" <<'PY'
import json, socket, sys, threading
path = sys.argv[1]
call = {"agent_id": "claude-dev", "tool_name": "Bash", "cwd": "/home/dev/project", "tool_input": {"command": "git status"}}
deny = {"agent_id": "claude-dev", "tool_name": "Bash", "cwd": "/home/dev/project", "tool_input": {"command": "cat /etc/shadow"}}
results = {}
def run(c):
    s = socket.socket(socket.AF_UNIX); s.settimeout(20); s.connect(path)
    reqs = [json.dumps({"v": 1, "id": c * 1000 + i, "op": "decide", "call": call if i % 3 else deny}) for i in range(100)]
    s.sendall(("\n".join(reqs) + "\n").encode())
    buf = b""
    while buf.count(b"\n") < 100:
        d = s.recv(1 << 16)
        if not d: break
        buf += d
    replies = [json.loads(l) for l in buf.decode().splitlines()]
    results[c] = all(r["id"] == c * 1000 + i and r["decision"]["verdict"] == ("allow" if i % 3 else "deny")
                     for i, r in enumerate(replies)) and len(replies) == 100
threads = [threading.Thread(target=run, args=(c,)) for c in range(8)]
for t in threads: t.start()
for t in threads: t.join(30)
print(sum(1 for v in results.values() if v))
PY
)
expect_eq "8 concurrent clients x 100 pipelined requests, all in order" 8 "$conc"
decisions=$((decisions + 800))

# ---- SIGHUP: a valid policy is taken, an invalid one is not ------------------------
digest() { client '{"v":1,"id":"d","op":"ping"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["policy_digest"])'; }
before=$(digest)
cp "$root/rules/examples/strict.json" "$tmp/policy.json"
kill -HUP "$daemon"
after=""
for _ in $(seq 1 50); do after=$(digest); [ "$after" != "$before" ] && break; sleep 0.1; done
expected_digest=$(printf '{"tool_name":"Read","tool_input":{"file_path":"/x"}}' | "$tg" check --policy "$tmp/policy.json" --json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["policy_digest"])')
expect_eq "SIGHUP loads the new policy" "$expected_digest" "$after"

echo '{"toolgate_policy": 1, "profiles": {"x": {"tools": {"allow": 5}}}}' > "$tmp/policy.json"
kill -HUP "$daemon"
for _ in $(seq 1 50); do grep -q "keeping the last good policy" "$tmp/serve.err" && break; sleep 0.1; done
if grep -q "keeping the last good policy" "$tmp/serve.err"; then ok; else bad "invalid reload not reported: $(tail -3 "$tmp/serve.err")"; fi
expect_eq "an invalid policy keeps the last good one" "$after" "$(digest)"
reply=$(client '{"v":1,"id":1,"op":"decide","call":{"agent_id":"claude-dev","tool_name":"Bash","tool_input":{"command":"ls"}}}')
if printf '%s' "$reply" | grep -q '"ok":true'; then ok; else bad "decisions after a failed reload: $reply"; fi
decisions=$((decisions + 1))

# ---- SIGTERM: clean exit, socket removed, log verifies with every decision ------------
kill -TERM "$daemon"
wait "$daemon"; code=$?
daemon=""
expect_eq "SIGTERM exit code" 0 "$code"
if [ -e "$sock" ]; then bad "the socket was not removed"; else ok; fi
out=$("$tg" log verify "$tmp/log"); code=$?
expect_eq "log verify after shutdown" 0 "$code"
echo "$out"
records=$(grep -c '"type":"decision"' "$tmp/log/decisions.jsonl")
expect_eq "every decision is in the log" "$decisions" "$records"
uids=$(python3 - "$tmp/log/decisions.jsonl" "$(id -u)" <<'PY'
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1]) if '"type":"decision"' in l]
print(all(r["agent"]["uid"] == int(sys.argv[2]) and r["agent"]["via"] == "unix-socket" and r["agent"]["pid"] > 0
          for r in recs))
PY
)
expect_eq "peer uid, pid and transport in every record" True "$uids"

# ---- a stale socket is replaced; a non-socket path is refused -----------------------
python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1])' "$sock"
cp "$root/rules/examples/default.json" "$tmp/policy.json"
start_daemon && ok
kill -TERM "$daemon"; wait "$daemon"; daemon=""
echo "keep" > "$tmp/plain"
"$tg" serve --socket "$tmp/plain" 2>"$tmp/plain.err"; code=$?
expect_eq "a non-socket path is refused" 1 "$code"
expect_eq "and left alone" keep "$(cat "$tmp/plain")"

# ---- group-restricted socket ------------------------------------------------------
grp=$(id -gn)
"$tg" serve --socket "$tmp/g/toolgate.sock" --group "$grp" 2>>"$tmp/serve.err" &
daemon=$!
# The socket is bound at 0600 and given its group and mode before listen():
# wait until it answers, not just until it exists.
sock="$tmp/g/toolgate.sock" wait_for_daemon
expect_eq "group socket mode" 660 "$(stat -c %a "$tmp/g/toolgate.sock")"
expect_eq "group socket group" "$grp" "$(stat -c %G "$tmp/g/toolgate.sock")"
kill -INT "$daemon"; wait "$daemon"; code=$?; daemon=""
expect_eq "SIGINT exit code" 0 "$code"

# ---- socket activation (systemd's protocol, through systemd-socket-activate) ----------
if command -v systemd-socket-activate >/dev/null 2>&1; then
  act="$tmp/act/toolgate.sock"
  mkdir -p "$tmp/act"
  systemd-socket-activate -l "$act" "$tg" serve --socket "$tmp/unused.sock" --log "$tmp/actlog" 2>>"$tmp/serve.err" &
  daemon=$!
  for _ in $(seq 1 300); do [ -S "$act" ] && break; sleep 0.1; done
  out=$(python3 "$tmp/client.py" "$act" '{"v":1,"id":1,"op":"ping"}' \
    '{"v":1,"id":2,"op":"decide","call":{"agent_id":"claude-dev","tool_name":"Bash","cwd":"/home/dev/project","tool_input":{"command":"git status"}}}')
  if printf '%s' "$out" | grep -q '"pong":true' && printf '%s' "$out" | grep -q '"verdict":"allow"'; then ok; else
    bad "socket activation: $out"; fi
  if [ -e "$tmp/unused.sock" ]; then bad "an activated daemon bound its own socket too"; else ok; fi
  kill -TERM "$daemon"; wait "$daemon"; code=$?; daemon=""
  expect_eq "activated daemon exit code" 0 "$code"
  if [ -S "$act" ]; then ok; else bad "the activated daemon removed the socket systemd owns"; fi
  "$tg" log verify "$tmp/actlog" >/dev/null; expect_eq "activated daemon's log verifies" 0 $?
else
  echo "skip: socket activation (no systemd-socket-activate)"
fi

echo "serve: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
