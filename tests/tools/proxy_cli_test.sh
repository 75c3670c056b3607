#!/usr/bin/env bash
# `toolgate proxy` end to end on loopback: a real upstream HTTP server, a
# client going through the proxy by plain HTTP and by CONNECT, refusals, a
# SIGTERM stop, and the decision log verified with its signing key.
# Usage: proxy_cli_test.sh TOOLGATE SOURCE_ROOT
set -u
tg=$1
tmp=$(mktemp -d)
upstream_pid=""
proxy_pid=""
cleanup() {
  [ -n "$proxy_pid" ] && kill "$proxy_pid" 2>/dev/null
  [ -n "$upstream_pid" ] && kill "$upstream_pid" 2>/dev/null
  wait 2>/dev/null
  rm -rf "$tmp"
}
trap cleanup EXIT
pass=0
fail=0
expect_exit() {  # NAME EXPECTED ACTUAL
  if [ "$2" -eq "$3" ]; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $1: exit $3, expected $2"; fi
}
expect_match() {  # NAME REGEX TEXT
  if printf '%s' "$3" | grep -Eq -- "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $1: no match for /$2/ in:"; printf '%s\n' "$3" | head -20; fi
}
wait_for_line() {  # FILE REGEX: at most 30 s (a loaded CI machine starts processes slowly)
  for _ in $(seq 1 300); do
    grep -Eq -- "$2" "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# --- an upstream server on loopback ------------------------------------------
python3 - "$tmp/upstream.port" 2> "$tmp/upstream.err" <<'PY' &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hello from upstream path=%s host=%s proxyauth=%s\n" % (
            self.path, self.headers.get("Host"), self.headers.get("Proxy-Authorization"))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
