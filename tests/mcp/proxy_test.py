#!/usr/bin/env python3
"""toolgate mcp against a scripted fake server (fake_server.py): framing, ids,
batches, judging, a server that dies or writes garbage, signals and shutdown.

usage: proxy_test.py TOOLGATE FAKE_SERVER
Every read has a deadline; every process is waited for with a timeout.
"""
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time

TOOLGATE, FAKE = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
ROOT = os.environ.get("TOOLGATE_SOURCE_ROOT", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(FAKE)))))
POLICY = os.path.join(ROOT, "tests", "mcp", "policy.json")
failures = []
passed = 0


def check(cond, what):
    global passed
    if cond:
        passed += 1
    else:
        failures.append(what)
        print("FAIL:", what, flush=True)


class Proxy:
    def __init__(self, work, extra=(), mode=None, max_line=None, socket=None):
        self.work = work
        self.record = os.path.join(work, "record.txt")
        open(self.record, "w").close()
        judge = ["--socket", socket] if socket else ["--no-daemon", "--policy", POLICY, "--log", os.path.join(work, "log")]
        cmd = [TOOLGATE, "mcp"] + judge + ["--agent", "fs-agent", "--server-name", "fs"]
        if max_line:
            cmd += ["--max-line-bytes", str(max_line)]
        cmd += list(extra) + ["--", sys.executable, FAKE, self.record] + ([mode] if mode else [])
        self.p = subprocess.Popen(cmd, cwd=work, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=open(os.path.join(work, "stderr.txt"), "ab"))
        self.buf = b""

    def send(self, obj_or_text):
        data = obj_or_text if isinstance(obj_or_text, (bytes, str)) else json.dumps(obj_or_text)
        if isinstance(data, str):
            data = data.encode()
        self.p.stdin.write(data + b"\n")
        self.p.stdin.flush()

    def read(self, timeout=5.0):
        """One line from the proxy, parsed; None on timeout or end of output."""
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([self.p.stdout], [], [], left)
            if not r:
                return None
            chunk = os.read(self.p.stdout.fileno(), 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def call(self, obj, timeout=5.0):
        self.send(obj)
        return self.read(timeout)

    def close(self, timeout=15.0):
        try:
            self.p.stdin.close()
        except BrokenPipeError:
            pass
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.p.kill()
            self.p.wait(5)
            return None

    def recorded(self):
        with open(self.record) as f:
            return f.read()


def req(i, method, params=None):
    m = {"jsonrpc": "2.0", "id": i, "method": method}
    if params is not None:
        m["params"] = params
    return m


def tool_call(i, name, args):
    return req(i, "tools/call", {"name": name, "arguments": args})


def text_of(reply):
    return reply["result"]["content"][0]["text"]


def main_session(work):
    px = Proxy(work, max_line=4096, extra=["--session", "sess-42"])
    r = px.call(req(0, "initialize", {"protocolVersion": "2025-06-18", "capabilities": {},
                                      "clientInfo": {"name": "t", "version": "1"}}))
    check(r is not None and r["id"] == 0 and r["result"]["serverInfo"]["name"] == "fake", "initialize passes through")
    px.send({"jsonrpc": "2.0", "method": "notifications/initialized"})

    r = px.call(req("p-1", "ping"))
    check(r == {"jsonrpc": "2.0", "id": "p-1", "result": {}}, "a string id comes back as a string")

    r = px.call(req(2, "tools/list"))
    names = [t["name"] for t in r["result"]["tools"]]
    check(names == ["read_file", "write_file"], "tools/list hides move_file (deny) and create_directory (ask): %s" % names)

    r = px.call(tool_call(3, "read_file", {"path": os.path.join(work, "a.txt")}))
    check(r["id"] == 3 and text_of(r).startswith("called read_file") and "isError" not in r["result"],
          "an allowed call returns the server's result")

    blocked = os.path.join(work, "blocked", "secret.txt")
    r = px.call(tool_call("w-4", "write_file", {"path": blocked, "content": "x"}))
    check(r["id"] == "w-4" and r["result"]["isError"] is True and text_of(r).startswith("toolgate: ")
          and blocked in text_of(r), "a denied call gets isError with the reason: %s" % r)
    r = px.call(tool_call(5, "move_file", {"source": "a", "destination": "b"}))
    check(r["result"]["isError"] is True and "mcp__fs__move_file" in text_of(r), "a denied tool names itself")
    r = px.call(tool_call(6, "create_directory", {"path": os.path.join(work, "d")}))
    check(r["result"]["isError"] is True and "ask_fallback" in text_of(r), "ask follows the policy's ask_fallback (deny) over stdio")

    px.send("{\"jsonrpc\":\"2.0\",\"id\":7,")
    r = px.read()
    check(r["id"] is None and r["error"]["code"] == -32700, "malformed JSON gets a parse error with id null")
    px.send('{"jsonrpc":"2.0","id":8,"method":"tools/call","method":"ping","params":{"name":"move_file"}}')
    r = px.read()
    check(r["error"]["code"] == -32600, "a repeated key is refused")
    px.send(b'{"jsonrpc":"2.0","id":9,"method":"ping","params":{"x":"\xff"}}')
    r = px.read()
    check(r["error"]["code"] == -32700, "invalid UTF-8 is refused")
    px.send("{\"jsonrpc\":\"2.0\",\"id\":10,\"method\":\"ping\",\"params\":{\"pad\":\"" + "y" * 10000 + "\"}}")
    r = px.read()
    check(r["id"] is None and r["error"]["code"] == -32600 and "4096 bytes" in r["error"]["message"],
          "an oversized line gets an error")
    r = px.call(req(11, "ping"))
    check(r is not None and r["id"] == 11, "the session goes on after an oversized line")

    batch = [tool_call(12, "read_file", {"path": os.path.join(work, "b.txt")}),
             tool_call(13, "write_file", {"path": blocked, "content": "y"}),
             {"jsonrpc": "2.0", "method": "notifications/progress", "params": {}}]
    px.send(batch)
    got = [px.read(), px.read()]
    denied = [g for g in got if isinstance(g, list)]
    answered = [g for g in got if isinstance(g, list) is False]
    check(len(denied) == 1 and denied[0][0]["id"] == 13 and denied[0][0]["result"]["isError"] is True,
          "a denied call in a batch is answered by toolgate: %s" % got)
    check(len(answered) == 1 and answered[0]["id"] == 12 and "isError" not in answered[0]["result"],
          "the allowed part of the batch reaches the server: %s" % got)

    r = px.call(req(14, "test/garbage"))
    check(r == {"jsonrpc": "2.0", "id": 14, "result": {"after": "garbage"}}, "garbage from the server is dropped")
    r = px.call(req(15, "test/big", {"bytes": 8000}))
    check(r == {"jsonrpc": "2.0", "id": 15, "result": {"after": "big"}}, "an oversized server line is dropped")

    r = px.call(req(16, "test/ask_client"))
    check(r == {"jsonrpc": "2.0", "id": "srv-1", "method": "roots/list"}, "a server request reaches the client")
    r = px.call({"jsonrpc": "2.0", "id": "srv-1", "result": {"roots": []}})
    check(r == {"jsonrpc": "2.0", "id": 16, "result": {"client_said": {"roots": []}}},
          "the client's answer reaches the server")

    code = px.close()
    check(code == 0, "the proxy exits 0 when the client closes its input (got %s)" % code)
    rec = px.recorded()
    check("blocked" not in rec, "no denied call reached the server")
    check("move_file\"" not in rec.replace('"name": "move_file"', ""), "move_file never reached the server")
    check("b.txt" in rec and "a.txt" in rec, "allowed calls reached the server")
    check(rec.rstrip().endswith("EOF"), "the server saw the end of its input")

    v = subprocess.run([TOOLGATE, "log", "verify", os.path.join(work, "log")], capture_output=True, timeout=30)
    check(v.returncode == 0, "the decision log verifies: %s" % v.stdout.decode()[-300:])
    records = []
    with open(os.path.join(work, "log", "decisions.jsonl")) as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("type") == "decision":
                records.append(rec)
    tools = [r["call"]["tool_name"] for r in records]
    check(len(records) == 6 and all(r["call"]["client"] == "mcp" for r in records),
          "every judged call is logged as mcp: %s" % tools)
    check(all(r["call"]["session_id"] == "sess-42" and r["call"]["cwd"] == work for r in records),
          "the records carry --session and the proxy's working directory")


def server_dies(work):
    px = Proxy(work)
    px.send(req(1, "test/hang"))
    px.send(req("two", "test/hang"))
    start = time.monotonic()
    px.send(req(3, "test/die", {"code": 3}))
    got = [px.read(5), px.read(5), px.read(5)]
    check(all(g is not None and g["error"]["code"] == -32000 for g in got),
          "every pending request gets an error when the server dies: %s" % got)
    check(sorted(str(g["id"]) for g in got if g) == ["1", "3", "two"], "the errors carry the pending ids")
    check("exited with status 3" in (got[0] or {}).get("error", {}).get("message", ""), "the error says why: %s" % got)
    try:
        code = px.p.wait(10)
    except subprocess.TimeoutExpired:
        code = None
    check(code == 3, "the proxy exits with the server's status (got %s)" % code)
    check(time.monotonic() - start < 8, "no hang when the server dies")
    px.close()


def server_stops_cleanly(work):
    px = Proxy(work)
    px.send(req(1, "test/hang"))
    px.send(req(2, "test/die", {"code": 0}))
    got = [px.read(5), px.read(5)]
    check(all(g is not None and g["error"]["code"] == -32000 for g in got), "pending requests fail on a clean exit too")
    try:
        code = px.p.wait(10)
    except subprocess.TimeoutExpired:
        code = None
    check(code == 69, "a server that stops while the client is there exits the proxy with 69 (got %s)" % code)
    px.close()


def signal_forwarded(work):
    px = Proxy(work)
    check(px.call(req(1, "ping")) is not None, "ping before SIGTERM")
    px.p.send_signal(signal.SIGTERM)
    try:
        code = px.p.wait(10)
    except subprocess.TimeoutExpired:
        code = None
    check(code == 128 + signal.SIGTERM, "SIGTERM ends the proxy with 143 (got %s)" % code)
    check("SIGTERM" in px.recorded(), "the server got the SIGTERM")
    px.close()


def lingering_server(work):
    px = Proxy(work, mode="linger")
    check(px.call(req(1, "ping")) is not None, "ping the lingering server")
    start = time.monotonic()
    code = px.close(timeout=20)
    took = time.monotonic() - start
    check(code == 0 and 4 < took < 12, "a server that ignores EOF and SIGTERM is killed (code %s, %.1fs)" % (code, took))


def through_daemon(work):
    sock = os.path.join(work, "toolgate.sock")
    daemon_log = os.path.join(work, "daemon-log")
    os.mkdir(daemon_log)
    d = subprocess.Popen([TOOLGATE, "serve", "--policy", POLICY, "--socket", sock, "--log", daemon_log],
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):  # at most 10 s for the socket to appear
            if os.path.exists(sock):
                break
            time.sleep(0.1)
        check(os.path.exists(sock), "the daemon listens")
        px = Proxy(work, socket=sock)
        r = px.call(tool_call(1, "move_file", {"source": "a", "destination": "b"}))
        check(r is not None and r["result"]["isError"] is True and "mcp__fs__move_file" in text_of(r),
              "the daemon's denial reaches the client: %s" % r)
        r = px.call(tool_call(2, "read_file", {"path": os.path.join(work, "a.txt")}))
        check(r is not None and text_of(r).startswith("called read_file"), "the daemon's allow reaches the server")
        r = px.call(req(3, "tools/list"))
        check(len(r["result"]["tools"]) == 4, "with a daemon answering, tools/list is not filtered")
        check(px.close() == 0, "the proxy exits 0")
        with open(os.path.join(daemon_log, "decisions.jsonl")) as f:
            tools = [json.loads(l)["call"]["tool_name"] for l in f if json.loads(l).get("type") == "decision"]
        check(tools == ["mcp__fs__move_file", "mcp__fs__read_file"], "the daemon logged both calls: %s" % tools)
    finally:
        d.terminate()
        try:
            d.wait(10)
        except subprocess.TimeoutExpired:
            d.kill()
            d.wait(5)


def startup_failures(work):
    p = subprocess.run([TOOLGATE, "mcp", "--no-daemon", "--", "/no/such/server"], cwd=work, stdin=subprocess.DEVNULL,
                       capture_output=True, timeout=30)
    check(p.returncode == 127 and b"cannot start" in p.stderr, "a missing server command exits 127")
    bad = os.path.join(work, "bad.json")
    with open(bad, "w") as f:
        f.write("{")
    marker = os.path.join(work, "started")
    p = subprocess.run([TOOLGATE, "mcp", "--policy", bad, "--", "touch", marker], cwd=work,
                       stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    check(p.returncode == 78 and not os.path.exists(marker), "a policy that fails to load stops the proxy first")
    p = subprocess.run([TOOLGATE, "mcp", "--server-name", "a__b", "--", "true"], capture_output=True, timeout=30)
    check(p.returncode == 64, "a server name with __ is a usage error")
    p = subprocess.run([TOOLGATE, "mcp", "--no-daemon"], capture_output=True, timeout=30)
    check(p.returncode == 64, "no server command is a usage error")


for case in (main_session, server_dies, server_stops_cleanly, signal_forwarded, lingering_server, through_daemon,
             startup_failures):
    with tempfile.TemporaryDirectory(prefix="tg-mcp-") as d:
        os.mkdir(os.path.join(d, "log"))
        case(os.path.realpath(d))

print("%d passed, %d failed" % (passed, len(failures)))
sys.exit(1 if failures else 0)
