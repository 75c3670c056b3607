#!/usr/bin/env python3
"""What toolgate mcp adds to one tools/call round trip: N sequential calls to
fake_server.py directly, then through `toolgate mcp` (in-process policy, no
log, then with --log). Prints the median and p99 of each, in microseconds.

usage: measure_latency.py TOOLGATE [N]   (N defaults to 300; not a test)
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
toolgate = os.path.abspath(sys.argv[1])
n = int(sys.argv[2]) if len(sys.argv) > 2 else 300
fake = os.path.join(here, "fake_server.py")
policy = os.path.join(here, "policy.json")


def run(prefix, work):
    cmd = prefix + [sys.executable, fake, os.path.join(work, "record.txt")]
    p = subprocess.Popen(cmd, cwd=work, stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    times = []
    for i in range(n):
        msg = {"jsonrpc": "2.0", "id": i, "method": "tools/call",
               "params": {"name": "read_file", "arguments": {"path": os.path.join(work, "a.txt")}}}
        t = time.perf_counter()
        p.stdin.write((json.dumps(msg) + "\n").encode())
        p.stdin.flush()
        p.stdout.readline()
        times.append((time.perf_counter() - t) * 1e6)
    p.stdin.close()
    p.wait(20)
    times.sort()
    return statistics.median(times), times[int(len(times) * 0.99) - 1]


with tempfile.TemporaryDirectory() as work:
    work = os.path.realpath(work)
    os.mkdir(os.path.join(work, "log"))
    base = [toolgate, "mcp", "--no-daemon", "--policy", policy, "--agent", "fs-agent", "--server-name", "fs"]
    for name, prefix in (("direct", []), ("toolgate mcp", base + ["--"]),
                         ("toolgate mcp --log", base + ["--log", os.path.join(work, "log"), "--"])):
        med, p99 = run(prefix, work)
        print("%-20s median %7.0f us   p99 %7.0f us   (%d calls)" % (name, med, p99, n))
