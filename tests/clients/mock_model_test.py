#!/usr/bin/env python3
"""Tests mock_model.py itself, without any agent CLI: each dialect's answers parse, the turn is
chosen from the tool results a request carries, and every request is logged."""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
MOCK = os.path.join(HERE, "mock_model.py")
failures = 0


def check(cond, what):
    global failures
    if not cond:
        failures += 1
        print(f"FAIL: {what}")


def post(port, path, body):
    req = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.headers.get("Content-Type", ""), r.read().decode()


def sse_events(text):
    """[(event name or None, data object or the raw '[DONE]')] of an SSE body."""
    out = []
    for block in text.split("\n\n"):
        if not block.strip():
            continue
        name, data = None, None
        for line in block.split("\n"):
            if line.startswith("event: "):
                name = line[7:]
            elif line.startswith("data: "):
                data = line[6:]
        out.append((name, data if data == "[DONE]" else json.loads(data)))
    return out


def main():
    with tempfile.TemporaryDirectory() as d:
        script = os.path.join(d, "script.json")
        with open(script, "w") as f:
            json.dump({"turns": [{"tool": "Bash", "input": {"command": "ls"}},
                                 {"text": "bye"}]}, f)
        log = os.path.join(d, "log.jsonl")
        port_file = os.path.join(d, "port")
        server = subprocess.Popen([sys.executable, MOCK, "serve", "--script", script, "--log", log,
                                   "--port-file", port_file, "--max-seconds", "30"])
        try:
            for _ in range(100):
                if os.path.exists(port_file):
                    break
                time.sleep(0.05)
            port = int(open(port_file).read())
            tools = [{"name": "Bash"}]

            # Anthropic, streaming: turn 0 is the tool call, as message_start ... message_stop.
            ctype, body = post(port, "/v1/messages?beta=true",
                               {"model": "m", "stream": True, "tools": tools,
                                "messages": [{"role": "user", "content": "hi"}]})
            ev = sse_events(body)
            check(ctype.startswith("text/event-stream"), "anthropic stream content type")
            check([e[0] for e in ev] == ["message_start", "content_block_start", "content_block_delta",
                                         "content_block_stop", "message_delta", "message_stop"],
                  f"anthropic event order: {[e[0] for e in ev]}")
            check(ev[1][1]["content_block"]["name"] == "Bash", "anthropic tool name")
            check(json.loads(ev[2][1]["delta"]["partial_json"]) == {"command": "ls"}, "anthropic input")
            check(ev[4][1]["delta"]["stop_reason"] == "tool_use", "anthropic stop_reason tool_use")

            # Anthropic, plain JSON, one tool result in the conversation: turn 1, the text.
            history = [{"role": "user", "content": "hi"},
                       {"role": "assistant", "content": [{"type": "tool_use", "id": "t", "name": "Bash",
                                                          "input": {}}]},
                       {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t",
                                                     "content": [{"type": "text", "text": "REASON1"}]}]}]
            _, body = post(port, "/v1/messages", {"model": "m", "tools": tools, "messages": history})
            msg = json.loads(body)
            check(msg["content"] == [{"type": "text", "text": "bye"}] and msg["stop_reason"] == "end_turn",
                  f"anthropic json turn 1: {msg}")

            # A request without tools (a title, a summary) gets text and does not shift the script.
            _, body = post(port, "/v1/messages", {"model": "m", "messages": history})
            check(json.loads(body)["content"][0]["text"] == "ok", "no-tools request answered with text")

            # Responses: a function_call item, then response.completed.
            _, body = post(port, "/v1/responses", {"model": "m", "stream": True, "tools": tools,
                                                   "input": [{"type": "message", "role": "user",
                                                              "content": []}]})
            ev = sse_events(body)
            names = [e[0] for e in ev]
            check(names[0] == "response.created" and names[-1] == "response.completed",
                  f"responses event order: {names}")
            item = ev[-1][1]["response"]["output"][0]
            check(item["type"] == "function_call" and json.loads(item["arguments"]) == {"command": "ls"},
                  f"responses function_call: {item}")
            _, body = post(port, "/v1/responses", {"model": "m", "stream": True, "tools": tools, "input": [
                {"type": "function_call", "call_id": "c", "name": "Bash", "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c", "output": "REASON2"}]})
            item = sse_events(body)[-1][1]["response"]["output"][0]
            check(item["type"] == "message" and item["content"][0]["text"] == "bye",
                  f"responses turn 1: {item}")

            # Chat Completions, streaming and not.
            _, body = post(port, "/v1/chat/completions", {"model": "m", "stream": True, "tools": tools,
                                                          "messages": [{"role": "user", "content": "hi"}]})
            ev = sse_events(body)
            check(ev[-1][1] == "[DONE]", "chat stream ends with [DONE]")
            call = ev[0][1]["choices"][0]["delta"]["tool_calls"][0]
            check(call["function"]["name"] == "Bash" and call["index"] == 0, f"chat tool call: {call}")
            check(ev[1][1]["choices"][0]["finish_reason"] == "tool_calls", "chat finish_reason")
            _, body = post(port, "/v1/chat/completions", {"model": "m", "tools": tools, "messages": [
                {"role": "user", "content": "hi"}, {"role": "tool", "tool_call_id": "c", "content": "R3"}]})
            check(json.loads(body)["choices"][0]["message"]["content"] == "bye", "chat json turn 1")
        finally:
            server.terminate()
            server.wait(timeout=10)

        with open(log) as f:
            entries = [json.loads(line) for line in f]
        check(len(entries) == 7, f"7 requests logged, got {len(entries)}")
        check(entries[0]["path"] == "/v1/messages?beta=true", "log keeps the path")
        out = subprocess.run([sys.executable, MOCK, "results", log], capture_output=True, text=True)
        check(out.stdout.split("\n")[:3] == ['"REASON1"', '"REASON2"', '"R3"'],
              f"results lists tool results in order: {out.stdout!r}")
        one = subprocess.run([sys.executable, MOCK, "result", log, "0"], capture_output=True, text=True)
        check(one.returncode == 0 and one.stdout == "REASON1", f"result 0: {one.stdout!r}")
        none = subprocess.run([sys.executable, MOCK, "result", log, "9"], capture_output=True, text=True)
        check(none.returncode == 1, "result past the end fails")

    print("mock_model: ok" if failures == 0 else f"mock_model: {failures} failure(s)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
