#!/usr/bin/env python3
"""Fault: a sandboxed command (`toolgate run`, profile "box" of
tests/faults/policy.json: 64 processes, --timeout 3, 12 for the fork storm) that
  * tries to fork 5,000 children that each wait a minute: at most the limit
    are made, the timeout ends the run (exit 124) and no child survives;
  * is a classic shell fork bomb: the same;
  * holds the terminal (a real pty as its stdin/stdout): puts it in raw mode,
    ignores SIGHUP/SIGINT/SIGTERM and waits for a line that never comes: the
    timeout ends it, no process survives, and the terminal's mode is what it
    was before the run;
  * keeps the caller's output pipe open from a background child after the
    command itself exits: the caller sees end-of-file at once.

Usage: sandbox_limits_test.py TOOLGATE SOURCE_ROOT
"""
import os
import random
import shutil
import subprocess
import sys
import tempfile
import termios
import time

TG, ROOT = sys.argv[1], sys.argv[2]
TIMEOUT_S = 3
SLACK_S = 5  # killing a large tree and reaping it, on a shared machine

passed = failed = 0


def check(name, cond, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print(f"ok   {name}", flush=True)
    else:
        failed += 1
        print(f"FAIL {name} {detail}", flush=True)


def survivors(marker):
    out = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True).stdout.split()
    return [p for p in out if int(p) != os.getpid()]


def run_cmd(policy, work, argv, timeout=TIMEOUT_S):
    return [TG, "run", "--policy", policy, "--profile", "box", "--timeout", str(timeout), "--cwd", work, "--"] + argv


def main():
    tmp = tempfile.mkdtemp(prefix="tg-sbx.")
    try:
        shutil.copy(os.path.join(ROOT, "tests/faults/policy.json"), tmp)
        shutil.copytree(os.path.join(ROOT, "tests/faults/packs"), os.path.join(tmp, "packs"))
        policy = os.path.join(tmp, "policy.json")
        work = os.path.join(tmp, "work")
        os.mkdir(work)
        doctor = subprocess.run([TG, "doctor"], capture_output=True, text=True)
        if doctor.returncode != 0:
            print("skip: no sandbox tier works on this host\n" + doctor.stdout)
            return 77

        # ---- 5,000 children that each wait a minute ---------------------------------
        marker = f"tgfaults-fork-{random.randrange(1 << 30)}"
        script = (f"import os, time\n# {marker}\nn = 0\nfailed = 0\nfor i in range(5000):\n"
                  "    try:\n        pid = os.fork()\n    except OSError:\n        failed += 1\n        continue\n"
                  "    if pid == 0:\n        time.sleep(60)\n        os._exit(0)\n    n += 1\n"
                  "print('forked', n, 'refused', failed, flush=True)\ntime.sleep(60)\n")
        t0 = time.monotonic()
        # Each refused fork still copies the address space before the limit
        # refuses it, so 5,000 attempts get a longer timeout.
        storm_timeout = 4 * TIMEOUT_S
        p = subprocess.run(run_cmd(policy, work, ["/usr/bin/python3", "-c", script], storm_timeout), capture_output=True,
                           text=True, timeout=storm_timeout + 60)
        took = time.monotonic() - t0
        time.sleep(0.3)
        words = p.stdout.split()
        forked = int(words[1]) if len(words) >= 4 and words[0] == "forked" else -1
        check("5,000 forks: the run ran", forked >= 0, f"stdout {p.stdout!r} stderr {p.stderr[-500:]!r}")
        check(f"5,000 forks: at most the 64-process limit made ({forked} made, {words[3] if len(words) >= 4 else '?'} refused)",
              0 <= forked < 64)
        check("5,000 forks: ended by the timeout (exit 124)", p.returncode == 124, f"exit {p.returncode}")
        check(f"5,000 forks: ended in {took:.1f} s (timeout {storm_timeout} s)", took <= storm_timeout + SLACK_S)
        left = survivors(marker)
        check("5,000 forks: no child survives", not left, f"{len(left)} left")
        print(f"figure: fork storm: {forked} children made, the rest refused; run ended after {took:.2f} s "
              f"(timeout {storm_timeout} s), exit {p.returncode}")

        # ---- a shell fork bomb -------------------------------------------------------
        marker = f"tgfaults-bomb-{random.randrange(1 << 30)}"
        t0 = time.monotonic()
        p = subprocess.run(run_cmd(policy, work, ["/bin/bash", "-c", f": {marker}; f(){{ f | f & }}; f; sleep 60"]),
                           capture_output=True, text=True, timeout=TIMEOUT_S + 60)
        took = time.monotonic() - t0
        time.sleep(0.3)
        check("fork bomb: ended by the timeout or the limits", p.returncode != 0, f"exit {p.returncode}")
        check(f"fork bomb: ended in {took:.1f} s", took <= TIMEOUT_S + SLACK_S)
        left = survivors(marker)
        check("fork bomb: nothing survives", not left, f"{len(left)} left")
        print(f"figure: fork bomb: run ended after {took:.2f} s, exit {p.returncode}")

        # ---- holding the terminal ------------------------------------------------------
        marker = f"tgfaults-tty-{random.randrange(1 << 30)}"
        master, slave = os.openpty()
        before = termios.tcgetattr(slave)
        hold = (f": {marker}; stty raw -echo; trap '' HUP INT TERM; echo holding; read line; "
                f"(trap '' HUP INT TERM; exec sleep 60) & read line; sleep 60")
        t0 = time.monotonic()
        proc = subprocess.Popen(run_cmd(policy, work, ["/bin/bash", "-c", hold]), stdin=slave, stdout=slave,
                                stderr=slave, start_new_session=True)
        seen = b""
        while time.monotonic() - t0 < 2 and b"holding" not in seen:
            try:
                import select
                if select.select([master], [], [], 0.1)[0]:
                    seen += os.read(master, 4096)
            except OSError:
                break
        try:
            rc = proc.wait(TIMEOUT_S + 60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        took = time.monotonic() - t0
        time.sleep(0.3)
        after = termios.tcgetattr(slave)
        check("terminal: the command ran and took the terminal", b"holding" in seen, repr(seen[-200:]))
        check("terminal: ended by the timeout (exit 124)", rc == 124, f"exit {rc}")
        check(f"terminal: ended in {took:.1f} s (timeout {TIMEOUT_S} s)", took <= TIMEOUT_S + SLACK_S)
        left = survivors(marker)
        check("terminal: nothing survives", not left, f"{len(left)} left")
        check("terminal: its mode is restored (not left raw, echo on)", after == before,
              f"lflag {before[3]:#o} -> {after[3]:#o}")
        os.close(master)
        os.close(slave)
        print(f"figure: terminal holder: run ended after {took:.2f} s, exit {rc}")

        # ---- a background child holding the caller's pipe ---------------------------------
        marker = f"tgfaults-pipe-{random.randrange(1 << 30)}"
        t0 = time.monotonic()
        p = subprocess.run(run_cmd(policy, work, ["/bin/bash", "-c", f": {marker}; (exec -a {marker} sleep 60) & echo done"]),
                           capture_output=True, text=True, timeout=TIMEOUT_S + 60)
        took = time.monotonic() - t0
        check("pipe holder: the command's own exit code", p.returncode == 0 and "done" in p.stdout,
              f"exit {p.returncode} {p.stdout!r}")
        check(f"pipe holder: the caller sees end-of-file at once ({took:.2f} s)", took < TIMEOUT_S)
        check("pipe holder: the background child is gone", not survivors(marker))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"sandbox_limits: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
