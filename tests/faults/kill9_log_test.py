#!/usr/bin/env python3
"""Fault: kill -9 of a decision-log writer at random points, 100 times.

The writer is `toolgate serve --log DIR` under a steady stream of decisions
from a pipelining client; after a random delay it gets SIGKILL, mid-write or
not. After each kill:
  * `toolgate log verify DIR` passes (exit 0), or reports only a torn last
    line (exit 2) with every complete record before it verified;
  * an independent verifier (the README's ten lines) agrees line by line;
  * every decision the client was answered is in the log (the record is
    written before the answer leaves);
and the next daemon, on the same directory, recovers a torn tail and
continues the chain. Every other daemon runs with --log-sync none, where a
pipelining client's batches are logged and answered by the log stage while
the worker judges the next. Ten groups of ten kills, each group on a fresh
directory, keep every verification small.

Usage: kill9_log_test.py TOOLGATE SOURCE_ROOT [KILLS]
"""
import hashlib
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

TG = sys.argv[1]
KILLS = int(sys.argv[3]) if len(sys.argv) > 3 else 100
GROUP = 10
DEADLINE = time.monotonic() + 400  # the whole test, whatever happens

passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print(f"FAIL {name} {detail}", flush=True)


def ping(path):
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(2)
        s.connect(path)
        s.sendall(b'{"v":1,"id":0,"op":"ping"}\n')
        return b'"pong":true' in s.recv(4096)
    except OSError:
        return False
    finally:
        s.close()


def start_daemon(sock, log_dir, err, extra=()):
    p = subprocess.Popen([TG, "serve", "--socket", sock, "--log", log_dir, "--workers", "2", *extra],
                         stdout=subprocess.DEVNULL, stderr=err)
    for _ in range(300):
        if ping(sock):
            return p
        if p.poll() is not None:
            break
        time.sleep(0.02)
    p.kill()
    p.wait()
    return None


CALLS = [
    ('{"agent_id":"claude-dev","call_id":"%s","tool_name":"Bash","cwd":"/home/dev/project",'
     '"tool_input":{"command":"git status"}}'),
    ('{"agent_id":"claude-dev","call_id":"%s","tool_name":"Bash","cwd":"/home/dev/project",'
     '"tool_input":{"command":"cat ~/.ssh/id_rsa"}}'),
    ('{"agent_id":"claude-dev","call_id":"%s","tool_name":"Write","cwd":"/home/dev/project",'
     '"tool_input":{"file_path":"/home/dev/project/a.txt","content":"hello"}}'),
]


def pump(sock, prefix, answered, stop):
    """Sends batches of 8 decisions and records the call ids answered."""
    try:
        s = socket.socket(socket.AF_UNIX)
        s.settimeout(5)
        s.connect(sock)
        n = 0
        buf = b""
        while not stop.is_set():
            batch = []
            for _ in range(8):
                cid = f"{prefix}-{n}"
                batch.append('{"v":1,"id":"%s","op":"decide","call":%s}\n' % (cid, CALLS[n % 3] % cid))
                n += 1
            s.sendall("".join(batch).encode())
            want = len(batch)
            while want > 0:
                d = s.recv(1 << 16)
                if not d:
                    return
                buf += d
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    r = json.loads(line)
                    if r.get("ok"):
                        answered.append(r["id"])
                    want -= 1
    except (OSError, ValueError):
        return  # the daemon died under us: that is the point


def independent_verify(path):
    """(complete records that chain, torn tail bytes, error) like the README's verifier."""
    data = open(path, "rb").read()
    lines = data.split(b"\n")
    torn = lines[-1]
    prev = "0" * 64
    seq = 0
    for n, line in enumerate(lines[:-1], 1):
        body = line[:-75] + b"}"
        try:
            j = json.loads(body)
        except ValueError:
            return n - 1, torn, f"line {n} is not JSON"
        if j["prev_hash"] != prev or j["seq"] != n:
            return n - 1, torn, f"line {n} breaks the chain"
        prev = hashlib.sha256(prev.encode() + body).hexdigest()
        if prev != line[-66:-2].decode():
            return n - 1, torn, f"line {n} has a bad hash"
        seq = n
    return seq, torn, None


