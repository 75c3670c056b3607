#!/usr/bin/env python3
"""Fault: Lua rules that loop, allocate without bound, recurse deeply,
backtrack, or spend their time inside C functions (tests/faults/packs/hostile.lua,
budget time_ms 10 in tests/faults/policy.json).

Each hostile call, judged by the daemon and in-process (`toolgate check`), must
be denied with a rule_budget / rule_error naming the rule, stopped within its
10 ms budget, and the next call on the same daemon (a harmless one) served
normally and quickly. Wall times are the engine's own latency_ns of the
decision. The machine is shared, so a single sample can be inflated by
scheduling: the test asserts the median of the samples against the budget
(widened when the load average says the CPUs are oversubscribed, see
MEDIAN_LIMIT_MS) and every sample against a loose bound, and prints every
figure.

Usage: lua_budget_test.py TOOLGATE SOURCE_ROOT
"""
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time

TG, ROOT = sys.argv[1], sys.argv[2]
BUDGET_MS = 10
# The budget includes stopping the rule: the engine trips it a tenth of the
# budget early (engine/lua/sandbox.h, RunTime), the trip lands at the next
# check (every 1,000 instructions, in the allocator for large blocks, and
# every 1,024 steps inside the library's C loops), then the error unwinds.
# The tripped state is closed, and its replacement made, by the rule set's
# reaper thread after the answer (engine/lua/rule_set.h). So on a machine
# with a free CPU the whole decision stays within the budget.
MEDIAN_LIMIT_MS = BUDGET_MS
# On a machine with more runnable threads than cores the daemon's thread waits
# for a CPU while its deadline passes; the median bound is widened then (and
# the run says so), the runaway bound is not.
LOAD = os.getloadavg()[0]
CPUS = os.cpu_count() or 1
if LOAD > 2 * CPUS:
    MEDIAN_LIMIT_MS = 3 * BUDGET_MS
elif LOAD > CPUS:
    MEDIAN_LIMIT_MS = BUDGET_MS + 6
if MEDIAN_LIMIT_MS != BUDGET_MS:
    print(f"note: load average {LOAD:.1f} on {CPUS} CPUs: median bound widened to {MEDIAN_LIMIT_MS} ms")
ANY_LIMIT_MS = 100  # a sample past this is a runaway rule, not scheduling noise
# The sanitizer build (tools/sanitize.sh sets TOOLGATE_SANITIZED) makes every
# allocation and memory write several times slower, so one C operation (a 1 MiB
# string.rep) overshoots the deadline by more; the latency bounds are the normal
# build's to hold. There the test still checks every denial, the rule named,
# the next call served and the log, and still catches a rule that runs on
# (the table.concat loop once ran 308 ms on a 10 ms budget).
if os.environ.get("TOOLGATE_SANITIZED") == "1":
    MEDIAN_LIMIT_MS = max(MEDIAN_LIMIT_MS, 6 * BUDGET_MS)
    ANY_LIMIT_MS = 250
    print(f"note: sanitizer build: median bound {MEDIAN_LIMIT_MS} ms, any sample {ANY_LIMIT_MS} ms")
SAMPLES = 7
CASES = [
    ("HostileLoop", "hostile.loop"),
    ("HostilePcallLoop", "hostile.pcall-loop"),
    ("HostileAlloc", "hostile.alloc"),
    ("HostileTable", "hostile.table"),
    ("HostileRecurse", "hostile.recurse"),
    ("HostileBacktrack", "hostile.backtrack"),
    ("HostileRep", "hostile.rep"),
    ("HostileFind", "hostile.find"),
    ("HostileConcat", "hostile.concat"),
    ("HostileMove", "hostile.move"),
    ("HostileSort", "hostile.sort"),
    ("HostileUtf8", "hostile.utf8len"),
    ("HostileInsert", "hostile.insert"),
]

passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name} {detail}", flush=True)


def call(tool, cid):
    return {"agent_id": "claude-dev", "call_id": cid, "tool_name": tool, "cwd": "/home/dev/project",
            "tool_input": {"x": 1}}


class Client:
    def __init__(self, path):
        self.s = socket.socket(socket.AF_UNIX)
        self.s.settimeout(20)
        self.s.connect(path)
        self.buf = b""
        self.n = 0

    def decide(self, c):
        self.n += 1
        self.s.sendall((json.dumps({"v": 1, "id": self.n, "op": "decide", "call": c}) + "\n").encode())
        while b"\n" not in self.buf:
            d = self.s.recv(1 << 16)
            if not d:
                raise OSError("closed")
            self.buf += d
        line, self.buf = self.buf.split(b"\n", 1)
        r = json.loads(line)
        assert r["id"] == self.n, r
        return r["decision"]


