#!/usr/bin/env bash
# The sandbox escape suite: each attack runs inside `toolgate run` and must
# be contained. Every attack runs in both tiers, as root and (when the suite
# runs as root) as an unprivileged user (uid 65534), so both launch paths are
# covered. Every run is bounded by the profile's timeout and an outer timeout.
# Usage: escape_test.sh TOOLGATE SOURCE_ROOT
set -u
SELF=$(realpath "$0")
if [ "${1:-}" = --run-one ]; then  # --run-one TIER USER PROFILE CMD...: one run (under unshare, see proxy_attack)
  shift
  tier=$1 user=$2 profile=$3
  shift 3
  pre=()
  [ "$user" = nobody ] && pre=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  exec timeout 60 "${pre[@]}" "$TG_ONE" run --policy "$POLICY_ONE" --profile "$profile" --tier "$tier" \
    --timeout 20 --cwd "$WS_ONE" -- "$@" 2>&1
fi
TG=$(realpath "$1")
SRC=$(realpath "$2")
POLICY=$SRC/tests/sandbox/policy.json
export TG_ONE=$TG POLICY_ONE=$POLICY
pass=0
fail=0
skipped=0

WORK=$(mktemp -d /tmp/tg-escape.XXXXXX)
chmod 755 "$WORK"
WS=$WORK/ws      # granted: the run's cwd
OUT=$WORK/out    # not granted
mkdir -p "$WS/secret" "$OUT" "$WS/m"
export WS_ONE=$WS
printf '127.0.0.1 localhost\n127.0.0.1 rebind.test\n169.254.169.254 meta.test\n' >"$WORK/hosts"
echo topsecret >"$OUT/secret"
echo denied-key >"$WS/secret/key"
chmod -R a+rwX "$WS"
chmod 755 "$OUT"
chmod 644 "$OUT/secret"
helpers=()
cleanup() {
  for p in "${helpers[@]}"; do kill "$p" 2>/dev/null; done
  rm -rf "$WORK"
}
trap cleanup EXIT

cc -O1 -o "$WS/attack" "$SRC/tests/sandbox/attack.c" || { echo "FAIL: cannot build attack.c"; exit 1; }
cp /usr/bin/id "$WS/id-suid" && chmod 4755 "$WS/id-suid"
PY=/usr/bin/python3
command -v "$PY" >/dev/null || PY=$(command -v python3)

# Host services the sandbox must not reach: a TCP and a UDP listener on
# loopback and an abstract Unix socket; each writes a marker when contacted.
TCP_PORT=$((20000 + RANDOM % 20000))
UDP_PORT=$((TCP_PORT + 1))
ABSTRACT=toolgate-escape-$$
"$PY" - "$TCP_PORT" "$UDP_PORT" "$ABSTRACT" "$WORK" <<'PYEOF' &
import socket, sys, threading, time, os
tcp, udp, name, work = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
def mark(what):
    open(os.path.join(work, "contacted-" + what), "w").write("x")
def serve(sock, what, stream):
    sock.settimeout(1.0)
    end = time.time() + 600
    while time.time() < end:
        try:
            if stream:
                c, _ = sock.accept(); mark(what); c.close()
            else:
                sock.recvfrom(10); mark(what)
        except OSError:
            pass