open(sys.argv[1] + ".tmp", "w").write(str(s.server_address[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
s.timeout = 0.5
import time
end = time.time() + 120  # bounded: the test never runs this long
while time.time() < end:
    s.handle_request()
PY
upstream_pid=$!
for _ in $(seq 1 300); do [ -s "$tmp/upstream.port" ] && break; sleep 0.1; done
uport=$(cat "$tmp/upstream.port")
expect_match "upstream listening" '^[0-9]+$' "$uport"
[ -n "$uport" ] || { echo "upstream server's stderr:"; cat "$tmp/upstream.err"; }

cat > "$tmp/policy.json" <<EOF
{"toolgate_policy": 1,
 "agents": {"builder": {"profile": "build"}},
 "profiles": {"build": {"network": {"allow": ["127.0.0.1:$uport", "api.example.com"],
                                    "deny": ["evil.example.com"]}}}}
EOF

# --- usage and refusals to start ---------------------------------------------
"$tg" proxy --policy "$tmp/policy.json" --listen 127.0.0.1:0 > /dev/null 2>&1
expect_exit "--agent is required" 64 $?
"$tg" proxy --policy "$tmp/policy.json" --agent builder > /dev/null 2>&1
expect_exit "somewhere to listen is required" 64 $?
"$tg" proxy --policy "$tmp/policy.json" --agent stranger --listen 127.0.0.1:0 > /dev/null 2>&1
expect_exit "an agent without a profile" 78 $?
out=$("$tg" proxy --policy "$tmp/policy.json" --agent builder --listen 0.0.0.0:0 2>&1)
expect_exit "only loopback TCP" 1 $?
expect_match "says why" 'loopback' "$out"

# --- run it ------------------------------------------------------------------
mkdir -p "$tmp/logs" "$tmp/keys"
"$tg" log keygen --out "$tmp/keys/audit" > /dev/null
"$tg" proxy --policy "$tmp/policy.json" --agent builder --session s-42 --listen 127.0.0.1:0 \
  --unix "$tmp/egress.sock" --log "$tmp/logs" --log-key "$tmp/keys/audit.key" > "$tmp/proxy.out" 2> "$tmp/proxy.err" &
proxy_pid=$!
wait_for_line "$tmp/proxy.out" '^agent builder profile build$'
expect_exit "proxy started" 0 $?
pport=$(sed -n 's/^listening tcp 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$tmp/proxy.out")
expect_match "tcp address printed" '^[0-9]+$' "$pport"
expect_match "unix socket is 0600" '^600$' "$(stat -c %a "$tmp/egress.sock")"

out=$(python3 - "$pport" "$uport" "$tmp/egress.sock" <<'PY'
import socket, sys, urllib.request
pport, uport, sock = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]

def raw(request, family=socket.AF_INET, address=("127.0.0.1", pport)):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(5)
    s.connect(address)
    s.sendall(request)
    data = b""
    while True:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            break
        if not chunk:
            break
        data += chunk
    s.close()
    return data.decode("latin-1")

# Plain HTTP the way a client configured with http_proxy sends it.
opener = urllib.request.build_opener(urllib.request.ProxyHandler({"http": "http://127.0.0.1:%d" % pport}))
print("GET:", opener.open("http://127.0.0.1:%d/via-proxy" % uport, timeout=5).read().decode().strip())
# CONNECT, then HTTP inside the tunnel, over TCP and over the Unix socket.
tunnel = "CONNECT 127.0.0.1:%d HTTP/1.1\r\n\r\nGET /in-tunnel HTTP/1.0\r\nHost: x\r\n\r\n" % uport
print("CONNECT:", raw(tunnel.encode()).replace("\r\n", " | "))
print("UNIX:", raw(tunnel.encode(), socket.AF_UNIX, sock).replace("\r\n", " | "))
# Refusals.
print("METADATA:", raw(b"CONNECT 169.254.169.254:80 HTTP/1.1\r\n\r\n").splitlines()[0])
print("DENIED:", raw(b"CONNECT evil.example.com:443 HTTP/1.1\r\n\r\n").splitlines()[0])
print("UNGRANTED:", raw(b"GET http://127.0.0.1:1/ HTTP/1.1\r\n\r\n").splitlines()[0])
print("USERINFO:", raw(b"CONNECT api.example.com@127.0.0.1:%d HTTP/1.1\r\n\r\n" % uport).splitlines()[0])
print("OVERSIZED:", raw(b"CONNECT 127.0.0.1:1 HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n").splitlines()[0])
PY
)
expect_match "plain GET forwarded in origin form" "^GET: hello from upstream path=/via-proxy host=127.0.0.1:$uport proxyauth=None" "$out"
expect_match "CONNECT tunnel" '^CONNECT: HTTP/1.1 200 Connection established \|  \| HTTP/1.0 200 OK .*path=/in-tunnel' "$out"
expect_match "CONNECT over the Unix socket" '^UNIX: HTTP/1.1 200 Connection established .*path=/in-tunnel' "$out"
expect_match "metadata refused" '^METADATA: HTTP/1.1 403 Forbidden' "$out"
expect_match "deny grant refused" '^DENIED: HTTP/1.1 403 Forbidden' "$out"
expect_match "ungranted port refused" '^UNGRANTED: HTTP/1.1 403 Forbidden' "$out"
expect_match "userinfo trick refused" '^USERINFO: HTTP/1.1 400 Bad Request' "$out"
expect_match "oversized head refused" '^OVERSIZED: HTTP/1.1 431 ' "$out"

# --- SIGTERM stops it cleanly ----------------------------------------------------
kill -TERM "$proxy_pid"
wait "$proxy_pid"
expect_exit "SIGTERM exits 0" 0 $?
proxy_pid=""
[ -e "$tmp/egress.sock" ]; expect_exit "socket removed on stop" 1 $?

# --- the decision log ------------------------------------------------------------
log=$(cat "$tmp/logs/egress.jsonl")
expect_match "allow recorded" '"tool_name":"egress".*"verdict":"allow"' "$log"
expect_match "metadata refusal recorded" '169\.254\.169\.254.*"verdict":"deny"' "$log"
expect_match "session recorded" '"session_id":"s-42"' "$log"
out=$("$tg" log verify --key "$tmp/keys/audit.pub" "$tmp/logs"); code=$?
expect_exit "log verify" 0 $code
expect_match "verify counts 8 decisions" '\(8 decisions' "$out"

out=$("$tg" log query --tool egress --verdict deny "$tmp/logs"); code=$?
expect_exit "log query egress denies" 0 $code
expect_match "query names the metadata refusal" '169\.254\.169\.254' "$out"

# --- replay judges connection records as the proxy would -------------------------
"$tg" replay --policy "$tmp/policy.json" "$tmp/logs" > "$tmp/replay.out" 2>&1
expect_exit "replay under the same policy changes nothing" 0 $?
sed "s/127.0.0.1:$uport/127.0.0.1:1/" "$tmp/policy.json" > "$tmp/stricter.json"
out=$("$tg" replay --policy "$tmp/stricter.json" "$tmp/logs" 2>&1); code=$?
expect_exit "replay under a stricter policy" 1 $code
expect_match "the three allowed connections would be refused" 'allow -> deny: 3 call' "$out"

echo "proxy_cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