def names_rule(d, rule):
    return any((f.get("rule") or {}).get("id") == rule for f in d.get("reasons", [])) or rule in json.dumps(d)


def main():
    tmp = tempfile.mkdtemp(prefix="tg-lua.")
    shutil.copy(os.path.join(ROOT, "tests/faults/policy.json"), tmp)
    shutil.copytree(os.path.join(ROOT, "tests/faults/packs"), os.path.join(tmp, "packs"))
    policy = os.path.join(tmp, "policy.json")
    sock = os.path.join(tmp, "tg.sock")
    err = open(os.path.join(tmp, "serve.err"), "wb")
    d = subprocess.Popen([TG, "serve", "--policy", policy, "--socket", sock, "--log", os.path.join(tmp, "log")],
                         stderr=err)
    try:
        for _ in range(300):
            if os.path.exists(sock):
                try:
                    c = Client(sock)
                    break
                except OSError:
                    pass
            time.sleep(0.05)
        else:
            print("the daemon did not start")
            return 1
        fine = c.decide(call("Fine", "warm"))
        check("a harmless call is allowed", fine["verdict"] == "allow", json.dumps(fine))
        figures = []
        for tool, rule in CASES:
            walls, nexts = [], []
            for i in range(SAMPLES):
                dec = c.decide(call(tool, f"{tool}-{i}"))
                walls.append(dec["latency_ns"] / 1e6)
                code = (dec.get("error") or {}).get("code", "")
                check(f"{tool}: denied", dec["verdict"] == "deny", json.dumps(dec)[:300])
                check(f"{tool}: a budget or rule error", code in ("rule_budget", "rule_error"), f"code {code!r}")
                check(f"{tool}: names the rule", names_rule(dec, rule), json.dumps(dec)[:300])
                nxt = c.decide(call("Fine", f"after-{tool}-{i}"))
                nexts.append(nxt["latency_ns"] / 1e6)
                check(f"{tool}: the next call is served normally", nxt["verdict"] == "allow", json.dumps(nxt)[:300])
            med = statistics.median(walls)
            check(f"{tool}: median {med:.2f} ms within the {BUDGET_MS} ms budget (bound {MEDIAN_LIMIT_MS} ms)", med <= MEDIAN_LIMIT_MS,
                  f"samples {[round(w, 2) for w in walls]}")
            check(f"{tool}: no sample runs away (max {max(walls):.2f} ms)", max(walls) <= ANY_LIMIT_MS)
            check(f"{tool}: the next call is fast (max {max(nexts):.2f} ms)", max(nexts) <= ANY_LIMIT_MS)
            msg = (dec.get("error") or {}).get("message", "")
            figures.append((tool, code, med, max(walls), statistics.median(nexts), msg))
        # In-process: the same denial from `toolgate check`, in a fresh process.
        for tool, rule in CASES:
            p = subprocess.run([TG, "check", "--policy", policy, "--json"], input=json.dumps(call(tool, "cli")),
                               capture_output=True, text=True, timeout=60)
            try:
                dec = json.loads(p.stdout)
            except ValueError:
                dec = {}
            check(f"check {tool}: exit 20, denied", p.returncode == 20 and dec.get("verdict") == "deny",
                  f"exit {p.returncode}: {p.stdout[:200]} {p.stderr[:200]}")
            check(f"check {tool}: within {ANY_LIMIT_MS} ms", dec.get("latency_ns", 1e12) / 1e6 <= ANY_LIMIT_MS,
                  str(dec.get("latency_ns")))
        d.terminate()
        check("the daemon stops cleanly", d.wait(20) == 0)
        v = subprocess.run([TG, "log", "verify", os.path.join(tmp, "log")], capture_output=True, text=True)
        check("the daemon's log verifies", v.returncode == 0, v.stdout + v.stderr)
        print(f"{'rule':18} {'error':12} {'median ms':>9} {'max ms':>7} {'next call median ms':>19}  message")
        for tool, code, med, mx, nxt, msg in figures:
            print(f"figure: {tool:18} {code:12} {med:9.2f} {mx:7.2f} {nxt:19.3f}  {msg[:70]}")
    finally:
        if d.poll() is None:
            d.kill()
            d.wait()
        err.close()
        if failed:
            sys.stdout.write(open(os.path.join(tmp, "serve.err")).read()[-3000:])
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"lua_budget: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