def logged_call_ids(path):
    ids = set()
    with open(path, "rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                break
            i = line.find(b'"call_id":"')
            if i >= 0 and b'"type":"decision"' in line[:120]:
                j = line.index(b'"', i + 11)
                ids.add(line[i + 11:j].decode())
    return ids


def main():
    rng = random.Random(int(os.environ.get("TOOLGATE_FAULTS_SEED", "0")) or None)
    tmp = tempfile.mkdtemp(prefix="tg-kill9.")
    err = open(os.path.join(tmp, "serve.err"), "ab")
    stats = {"kills": 0, "torn": 0, "cut": 0, "recovered": 0, "records": 0, "answered": 0}
    try:
        for k in range(KILLS):
            if time.monotonic() > DEADLINE:
                check("finished within the time bound", False, f"after {k} kills")
                break
            log_dir = os.path.join(tmp, f"log{k // GROUP}")
            sock = os.path.join(tmp, f"s{k}.sock")
            d = start_daemon(sock, log_dir, err, ("--log-sync", "none") if k % 2 else ())
            check(f"kill {k}: the daemon starts on the log the last one left", d is not None)
            if d is None:
                print(open(os.path.join(tmp, "serve.err")).read()[-2000:])
                break
            answered, stop = [], threading.Event()
            t = threading.Thread(target=pump, args=(sock, f"k{k}", answered, stop))
            t.start()
            # Mid-stream: after the first answer (so the log has a record; a slow or
            # sanitized build may not get there within a fixed delay), then at a random point.
            first_answer = time.monotonic() + 10
            while not answered and t.is_alive() and time.monotonic() < first_answer:
                time.sleep(0.002)
            time.sleep(rng.uniform(0.005, 0.15))
            os.kill(d.pid, signal.SIGKILL)
            d.wait()
            stop.set()
            t.join(10)
            stats["kills"] += 1
            stats["answered"] += len(answered)
            path = os.path.join(log_dir, "decisions.jsonl")
            v = subprocess.run([TG, "log", "verify", "--json", log_dir], capture_output=True, text=True)
            good, torn, problem = independent_verify(path)
            check(f"kill {k}: independent verifier", problem is None, problem or "")
            if torn:
                stats["torn"] += 1
                check(f"kill {k}: a torn tail is reported as exit 2", v.returncode == 2, f"exit {v.returncode}: {v.stdout}")
            else:
                check(f"kill {k}: log verify passes", v.returncode == 0, f"exit {v.returncode}: {v.stdout} {v.stderr}")
            try:
                report = json.loads(v.stdout)
                check(f"kill {k}: every complete record verified", report.get("records") == good,
                      f"verify counted {report.get('records')}, {good} complete lines")
            except ValueError:
                check(f"kill {k}: verify --json output", False, v.stdout)
            ids = logged_call_ids(path)
            lost = [a for a in answered if a not in ids]
            check(f"kill {k}: every answered decision is logged", not lost, f"{len(lost)} lost, e.g. {lost[:3]}")
            stats["records"] = max(stats["records"], good)
            # SIGKILL never splits a write(2) into a regular file, so a torn
            # line needs a power cut. Every fifth kill also cuts the file at a
            # random byte inside its last record, as a lost page would: verify
            # must report only the torn tail, and the next daemon recover it.
            if k % 5 == 4 and good > 1 and not torn:
                size = os.path.getsize(path)
                with open(path, "rb") as f:
                    f.seek(max(0, size - 8192))
                    tail = f.read()
                last = len(tail) - tail.rstrip(b"\n").rfind(b"\n") - 1
                cut = rng.randint(1, last - 1)
                os.truncate(path, size - cut)
                stats["cut"] += 1
                v = subprocess.run([TG, "log", "verify", "--json", log_dir], capture_output=True, text=True)
                good2, torn2, problem2 = independent_verify(path)
                check(f"kill {k}: cut tail: only the torn line is reported (exit 2)", v.returncode == 2 and torn2 and
                      problem2 is None and good2 == good - 1, f"exit {v.returncode} {v.stdout[:300]}")
        # The last daemon of each group: it recovers the tail and closes cleanly.
        for g in range((stats["kills"] + GROUP - 1) // GROUP):
            log_dir = os.path.join(tmp, f"log{g}")
            sock = os.path.join(tmp, f"final{g}.sock")
            d = start_daemon(sock, log_dir, err)
            check(f"group {g}: a daemon resumes the log", d is not None)
            if d is None:
                continue
            d.send_signal(signal.SIGTERM)
            check(f"group {g}: clean stop", d.wait(20) == 0)
            v = subprocess.run([TG, "log", "verify", log_dir], capture_output=True, text=True)
            check(f"group {g}: the whole chain verifies after 10 kills", v.returncode == 0, v.stdout + v.stderr)
            body = open(os.path.join(log_dir, "decisions.jsonl"), "rb").read()
            stats["recovered"] += body.count(b'"type":"recovery"')
    finally:
        err.close()
        subprocess.run(["rm", "-rf", tmp])
    print(f"figure: {stats['kills']} kills, {stats['answered']} decisions answered and all found in the log, "
          f"{stats['torn']} torn tails left by a kill, {stats['cut']} tails cut on purpose (verify exit 2), "
          f"{stats['recovered']} recovery records written on resume")
    print(f"kill9_log: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
