#!/usr/bin/env bash
# Hot reload under load: a client keeps judging calls on the daemon while the
# policy file (and a rule pack) is rewritten: a valid version, an invalid one,
# a truncated one, a deletion, a restore, a changed pack and a broken pack.
# Every reply must be a valid decision under a policy version that loaded;
# versions that do not load never take effect; the digests switch as written.
# Also: --no-watch (SIGHUP only), and how long a write takes to be in force.
# Usage: reload_test.sh TOOLGATE SOURCE_ROOT
set -u
tg=$1
root=$2
source "$(dirname "$0")/daemon_test_lib.sh"
loadpid=""
cleanup() {  # also the load client
  if [ -n "$loadpid" ] && kill -0 "$loadpid" 2>/dev/null; then kill -KILL "$loadpid"; fi
  if [ -n "$daemon" ] && kill -0 "$daemon" 2>/dev/null; then kill -KILL "$daemon"; fi
  rm -rf "$tmp"
}

# Policy versions: A is the default; B also allows the tool ReloadProbe for
# claude-dev; P is A plus the rule packs (copied, so a pack can be edited).
mkdir -p "$tmp/conf" "$tmp/rules/examples"
cp -r "$root/rules/"*/ "$tmp/rules/" 2>/dev/null
cp "$root/rules/examples/with-packs.json" "$tmp/rules/examples/with-packs.json"
cp "$root/rules/examples/default.json" "$tmp/A.json"
python3 - "$tmp/A.json" "$tmp/B.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["profiles"]["developer"]["tools"]["allow"].append("ReloadProbe")
json.dump(p, open(sys.argv[2], "w"), indent=1)
PY
policy="$tmp/conf/policy.json"
cp "$tmp/A.json" "$policy"
sock="$tmp/run/toolgate.sock"

digest_of() {  # FILE: the digest `check` reports for it
  printf '{"tool_name":"Read","tool_input":{"file_path":"/x"}}' | "$tg" check --policy "$1" --json 2>/dev/null |
    python3 -c 'import json,sys; print(json.load(sys.stdin)["policy_digest"])'
}
dA=$(digest_of "$tmp/A.json")
dB=$(digest_of "$tmp/B.json")
[ -n "$dA" ] && [ -n "$dB" ] && [ "$dA" != "$dB" ] && ok || bad "policy digests: '$dA' '$dB'"

cat > "$tmp/reload_client.py" <<'PY'
import json, socket, sys, time
# ping SOCKET: prints the active digest.
# load SOCKET STOPFILE OUT: judges calls on one connection until STOPFILE
# exists (at most 60 s or 200000 calls); writes a summary to OUT.
# wait SOCKET DIGEST LIMIT_S: polls until the digest is active; prints ms waited.
# swap SOCKET SRC DEST DIGEST: the same, timed from writing SRC over DEST.
def connect(path):
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(10)
    s.connect(path)
    return s, s.makefile("rb")
def ask(conn, req):
    s, f = conn
    s.sendall((json.dumps(req) + "\n").encode())
    line = f.readline()
    return json.loads(line)
mode, path = sys.argv[1], sys.argv[2]
if mode == "ping":
    print(ask(connect(path), {"v": 1, "id": 0, "op": "ping"})["policy_digest"])
elif mode in ("wait", "swap"):
    # swap SOCKET SRC DEST DIGEST: writes SRC over DEST (temporary + rename),
    # then times until the digest is active.
    if mode == "swap":
        src, dest, want, limit = sys.argv[3], sys.argv[4], sys.argv[5], 5.0
    else:
        want, limit = sys.argv[3], float(sys.argv[4])
    conn = connect(path)
    t0 = time.monotonic()
    if mode == "swap":
        import os, shutil
        shutil.copyfile(src, dest + ".new")
        os.rename(dest + ".new", dest)
    while time.monotonic() - t0 < limit:
        if ask(conn, {"v": 1, "id": 0, "op": "ping"})["policy_digest"] == want:
            print("%.1f" % ((time.monotonic() - t0) * 1000)); sys.exit(0)
        time.sleep(0.002)
    print("timeout"); sys.exit(1)
