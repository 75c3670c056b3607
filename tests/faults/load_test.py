#!/usr/bin/env python3
"""Load: 64 concurrent clients x 10,000 calls against one `toolgate serve`
with every decision logged, on a Unix socket.

Spawning 640,000 shim processes is not feasible on this 2-core machine (a
toolgate-hook round trip costs about 1 ms of process start-up alone), so:
  1. 64 processes, each one persistent protocol-v1 connection (what a shim
     sends, without the process start-up), 10,000 calls each, one call in
     flight per client, ids unique;
  2. 64 concurrent real `toolgate-hook` processes x SHIM_CALLS calls each.
Checked: every request id answered exactly once with its expected verdict
(zero lost or duplicated decisions), the log holds exactly one decision
record per call (counted by call_id: zero lost records), `toolgate log
verify` passes. Reported: throughput and p50/p90/p99/max latency (send to
reply, measured by each client). The whole test is bounded in time.

Usage: load_test.py TOOLGATE TOOLGATE_HOOK SOURCE_ROOT [CLIENTS] [CALLS] [SHIM_CALLS]
Environment: TOOLGATE_LOAD_CLIENTS / _CALLS / _SHIM_CALLS override the sizes.
"""
import collections
import concurrent.futures
import json
import multiprocessing
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from array import array

TG, SHIM, ROOT = sys.argv[1], sys.argv[2], sys.argv[3]
CLIENTS = int(os.environ.get("TOOLGATE_LOAD_CLIENTS", sys.argv[4] if len(sys.argv) > 4 else 64))
CALLS = int(os.environ.get("TOOLGATE_LOAD_CALLS", sys.argv[5] if len(sys.argv) > 5 else 10000))
SHIM_CALLS = int(os.environ.get("TOOLGATE_LOAD_SHIM_CALLS", sys.argv[6] if len(sys.argv) > 6 else 50))
TIME_LIMIT_S = 420  # the whole test; the load phase must end well before

# (call JSON template, expected verdict). Mostly allowed calls, as in a coding
# session; the denies are synced to disk before their answer.
MIX = [
    ('{"agent_id":"claude-dev","call_id":"%s","tool_name":"Bash","cwd":"/home/dev/project",'
     '"tool_input":{"command":"git status"}}', "allow"),
    ('{"agent_id":"claude-dev","call_id":"%s","tool_name":"Read","cwd":"/home/dev/project",'
     '"tool_input":{"file_path":"/home/dev/project/README.md"}}', "allow"),
    ('{"agent_id":"claude-dev","call_id":"%s","tool_name":"Bash","cwd":"/home/dev/project",'
     '"tool_input":{"command":"ls -la src"}}', "allow"),
    ('{"agent_id":"claude-dev","call_id":"%s","tool_name":"Bash","cwd":"/home/dev/project",'
     '"tool_input":{"command":"cat ~/.ssh/id_rsa"}}', "deny"),
]

passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok   {name}", flush=True)
    else:
        failed += 1
        print(f"FAIL {name} {detail}", flush=True)


