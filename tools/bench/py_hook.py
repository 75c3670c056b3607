"""A typical Python hook script doing the benchmark policy's checks (the peer of toolgate's engine).

As a hook (no arguments): reads a Claude Code PreToolUse input on stdin, judges it
against spec.json beside this file, prints the answer. This is what an agent
would spawn per call.

  python3 py_hook.py --bench SPEC CALLS.jsonl ITERATIONS [SECONDS]
judges every call of CALLS in-process, warm, timing each check; prints one JSON
object with p50/p99 in microseconds, decisions/s and the verdicts. SECONDS bounds
the measuring loop (it stops early once that much time has passed).

The checks: the tool must be allowed; the one resource the call touches (a path
read or written, the program a shell command starts, the host a URL names) must
match an allow glob and no deny glob (fnmatch); no content rule's literal may
appear in the input's strings.
"""

import fnmatch
import json
import os
import shlex
import sys
import time
import urllib.parse


def load_spec(path):
    with open(path) as f:
        spec = json.load(f)
    # fnmatch's * crosses '/', like toolgate's ** (policies.py keeps the patterns where the two agree).
    for k in ("read", "write", "fs_deny"):
        spec[k] = [g.replace("**", "*") for g in spec[k]]
    spec["tools"] = set(spec["tools"])
    return spec


def strings(v, out):
    if isinstance(v, str):
        out.append(v)
    elif isinstance(v, dict):
        for x in v.values():
            strings(x, out)
    elif isinstance(v, list):
        for x in v:
            strings(x, out)
    return out


def matches(value, globs):
    return any(fnmatch.fnmatchcase(value, g) for g in globs)


def decide(spec, call):
    tool = call.get("tool_name", "")
    inp = call.get("tool_input") or {}
    cwd = call.get("cwd") or spec["cwd"]
    if tool not in spec["tools"]:
        return "deny", "tool %s is not allowed" % tool
    if tool in ("Read", "Grep", "Write", "Edit"):
        path = os.path.normpath(os.path.join(cwd, inp.get("file_path") or inp.get("path") or cwd))
        allow = spec["read"] if tool in ("Read", "Grep") else spec["write"]
        if matches(path, spec["fs_deny"]) or not matches(path, allow):
            return "deny", "path %s is not allowed" % path
    elif tool == "Bash":
        words = shlex.split(inp.get("command", ""))
        program = os.path.basename(words[0]) if words else ""
        if program in spec["exec_deny"] or program not in spec["exec_allow"]:
            return "deny", "program %s is not allowed" % program
    elif tool == "WebFetch":
        host = urllib.parse.urlsplit(inp.get("url", "")).hostname or ""
        if matches(host, spec["net_deny"]) or not matches(host, spec["net_allow"]):
            return "deny", "host %s is not allowed" % host
    text = "\n".join(strings(inp, []))
    for lit in spec["rules"]:
        if lit in text:
            return "deny", "contains " + lit
    return "allow", ""


def hook():
    spec = load_spec(os.path.join(os.path.dirname(os.path.abspath(__file__)), "spec.json"))
    event = json.load(sys.stdin)
    verdict, reason = decide(spec, event)
    print(json.dumps({"hookSpecificOutput": {"hookEventName": "PreToolUse", "permissionDecision": verdict,
                                             "permissionDecisionReason": reason}}, separators=(",", ":")))


def bench(spec_path, calls_path, iterations, seconds=600.0):
    spec = load_spec(spec_path)
    with open(calls_path) as f:
        calls = [json.loads(line) for line in f if line.strip()]
    verdicts = [decide(spec, c)[0] for c in calls]
    for i in range(len(calls) * 10):  # warm-up
        decide(spec, calls[i % len(calls)])
    ns = []
    clock = time.perf_counter_ns
    begin = clock()
    budget = int(seconds * 1e9)
    for i in range(iterations):
        c = calls[i % len(calls)]
        t0 = clock()
        decide(spec, c)
        t1 = clock()
        ns.append(t1 - t0)
        if i >= 20 and t1 - begin > budget:
            iterations = i + 1
            break
    total = (clock() - begin) / 1e9
    ns.sort()
    def pct(p):
        return ns[min(len(ns) - 1, int(p * (len(ns) - 1) + 0.5))] / 1000.0
    print(json.dumps({"p50_us": pct(0.5), "p99_us": pct(0.99), "decisions_per_s": iterations / total,
                      "iterations": iterations, "verdicts": verdicts}))


if __name__ == "__main__":
    if len(sys.argv) in (5, 6) and sys.argv[1] == "--bench":
        bench(sys.argv[2], sys.argv[3], int(sys.argv[4]), float(sys.argv[5]) if len(sys.argv) == 6 else 600.0)
    else:
        hook()