else:
    stop, out = sys.argv[3], sys.argv[4]
    import os
    conn = connect(path)
    calls = [
        {"agent_id": "claude-dev", "tool_name": "ReloadProbe", "tool_input": {}},
        {"agent_id": "claude-dev", "tool_name": "Bash", "cwd": "/home/dev/project", "tool_input": {"command": "git status"}},
        {"agent_id": "claude-dev", "tool_name": "Bash", "cwd": "/home/dev/project", "tool_input": {"command": "git push --force"}},
    ]
    n = bad = 0
    seen = []          # digests in the order they were first seen after a switch
    probe = {}         # digest -> set of verdicts for the probe call
    rtt = []
    t0 = time.monotonic()
    while not os.path.exists(stop) and time.monotonic() - t0 < 60 and n < 200000:
        c = calls[n % len(calls)]
        t = time.monotonic()
        r = ask(conn, {"v": 1, "id": n, "op": "decide", "call": c})
        rtt.append(time.monotonic() - t)
        n += 1
        d = r.get("decision") if r.get("ok") is True and r.get("id") == n - 1 else None
        if not d or d.get("verdict") not in ("allow", "ask", "deny") or not d.get("policy_digest"):
            bad += 1
            continue
        if not seen or seen[-1] != d["policy_digest"]:
            seen.append(d["policy_digest"])
        if c["tool_name"] == "ReloadProbe":
            probe.setdefault(d["policy_digest"], set()).add(d["verdict"])
    rtt.sort()
    json.dump({"calls": n, "bad": bad, "seen": seen, "probe": {k: sorted(v) for k, v in probe.items()},
               "rtt_ms": {"p50": rtt[len(rtt) // 2] * 1000, "p99": rtt[len(rtt) * 99 // 100] * 1000,
                          "max": rtt[-1] * 1000} if rtt else {}},
              open(out, "w"))
PY
ping() { python3 "$tmp/reload_client.py" ping "$sock"; }
wait_digest() { python3 "$tmp/reload_client.py" wait "$sock" "$1" "${2:-5}"; }

start_daemon() {  # extra args...
  "$tg" serve --policy "$policy" --socket "$sock" --log "$tmp/log" "$@" 2>>"$tmp/serve.err" &
  daemon=$!
  for _ in $(seq 1 300); do
    if [ -S "$sock" ] && [ -n "$(ping 2>/dev/null)" ]; then return 0; fi
    sleep 0.1
  done
  bad "the daemon did not start"; cat "$tmp/serve.err"; return 1
}
rejected() { grep -c "failed; keeping the last good policy" "$tmp/serve.err"; }
wait_rejected() {  # COUNT: waits (bounded) until that many rejections were logged
  for _ in $(seq 1 300); do [ "$(rejected)" -ge "$1" ] && return 0; sleep 0.05; done
  return 1
}

start_daemon || exit 1
grep -q "watching 1 file(s) of the policy" "$tmp/serve.err" && ok || bad "watching not announced: $(cat "$tmp/serve.err")"
expect_eq "starts with A" "$dA" "$(ping)"

# ---- the load: one client judging calls the whole time -------------------------
python3 "$tmp/reload_client.py" load "$sock" "$tmp/stop" "$tmp/load.json" &
loadpid=$!
sleep 0.3

# 1. a valid new version, written the way editors do (temporary + rename)
cp "$tmp/B.json" "$tmp/conf/.policy.json.swp" && mv "$tmp/conf/.policy.json.swp" "$policy"
wait_digest "$dB" >/dev/null && ok || bad "rename of B did not take effect"

# 2. invalid (a schema error): rejected, located, B stays
r0=$(rejected)
echo '{"toolgate_policy": 1, "profiles": {"x": {"tools": {"allow": 5}}}}' > "$policy"
wait_rejected $((r0 + 1)) && ok || bad "invalid policy: no rejection logged"
grep -q "policy.json:/profiles/x/tools/allow: error\[policy_schema\]" "$tmp/serve.err" && ok ||
  bad "invalid policy: no located diagnostic: $(grep reload "$tmp/serve.err" | tail -3)"
sleep 0.3
expect_eq "invalid keeps B" "$dB" "$(ping)"

# 3. truncated: half of A
r0=$(rejected)
head -c 3000 "$tmp/A.json" > "$policy"
wait_rejected $((r0 + 1)) && ok || bad "truncated policy: no rejection logged"
sleep 0.3
expect_eq "truncated keeps B" "$dB" "$(ping)"

# 4. deleted
r0=$(rejected)
rm -f "$policy"
wait_rejected $((r0 + 1)) && ok || bad "deleted policy: no rejection logged"
grep -q "cannot open policy file" "$tmp/serve.err" && ok || bad "deleted policy: reason not logged"
sleep 0.3
expect_eq "deleted keeps B" "$dB" "$(ping)"

# 5. restored: A comes back
cp "$tmp/A.json" "$policy"
wait_digest "$dA" >/dev/null && ok || bad "restoring A did not take effect"

# 6. B again, rewritten in place
cat "$tmp/B.json" > "$policy"
wait_digest "$dB" >/dev/null && ok || bad "in-place rewrite to B did not take effect"

# ---- rule packs: a pack file is watched too ------------------------------------
# The policy with packs lives beside its packs (its paths are relative to it).
cp "$tmp/rules/examples/with-packs.json" "$policy.tmp"
python3 - "$policy.tmp" "$tmp/rules" <<'PY'
import json, sys, os
p = json.load(open(sys.argv[1]))
for name, pack in p["rule_packs"].items():
    pack["path"] = os.path.join(sys.argv[2], "examples", pack["path"]) if not pack["path"].startswith("/") else pack["path"]
json.dump(p, open(sys.argv[1], "w"), indent=1)
PY
dP=$(digest_of "$policy.tmp")
mv "$policy.tmp" "$policy"
wait_digest "$dP" 10 >/dev/null && ok || bad "policy with packs did not take effect"
pack=$(ls "$tmp/rules/dev-guard/"*.lua | head -1)
cp "$pack" "$tmp/pack.orig"
printf '\n-- a comment changes the digest\n' >> "$pack"
dP2=$(digest_of "$policy")
[ "$dP2" != "$dP" ] && ok || bad "a pack change does not change the digest"
wait_digest "$dP2" 10 >/dev/null && ok || bad "a changed rule pack did not take effect"
r0=$(rejected)
printf '\nthis is not lua (\n' >> "$pack"
wait_rejected $((r0 + 1)) && ok || bad "a broken pack: no rejection logged"
grep -q "dev-guard.lua:[0-9]*: error\[policy_rule\]" "$tmp/serve.err" && ok ||
  bad "a broken pack: no located diagnostic: $(grep reload "$tmp/serve.err" | tail -2)"
expect_eq "a broken pack keeps the last good policy" "$dP2" "$(ping)"
cp "$tmp/pack.orig" "$pack"
wait_digest "$dP" 10 >/dev/null && ok || bad "a repaired pack did not take effect"

# back to B for the end of the load
cp "$tmp/B.json" "$policy"
wait_digest "$dB" >/dev/null && ok || bad "final B did not take effect"
sleep 0.2
touch "$tmp/stop"
wait "$loadpid"; loadpid=""

python3 - "$tmp/load.json" "$dA" "$dB" "$dP" "$dP2" <<'PY' > "$tmp/load.check"
import json, sys
r = json.load(open(sys.argv[1]))
valid = set(sys.argv[2:])
print("calls", r["calls"])
print("bad", r["bad"])
print("foreign", len([d for d in r["seen"] if d not in valid]))
print("switches", len(r["seen"]) - 1)
print("probeA", ",".join(r["probe"].get(sys.argv[2], [])))
print("probeB", ",".join(r["probe"].get(sys.argv[3], [])))
print("rtt", "p50 %.2f ms, p99 %.2f ms, max %.2f ms" % (r["rtt_ms"]["p50"], r["rtt_ms"]["p99"], r["rtt_ms"]["max"]))
PY
val() { awk -v k="$1" '$1 == k { print $2 }' "$tmp/load.check"; }
echo "under reloads: $(val calls) calls, round trip $(sed -n 's/^rtt //p' "$tmp/load.check")"
[ "$(val calls)" -ge 100 ] && ok || bad "the load made too few calls: $(cat "$tmp/load.check")"
expect_eq "every reply under load is a valid decision" 0 "$(val bad)"
expect_eq "no decision under a policy that did not load" 0 "$(val foreign)"
[ "$(val switches)" -ge 6 ] && ok || bad "digest switches seen by the client: $(cat "$tmp/load.check")"
expect_eq "the probe under A" "deny" "$(val probeA)"
expect_eq "the probe under B" "allow" "$(val probeB)"

# ---- SIGHUP still reloads; the digest is unchanged when the bytes are -----------
kill -HUP "$daemon"
sleep 0.3
expect_eq "SIGHUP with an unchanged file" "$dB" "$(ping)"

# ---- write-to-in-force latency ----------------------------------------------------
# Five alternations A/B, each written with rename; the time until ping shows it.
: > "$tmp/latency"
for i in 1 2 3 4 5; do
  if [ $((i % 2)) = 1 ]; then next=A; want=$dA; else next=B; want=$dB; fi
  python3 "$tmp/reload_client.py" swap "$sock" "$tmp/$next.json" "$policy" "$want" >> "$tmp/latency" ||
    bad "latency round $i timed out"
done
echo "write-to-in-force (ms, debounce 150): $(tr '\n' ' ' < "$tmp/latency")"

# ---- shutdown: the log verifies, every record's digest is a valid version ----------
kill -TERM "$daemon"
wait "$daemon"; code=$?
daemon=""
expect_eq "clean exit" 0 "$code"
echo "load and swap times: $(sed -n 's/.*loaded and swapped in \([0-9]*\) us.*/\1/p' "$tmp/serve.err" | tr '\n' ' ')us"
"$tg" log verify "$tmp/log" >/dev/null && ok || bad "the decision log does not verify"
python3 - "$tmp/log/decisions.jsonl" "$dA" "$dB" "$dP" "$dP2" <<'PY' > "$tmp/log.check"
import json, sys
valid = set(sys.argv[2:])
n = foreign = 0
for line in open(sys.argv[1]):
    r = json.loads(line)
    if r.get("type") != "decision":
        continue
    n += 1
    foreign += r.get("policy_digest") not in valid
print(n, foreign)
PY
read -r logged foreign < "$tmp/log.check"
[ "$logged" -ge 100 ] && ok || bad "logged decisions: $logged"
expect_eq "no logged decision under a policy that did not load" 0 "$foreign"

# ---- --no-watch: only SIGHUP reloads -------------------------------------------------
rm -rf "$tmp/log"
cp "$tmp/A.json" "$policy"
start_daemon --no-watch || exit 1
expect_eq "--no-watch starts with A" "$dA" "$(ping)"
cp "$tmp/B.json" "$policy"
sleep 0.6
expect_eq "--no-watch ignores the write" "$dA" "$(ping)"
kill -HUP "$daemon"
wait_digest "$dB" >/dev/null && ok || bad "--no-watch: SIGHUP did not reload"
kill -TERM "$daemon"; wait "$daemon"; daemon=""

echo "reload_test: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
