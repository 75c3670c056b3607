#!/usr/bin/env python3
"""A scripted MCP server for the proxy tests: newline-delimited JSON-RPC on stdio.

usage: fake_server.py RECORD [linger]
Every line it receives is appended to RECORD, so a test can prove what reached
the server. "linger" ignores SIGTERM and end of input (the proxy must SIGKILL).
Methods beyond MCP's own script failures: test/die, test/garbage, test/ask_client,
test/big, test/hang.
"""
import json
import signal
import sys
import time

record_path = sys.argv[1]
linger = len(sys.argv) > 2 and sys.argv[2] == "linger"
record = open(record_path, "a", buffering=1)


def on_term(signum, frame):
    record.write("SIGTERM\n")
    sys.exit(0)


signal.signal(signal.SIGTERM, signal.SIG_IGN if linger else on_term)


def send(obj):
    sys.stdout.write(json.dumps(obj) + "\n")
    sys.stdout.flush()


def reply(msg, result):
    send({"jsonrpc": "2.0", "id": msg["id"], "result": result})


TOOLS = [{"name": n, "inputSchema": {"type": "object"}} for n in
         ("read_file", "write_file", "move_file", "create_directory")]
waiting_for_client = {}

for raw in sys.stdin:
    record.write(raw if raw.endswith("\n") else raw + "\n")
    msg = json.loads(raw)
    for m in (msg if isinstance(msg, list) else [msg]):
        method = m.get("method")
        if method is None:  # the client's answer to our request
            original = waiting_for_client.pop(m.get("id"), None)
            if original is not None:
                reply(original, {"client_said": m.get("result")})
            continue
        if "id" not in m:
            continue
        if method == "initialize":
            reply(m, {"protocolVersion": "2025-06-18", "capabilities": {"tools": {}},
                      "serverInfo": {"name": "fake", "version": "1"}})
        elif method == "tools/list":
            reply(m, {"tools": TOOLS})
        elif method == "tools/call":
            p = m["params"]
            reply(m, {"content": [{"type": "text", "text": "called %s %s" % (p["name"], json.dumps(p.get("arguments", {}), sort_keys=True))}]})
        elif method == "test/die":
            sys.exit(m["params"]["code"])
        elif method == "test/garbage":
            sys.stdout.write("this is not json\n")
            reply(m, {"after": "garbage"})
        elif method == "test/big":
            sys.stdout.write('{"jsonrpc":"2.0","method":"notifications/message","params":{"data":"%s"}}\n' % ("x" * m["params"]["bytes"]))
            reply(m, {"after": "big"})
        elif method == "test/ask_client":
            waiting_for_client["srv-1"] = m
            send({"jsonrpc": "2.0", "id": "srv-1", "method": "roots/list"})
        elif method == "test/hang":
            pass
        else:
            reply(m, {})

record.write("EOF\n")
if linger:
    for _ in range(60):  # bounded: the proxy is expected to kill it long before
        time.sleep(1)