def client_proc(sock, c, calls, deadline, out_path):
    """One persistent client: CALLS sequential decisions; writes its results."""
    lat = array("I")
    bad = []
    answered = 0
    s = socket.socket(socket.AF_UNIX)
    s.settimeout(30)
    s.connect(sock)
    buf = b""
    mix = [(t.encode(), ('"verdict":"%s"' % v).encode()) for t, v in MIX]
    try:
        for i in range(calls):
            if time.monotonic() > deadline:
                bad.append(f"client {c}: time limit after {i} calls")
                break
            cid = b"L%d-%d" % (c, i)
            tmpl, want = mix[i % len(mix)]
            req = b'{"v":1,"id":"' + cid + b'","op":"decide","call":' + (tmpl % cid) + b"}\n"
            t0 = time.perf_counter_ns()
            s.sendall(req)
            while True:
                nl = buf.find(b"\n")
                if nl >= 0:
                    break
                d = s.recv(1 << 16)
                if not d:
                    raise OSError("the daemon closed the connection")
                buf += d
            lat.append(min((time.perf_counter_ns() - t0) // 1000, 0xFFFFFFFF))
            line, buf = buf[:nl], buf[nl + 1:]
            # Replies start {"v":1,"id":"<id>","ok":true,"decision":{...
            head = b'{"v":1,"id":"' + cid + b'","ok":true,"decision":'
            if not line.startswith(head) or want not in line:
                bad.append(f"{cid.decode()}: unexpected reply {line[:200]!r}")
                if len(bad) > 20:
                    break
            else:
                answered += 1
        if buf:
            bad.append(f"client {c}: {len(buf)} bytes of unrequested replies")
    except OSError as e:
        bad.append(f"client {c}: {e}")
    finally:
        s.close()
    with open(out_path, "wb") as f:
        f.write(json.dumps({"answered": answered, "bad": bad}).encode() + b"\n")
        lat.tofile(f)


def read_results(path, calls):
    with open(path, "rb") as f:
        head = json.loads(f.readline())
        lat = array("I")
        rest = f.read()
        lat.frombytes(rest[: len(rest) // 4 * 4])
    return head, lat


def pct(sorted_vals, p):
    if not sorted_vals:
        return 0
    return sorted_vals[min(len(sorted_vals) - 1, int(len(sorted_vals) * p))]


def run_shim(sock, c, i):
    cid = f"S{c}-{i}"
    tmpl, want = MIX[(c + i) % len(MIX)]
    call = json.loads(tmpl % cid)
    hook_in = json.dumps({"hook_event_name": "PreToolUse", "session_id": f"load-{c}", "cwd": call["cwd"],
                          "tool_name": call["tool_name"], "tool_input": call["tool_input"], "tool_use_id": cid})
    t0 = time.perf_counter_ns()
    p = subprocess.run([SHIM, "--client", "claude", "--socket", sock, "--agent", "claude-dev", "--timeout-ms", "10000"],
                       input=hook_in.encode(), capture_output=True, timeout=60)
    us = (time.perf_counter_ns() - t0) // 1000
    try:
        got = json.loads(p.stdout)["hookSpecificOutput"]["permissionDecision"]
    except (ValueError, KeyError, TypeError):
        got = f"exit {p.returncode}: {p.stdout[:100]!r} {p.stderr[:200]!r}"
    return cid, want, got, us


def main():
    start = time.monotonic()
    tmp = tempfile.mkdtemp(prefix="tg-load.")
    sock = os.path.join(tmp, "tg.sock")
    log_dir = os.path.join(tmp, "log")
    err = open(os.path.join(tmp, "serve.err"), "wb")
    d = subprocess.Popen([TG, "serve", "--socket", sock, "--log", log_dir], stderr=err)
    try:
        for _ in range(400):
            try:
                s = socket.socket(socket.AF_UNIX)
                s.connect(sock)
                s.close()
                break
            except OSError:
                time.sleep(0.05)
        else:
            print("the daemon did not start")
            return 1
        print(f"load: {CLIENTS} clients x {CALLS} calls, then {CLIENTS} concurrent toolgate-hook processes x "
              f"{SHIM_CALLS} calls; one daemon, every decision logged", flush=True)

        # ---- 1. persistent protocol clients ------------------------------------------
        deadline = time.monotonic() + TIME_LIMIT_S - 120
        ctx = multiprocessing.get_context("fork")
        procs = []
        t0 = time.monotonic()
        for c in range(CLIENTS):
            p = ctx.Process(target=client_proc, args=(sock, c, CALLS, deadline, os.path.join(tmp, f"c{c}.out")))
            p.start()
            procs.append(p)
        for p in procs:
            p.join(max(1, deadline + 30 - time.monotonic()))
            if p.is_alive():
                p.kill()
        wall = time.monotonic() - t0
        lats = array("I")
        answered = 0
        problems = []
        for c in range(CLIENTS):
            path = os.path.join(tmp, f"c{c}.out")
            if not os.path.exists(path):
                problems.append(f"client {c} left no results")
                continue
            head, lat = read_results(path, CALLS)
            answered += head["answered"]
            problems += head["bad"]
            lats.extend(lat)
        total = CLIENTS * CALLS
        check(f"protocol clients: {answered} of {total} calls answered once, in order, with the expected verdict",
              answered == total and not problems, "; ".join(problems[:10]))
        srt = sorted(lats)
        fig_proto = (f"{CLIENTS} clients x {CALLS} calls = {total} decisions in {wall:.1f} s = {total / wall:,.0f}/s; "
                     f"latency p50 {pct(srt, .5) / 1000:.2f} ms, p90 {pct(srt, .9) / 1000:.2f} ms, "
                     f"p99 {pct(srt, .99) / 1000:.2f} ms, max {(srt[-1] if srt else 0) / 1000:.1f} ms")
        print("figure: " + fig_proto, flush=True)
        del lats, srt

        # ---- 2. real shim processes ------------------------------------------------------
        t0 = time.monotonic()
        shim_lat, shim_bad = [], []
        with concurrent.futures.ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            futs = [pool.submit(run_shim, sock, c, i) for c in range(CLIENTS) for i in range(SHIM_CALLS)]
            for f in concurrent.futures.as_completed(futs, timeout=max(10, TIME_LIMIT_S - (time.monotonic() - start) - 60)):
                cid, want, got, us = f.result()
                shim_lat.append(us)
                if got != want:
                    shim_bad.append(f"{cid}: {got} (expected {want})")
        swall = time.monotonic() - t0
        nshim = CLIENTS * SHIM_CALLS
        check(f"toolgate-hook processes: {nshim - len(shim_bad)} of {nshim} answered with the expected verdict",
              not shim_bad and len(shim_lat) == nshim, "; ".join(shim_bad[:10]))
        shim_lat.sort()
        fig_shim = (f"{CLIENTS} concurrent toolgate-hook processes x {SHIM_CALLS} calls = {nshim} in {swall:.1f} s; "
                    f"per call (process start to exit) p50 {pct(shim_lat, .5) / 1000:.2f} ms, "
                    f"p99 {pct(shim_lat, .99) / 1000:.2f} ms, max {(shim_lat[-1] if shim_lat else 0) / 1000:.1f} ms")
        print("figure: " + fig_shim, flush=True)

        # ---- the log: exactly one record per call; the chain verifies ------------------------
        d.send_signal(signal.SIGTERM)
        check("the daemon stops cleanly", d.wait(60) == 0)
        t0 = time.monotonic()
        v = subprocess.run([TG, "log", "verify", log_dir], capture_output=True, text=True, timeout=300)
        check("log verify passes", v.returncode == 0, v.stdout + v.stderr)
        vtime = time.monotonic() - t0
        counts = collections.Counter()
        records = 0
        with open(os.path.join(log_dir, "decisions.jsonl"), "rb") as f:
            for line in f:
                if b'"type":"decision"' not in line[:200]:
                    continue
                records += 1
                i = line.find(b'"call_id":"')
                if i < 0:
                    counts[b"?"] += 1
                    continue
                counts[line[i + 11:line.index(b'"', i + 11)]] += 1
        dup = [k for k, n in counts.items() if n > 1]
        missing = [f"L{c}-{i}" for c in range(CLIENTS) for i in range(CALLS) if counts.get(b"L%d-%d" % (c, i)) != 1]
        missing += [f"S{c}-{i}" for c in range(CLIENTS) for i in range(SHIM_CALLS) if counts.get(b"S%d-%d" % (c, i)) != 1]
        check(f"the log holds {records} decision records: one per call ({total + nshim})",
              records == total + nshim and not dup and not missing,
              f"{len(dup)} duplicated, {len(missing)} missing or repeated, e.g. {missing[:5]} {dup[:5]}")
        size = os.path.getsize(os.path.join(log_dir, "decisions.jsonl"))
        print(f"figure: log {records} decision records, {size / 1e6:.0f} MB, verified in {vtime:.1f} s: "
              f"{v.stdout.strip()[:120]}")
        print(f"figure: whole test {time.monotonic() - start:.1f} s")
    finally:
        if d.poll() is None:
            d.kill()
            d.wait()
        err.close()
        if failed:
            sys.stdout.write(open(os.path.join(tmp, "serve.err"), errors="replace").read()[-3000:])
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"load: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