t = socket.socket(); t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); t.bind(("127.0.0.1", tcp)); t.listen(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", udp))
a = socket.socket(socket.AF_UNIX); a.bind("\0" + name); a.listen(8)
p = socket.socket(socket.AF_UNIX); p.bind(os.path.join(work, "out", "service.sock")); p.listen(8)
os.chmod(os.path.join(work, "out", "service.sock"), 0o777)
for s, w, st in ((t, "tcp", True), (u, "udp", False), (a, "abstract", True), (p, "unixpath", True)):
    threading.Thread(target=serve, args=(s, w, st), daemon=True).start()
open(os.path.join(work, "listening"), "w").write("x")
time.sleep(600)
PYEOF
helpers+=($!)
for _ in $(seq 1 300); do [ -e "$WORK/listening" ] && break; sleep 0.05; done
sleep 300 &   # a process outside the sandbox, for signal attacks
VICTIM=$!
helpers+=($VICTIM)
TESTPID=$$
cd "$OUT"     # the launcher's cwd is outside the grant: /proc/<pid>/cwd attacks aim at it

# run TIER USER TIMEOUT PROFILE -- CMD...: prints output, returns toolgate's exit code
run() {
  local tier=$1 user=$2 timeout=$3 profile=$4
  shift 5
  local pre=()
  [ "$user" = nobody ] && pre=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  SECRET_TOKEN=hunter2 timeout 60 "${pre[@]}" "$TG" run --policy "$POLICY" --profile "$profile" --tier "$tier" \
    --timeout "$timeout" --cwd "$WS" -- "$@" 2>&1
}

# A request through the sandbox's egress proxy (HTTP_PROXY/HTTPS_PROXY, set by
# toolgate run) must be refused with 403. With HOSTS_OVERRIDE set, the launcher
# (and so the proxy, which resolves names) runs in a private mount namespace
# whose /etc/hosts is that file.
proxy_attack() {  # NAME URL
  local name=$1 url=$2 out pre=()
  local script="import sys, urllib.request, urllib.error
try:
    urllib.request.urlopen(sys.argv[1], timeout=5)
    print('LEAK: answered')
except urllib.error.HTTPError as e:
    print('CONTAINED' if e.code == 403 else 'LEAK: HTTP %d' % e.code)
except Exception as e:
    print('CONTAINED' if '403' in str(e) else 'LEAK: %s' % e)"
  if [ -n "${HOSTS_OVERRIDE:-}" ]; then
    out=$(unshare -m /bin/bash -c 'mount --bind "$0" /etc/hosts && exec "$@"' "$HOSTS_OVERRIDE" \
      "$SELF" --run-one "$TIER" "$USER_" box-proxy "$PY" -c "$script" "$url")
  else
    out=$(run "$TIER" "$USER_" 20 box-proxy -- "$PY" -c "$script" "$url")
  fi
  if grep -q LEAK <<<"$out" || ! grep -q CONTAINED <<<"$out"; then
    record FAIL "$name" "$(head -c 400 <<<"$out" | tr '\n' '|')"
  else
    record OK "$name"
  fi
}

record() {  # record OK|FAIL NAME DETAIL
  if [ "$1" = OK ]; then
    pass=$((pass + 1))
  else
    fail=$((fail + 1))
    echo "FAIL [$CTX] $2: $3"
  fi
}

# attack NAME SCRIPT: SCRIPT runs under bash -c inside the sandbox and must
# print CONTAINED; LEAK, ESCAPE or the secret's text anywhere is a failure.
attack() {
  local name=$1 script=$2 out rc
  out=$(run "$TIER" "$USER_" 20 box -- /bin/bash -c "$script")
  rc=$?
  if grep -q -e LEAK -e ESCAPE -e topsecret -e denied-key -e hunter2 <<<"$out" || ! grep -q CONTAINED <<<"$out"; then
    record FAIL "$name" "rc=$rc output: $(head -c 400 <<<"$out" | tr '\n' '|')"
  else
    record OK "$name"
  fi
}

A=$WS/attack
suite() {
  # --- the walls work as granted (controls: without them a broken sandbox would "contain" everything)
  out=$(run "$TIER" "$USER_" 20 box -- /bin/bash -c 'echo inside > ok.txt && cat ok.txt')
  [ "$out" = inside ] && [ -s "$WS/ok.txt" ] && record OK "control: write inside the grant" ||
    record FAIL "control: write inside the grant" "$out"
  rm -f "$WS/ok.txt"

  # --- file system
  attack "read outside by path" "cat $OUT/secret 2>/dev/null && echo LEAK || echo CONTAINED"
  attack "write outside by path" "echo x > $OUT/new 2>/dev/null; [ -e $OUT/new ] && echo LEAK || echo CONTAINED"
  [ -e "$OUT/new" ] && record FAIL "write outside by path (host view)" "$OUT/new exists" && rm -f "$OUT/new"
  attack "read outside through .." "cat ../out/secret 2>/dev/null && echo LEAK || echo CONTAINED"
  attack "read outside through a symlink" "ln -sf $OUT/secret link 2>/dev/null; cat link 2>/dev/null && echo LEAK || echo CONTAINED; rm -f link"
  attack "read outside through a hard link" "ln $OUT/secret hl 2>/dev/null; cat hl 2>/dev/null && echo LEAK || echo CONTAINED; rm -f hl"
  attack "read through /proc/self/root" "cat /proc/self/root$OUT/secret 2>/dev/null && echo LEAK || echo CONTAINED"
  attack "read through the launcher's /proc/<pid>/cwd" "cat /proc/\$PPID/cwd/secret /proc/$TESTPID/cwd/secret 2>/dev/null && echo LEAK || echo CONTAINED"
  attack "bind mount /proc/self/root" "$A bind-proc-root m && echo CONTAINED"
  attack "write to a read-only grant (/etc)" "echo x > /etc/toolgate-escape 2>/dev/null && echo LEAK || echo CONTAINED"
  attack "replace a program in a read-only grant" "cp /bin/true /usr/bin/toolgate-escape 2>/dev/null && echo LEAK || echo CONTAINED"
  # --- other processes
  attack "read the launcher's environment" "cat /proc/\$PPID/environ /proc/$TESTPID/environ 2>/dev/null | tr '\\0' '\\n' | grep -q SECRET_TOKEN && echo LEAK || echo CONTAINED"
  attack "scrubbed environment" "env | grep -q SECRET_TOKEN && echo LEAK || echo CONTAINED"
  attack "read the launcher's memory" "dd if=/proc/$TESTPID/mem bs=1 count=1 2>/dev/null | wc -c | grep -qx 1 && echo LEAK || echo CONTAINED"
  attack "process_vm_readv of the parent" "$A vm-read $TESTPID && echo CONTAINED"
  attack "ptrace the launcher" "$A ptrace $TESTPID && $A ptrace \$PPID && echo CONTAINED"
  attack "ptrace its own child" "$A ptrace-child && echo CONTAINED"
  attack "signal a process outside" "$A kill $VICTIM && echo CONTAINED"
  kill -0 "$VICTIM" 2>/dev/null && record OK "victim outside still alive" || record FAIL "victim outside still alive" "killed"
  # --- kernel attack surface
  attack "mount" "$A mount m && echo CONTAINED"
  attack "pivot_root" "$A pivot-root . && echo CONTAINED"
  attack "chroot" "$A chroot . && echo CONTAINED"
  attack "unshare a user namespace" "$A unshare-user && $A unshare-mount && echo CONTAINED"
  attack "unshare -U (util-linux)" "unshare -U true 2>/dev/null && echo LEAK || echo CONTAINED"
  attack "clone a user namespace" "$A clone-user && echo CONTAINED"
  attack "clone3 (flags unfilterable)" "$A clone3 && echo CONTAINED"
  attack "setns into the host" "$A setns && echo CONTAINED"
  attack "keyctl/add_key" "$A keyctl && echo CONTAINED"
  attack "bpf" "$A bpf && echo CONTAINED"
  attack "userfaultfd" "$A userfaultfd && echo CONTAINED"
  attack "io_uring" "$A io_uring && echo CONTAINED"
  attack "perf_event_open" "$A perf && echo CONTAINED"
  attack "open_by_handle_at" "$A open-by-handle && echo CONTAINED"
  attack "TIOCSTI terminal injection" "$A tiocsti && echo CONTAINED"
  attack "TIOCLINUX" "$A tioclinux && echo CONTAINED"
  if [ "$USER_" = nobody ]; then
    attack "setuid binary" "[ \$(./id-suid -u) = 65534 ] && echo CONTAINED || echo LEAK"
  else
    attack "setuid binary gains nothing" "./id-suid -u >/dev/null && grep -q '^CapEff:.0000000000000000' /proc/self/status 2>/dev/null; echo CONTAINED"
  fi
  # --- network
  attack "raw socket" "$A raw && echo CONTAINED"
  attack "packet socket" "$A packet && echo CONTAINED"
  attack "direct TCP connect to a host listener" "$A tcp $TCP_PORT && echo CONTAINED"
  attack "bash /dev/tcp to a host listener" "(echo x > /dev/tcp/127.0.0.1/$TCP_PORT) 2>/dev/null && echo LEAK || echo CONTAINED"
  # In the namespace tier a UDP send "succeeds" into the sandbox's own empty
  # loopback; containment is the host listener never hearing it.
  out=$(run "$TIER" "$USER_" 20 box -- "$A" udp "$UDP_PORT")
  sleep 0.3
  if ! grep -q -e contained -e ESCAPE <<<"$out"; then
    record FAIL "UDP to a host listener" "did not run: $out"
  elif [ -e "$WORK/contacted-udp" ]; then
    record FAIL "UDP to a host listener" "the host listener received it"
  else
    record OK "UDP to a host listener"
  fi
  attack "abstract Unix socket to a host service" "$A abstract $ABSTRACT && echo CONTAINED"
  attack "Unix socket of a host service by path" "$A unixpath $OUT/service.sock && echo CONTAINED"
  for what in tcp udp abstract unixpath; do
    if [ -e "$WORK/contacted-$what" ]; then
      record FAIL "host $what listener was contacted" "marker present"
      rm -f "$WORK/contacted-$what"
    fi
  done
  # --- resources
  local start end rc marker
  start=$SECONDS
  marker=tgbomb$RANDOM$RANDOM
  out=$(run "$TIER" "$USER_" 5 box -- /bin/bash -c ": $marker; echo bombing; f(){ f | f & }; f; sleep 30")
  end=$SECONDS
  sleep 0.2
  if ! grep -q bombing <<<"$out"; then
    record FAIL "fork bomb" "did not run: $out"
  elif pgrep -f "$marker" >/dev/null; then
    record FAIL "fork bomb" "processes survived"
    pgrep -f "$marker" | head -3
  elif ((end - start > 20)); then
    record FAIL "fork bomb" "took $((end - start)) s"
  else
    record OK "fork bomb"
  fi
  out=$(run "$TIER" "$USER_" 20 box -- "$PY" -c 'b = bytearray(1 << 30); print("LEAK")')
  grep -q MemoryError <<<"$out" && ! grep -q LEAK <<<"$out" && record OK "memory bomb" || record FAIL "memory bomb" "$out"
  out=$(run "$TIER" "$USER_" 20 box -- /bin/bash -c 'head -c 64M /dev/zero > big; stat -c %s big')
  size=$(stat -c %s "$WS/big" 2>/dev/null || echo 0)
  ((size > 0 && size <= 4 * 1024 * 1024)) && record OK "disk-filling write" || record FAIL "disk-filling write" "file is $size bytes"
  rm -f "$WS/big"
  start=$SECONDS
  run "$TIER" "$USER_" 20 box -- /bin/bash -c 'while :; do :; done' >/dev/null
  rc=$?
  end=$SECONDS
  # Ended by the CPU limit (SIGXCPU/SIGKILL), not by the 20 s wall-clock timeout (124):
  # the wall time it takes to burn the CPU budget grows with the machine's load.
  ((end - start >= 2)) && ((rc != 0 && rc != 124)) && record OK "CPU spin (rlimit)" || record FAIL "CPU spin (rlimit)" "rc=$rc after $((end - start)) s"
  start=$SECONDS
  run "$TIER" "$USER_" 2 box -- /bin/sleep 30 >/dev/null
  rc=$?
  end=$SECONDS
  ((rc == 124)) && ((end - start <= 8)) && record OK "wall-clock timeout" || record FAIL "wall-clock timeout" "rc=$rc after $((end - start)) s"
  # With the egress proxy (namespace tier: a bridge process inside) the wall clock holds too.
  start=$SECONDS
  run "$TIER" "$USER_" 2 box-proxy -- /bin/sleep 30 >/dev/null
  rc=$?
  end=$SECONDS
  ((rc == 124)) && ((end - start <= 8)) && record OK "wall-clock timeout with the proxy" ||
    record FAIL "wall-clock timeout with the proxy" "rc=$rc after $((end - start)) s"
  marker=987.$RANDOM
  out=$(run "$TIER" "$USER_" 2 box -- /bin/bash -c "setsid /bin/sleep $marker & echo started; sleep 30")
  sleep 0.2
  ! grep -q started <<<"$out" || pgrep -f "sleep $marker" >/dev/null && record FAIL "escape the timeout with setsid" "survived" || record OK "escape the timeout with setsid"
  marker=988.$RANDOM
  out=$(run "$TIER" "$USER_" 2 box -- /bin/bash -c "( (/bin/sleep $marker &) & ); echo started; sleep 30")
  sleep 0.2
  ! grep -q started <<<"$out" || pgrep -f "sleep $marker" >/dev/null && record FAIL "escape the timeout with a double fork" "survived" ||
    record OK "escape the timeout with a double fork"
  marker=989.$RANDOM
  out=$(run "$TIER" "$USER_" 20 box -- /bin/bash -c "( (setsid /bin/sleep $marker &) & ); echo started")
  sleep 0.2
  ! grep -q started <<<"$out" || pgrep -f "sleep $marker" >/dev/null && record FAIL "outlive the command in the background" "survived" ||
    record OK "outlive the command in the background"
  # --- credentials
  out=$(TG_TEST_TOKEN=s3cr3t-value run "$TIER" "$USER_" 20 box-cred -- /bin/bash -c 'echo "token=$API_TOKEN"')
  [ "$out" = "token=s3cr3t-value" ] && record OK "credential granted to its profile" || record FAIL "credential granted to its profile" "$out"
  out=$(TG_TEST_TOKEN=s3cr3t-value run "$TIER" "$USER_" 20 box -- /bin/bash -c 'echo "token=${API_TOKEN:-none} $(env | grep -c s3cr3t)"')
  [ "$out" = "token=none 0" ] && record OK "credential withheld from other profiles" || record FAIL "credential withheld from other profiles" "$out"
  out=$(TG_TEST_TOKEN=s3cr3t-value timeout 60 "$TG" run --policy "$POLICY" --profile box-cred --tier "$TIER" --verbose --cwd "$WS" -- /bin/true 2>&1)
  grep -q s3cr3t <<<"$out" && record FAIL "credential never logged" "$out" || record OK "credential never logged"
  out=$(run "$TIER" "$USER_" 20 box-cred -- /bin/true)
  rc=$?
  ((rc == 71)) && grep -q "credential API_TOKEN" <<<"$out" && record OK "missing credential refuses to run" ||
    record FAIL "missing credential refuses to run" "rc=$rc $out"
  # --- network through the egress proxy (the only way out of a proxy profile)
  out=$(run "$TIER" "$USER_" 20 box-proxy -- /bin/bash -c "$A tcp $TCP_PORT && echo CONTAINED")
  grep -q CONTAINED <<<"$out" && record OK "direct connect with network proxy" || record FAIL "direct connect with network proxy" "$out"
  proxy_attack "plain HTTP through the proxy to a non-granted host" "http://127.0.0.1:$TCP_PORT/"
  proxy_attack "CONNECT through the proxy to a non-granted host" "https://127.0.0.1:$TCP_PORT/"
  proxy_attack "the proxy refuses the metadata address" "http://169.254.169.254/latest/meta-data/"
  proxy_attack "the proxy refuses a hex-encoded loopback address" "http://0x7f.1:$TCP_PORT/"
  # DNS rebinding: names the policy grants resolve (through /etc/hosts in a
  # mount namespace of this test's own) to loopback and to the metadata
  # address; a name grant never unlocks such an address.
  if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null; then
    HOSTS_OVERRIDE=$WORK/hosts proxy_attack "DNS rebinding: a granted name resolving to 127.0.0.1" "http://rebind.test:$TCP_PORT/"
    HOSTS_OVERRIDE=$WORK/hosts proxy_attack "DNS rebinding: a granted name resolving to 169.254.169.254" "http://meta.test/"
  else
    echo "SKIP [$CTX] DNS rebinding: needs root to override /etc/hosts in a mount namespace"
    skipped=$((skipped + 2))
  fi
  [ -e "$WORK/contacted-tcp" ] && record FAIL "no host service was reached through the proxy" "$WORK/contacted-tcp exists" ||
    record OK "no host service was reached through the proxy"
}

# Tiers this host cannot give are skipped loudly (exit 77 = skipped when none works).
doctor=$("$TG" doctor --json)
tiers=()
grep -q '"process":true' <<<"$doctor" && tiers+=(process) || echo "SKIP process tier: $doctor"
grep -q '"namespace":true' <<<"$doctor" && tiers+=(namespace) || echo "SKIP namespace tier: $doctor"
((${#tiers[@]})) || exit 77
users=(root)
# As root, also as uid 65534 when that user may make user namespaces (or only the process tier runs).
[ "$(id -u)" -eq 0 ] && users=(root nobody) || users=(self)
if [ "$(id -u)" -eq 0 ] && grep -q '"unprivileged_user_namespaces":false' <<<"$doctor" && [ "${tiers[*]}" != process ]; then
  echo "SKIP runs as uid 65534 in the namespace tier: unprivileged user namespaces are not available"
fi
no_unpriv_ns() {
  [ "$USER_" = nobody ] && grep -q '"unprivileged_user_namespaces":false' <<<"$doctor"
}
for TIER in "${tiers[@]}"; do
  for USER_ in "${users[@]}"; do
    [ "$TIER" = namespace ] && no_unpriv_ns && continue
    CTX="$TIER/$USER_"
    suite
  done
done

# The namespace tier also masks deny scopes inside granted directories
# (Landlock cannot; the process tier relies on the grant checks for those).
for USER_ in "${users[@]}"; do
  grep -q '"namespace":true' <<<"$doctor" || break
  no_unpriv_ns && continue
  TIER=namespace CTX="namespace/$USER_"
  attack "deny scope inside a granted directory is masked" "cat secret/key 2>/dev/null && echo LEAK || echo CONTAINED"
  attack "a host file outside every grant does not exist" "[ -e $OUT ] && echo LEAK || echo CONTAINED"
  attack "/proc shows only the sandbox's processes" "[ -e /proc/$VICTIM ] && echo LEAK || echo CONTAINED"
done

# A tier the policy requires but the host cannot give is refused, never downgraded.
out=$("$TG" run --policy "$POLICY" --profile box-ns --tier process --cwd "$WS" -- /bin/true 2>&1)
rc=$?
CTX=cli
((rc == 71)) && grep -q "would weaken" <<<"$out" && record OK "no downgrade below the policy's tier" || record FAIL "no downgrade" "rc=$rc $out"

# Where the kernel refuses user namespaces (here: inside a process-tier
# sandbox, whose seccomp filter refuses them), `auto` runs the process tier
# and a required namespace tier is refused (71); nothing runs unsandboxed.
TG_DIR=$(dirname "$TG")
cat > "$WORK/nest.json" <<NEST
{"toolgate_policy": 1, "settings": {"home": "/nonexistent-home"},
 "profiles": {
  "outer": {"default": "deny", "tools": {"allow": ["Bash"]},
            "fs": {"read": ["/usr/**", "/etc/**", "$SRC/**", "$TG_DIR/**", "$WORK/**", "/dev/null"], "write": ["\${cwd}/**"]},
            "sandbox": {"tier": "process", "network": "none", "timeout_s": 20, "env": ["PATH"],
                        "limits": {"cpu_s": 10, "memory_mb": 2048, "processes": 64, "file_size_mb": 4, "open_files": 256}}},
  "inner-auto": {"extends": "outer", "sandbox": {"tier": "auto"}},
  "inner-ns": {"extends": "outer", "sandbox": {"tier": "namespace"}}}}
NEST
if grep -qa __asan_init "$TG"; then
  # AddressSanitizer reserves terabytes of address space: an instrumented
  # toolgate cannot start under the outer sandbox's RLIMIT_AS.
  echo "SKIP [cli] toolgate inside a sandbox: this build is AddressSanitizer-instrumented"
  skipped=$((skipped + 2))
elif grep -q '"process":true' <<<"$doctor"; then
  out=$("$TG" run --policy "$WORK/nest.json" --profile outer --tier process --cwd "$WS" -- \
    "$TG" run --policy "$WORK/nest.json" --profile inner-auto --cwd "$WS" -- /bin/sh -c 'echo "tier=$TOOLGATE_SANDBOX"' 2>&1)
  rc=$?
  ((rc == 0)) && grep -q "tier=process" <<<"$out" && record OK "auto without user namespaces runs the process tier" ||
    record FAIL "auto without user namespaces runs the process tier" "rc=$rc $out"
  out=$("$TG" run --policy "$WORK/nest.json" --profile outer --tier process --cwd "$WS" -- \
    "$TG" run --policy "$WORK/nest.json" --profile inner-ns --cwd "$WS" -- /bin/sh -c 'echo RAN' 2>&1)
  rc=$?
  ((rc == 71)) && ! grep -q RAN <<<"$out" && grep -q "cannot make user namespaces" <<<"$out" &&
    record OK "a required namespace tier without user namespaces is refused" ||
    record FAIL "a required namespace tier without user namespaces is refused" "rc=$rc $out"
fi

echo "sandbox escape suite: $pass contained, $fail failed, $skipped skipped"
((fail == 0))
