# Shared by the shell tests that drive `toolgate serve` (serve, governance,
# state, learn, reload): a scratch directory removed on exit with any daemon
# still running, pass/fail counters, and a protocol client.
# Source it after `set -u`; set $sock before calling client.
tmp=$(mktemp -d)
daemon=""
cleanup() {
  if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then kill -KILL "$daemon"; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
expect_eq() {  # NAME EXPECTED ACTUAL
  if [ "$2" = "$3" ]; then ok; else bad "$1: got '$3', expected '$2'"; fi
}

# A tiny protocol client: sends each argument as one line on one connection,
# prints each reply line (reading until all replies arrived or 10 s passed).
cat > "$tmp/client.py" <<'PY'
import socket, sys
path, lines = sys.argv[1], sys.argv[2:]
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(path)
s.sendall("".join(l + "\n" for l in lines).encode())
buf = b""
while buf.count(b"\n") < len(lines):
    try:
        d = s.recv(1 << 16)
    except socket.timeout:
        break
    if not d:
        break
    buf += d
sys.stdout.write(buf.decode())
PY
client() { python3 "$tmp/client.py" "$sock" "$@"; }

# Waits up to 30 s for the daemon on $sock to answer a ping; on failure says
# so with its stderr ($tmp/serve.err) and returns 1.
wait_for_daemon() {
  for _ in $(seq 1 300); do
    if [ -S "$sock" ] && client '{"v":1,"id":0,"op":"ping"}' 2>/dev/null | grep -q '"pong":true'; then return 0; fi
    sleep 0.1
  done
  echo "the daemon did not start"; cat "$tmp/serve.err"; return 1
}
