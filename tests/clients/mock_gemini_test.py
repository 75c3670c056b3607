#!/usr/bin/env python3
"""Self-test of mock_gemini.py without any client: each wire format answers the
scripted turn the conversation has reached, the SSE framing parses, every
request is logged, and `result` reads tool results back out of the log."""

import json
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
MOCK = os.path.join(HERE, "mock_gemini.py")

SCRIPT = {"turns": [
    {"tool": "run_shell_command", "args": {"command": "echo ok"}},
    {"tool": "write_file", "args": {"file_path": "/p/x", "content": "é\n"}},
    {"text": "done"},
]}


def post(port, path, body):
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path),
                                 data=json.dumps(body).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.headers.get("Content-Type", ""), r.read().decode()


def sse_data(text):
    """The data payloads of an SSE stream, in order."""
    out = []
    for block in text.split("\n\n"):
        for line in block.split("\n"):
            if line.startswith("data: "):
                out.append(line[len("data: "):])
    return out


def gemini_body(n_results):
    contents = [{"role": "user", "parts": [{"text": "go"}]}]
    for i in range(n_results):
        contents.append({"role": "model", "parts": [{"functionCall": {"name": "t", "args": {}}}]})
        contents.append({"role": "user", "parts": [{"functionResponse": {
            "name": "t", "response": {"error": "Tool execution blocked: reason %d \u2192 \"q\"" % i}}}]})
    return {"contents": contents}


def check(cond, what):
    if not cond:
        print("FAIL:", what)
        sys.exit(1)


def main():
    with tempfile.TemporaryDirectory() as d:
        script = os.path.join(d, "script.json")
        log = os.path.join(d, "requests.jsonl")
        port_file = os.path.join(d, "port")
        with open(script, "w") as f:
            json.dump(SCRIPT, f)
        srv = subprocess.Popen([sys.executable, MOCK, "serve", "--script", script, "--log", log,
                                "--port-file", port_file, "--lifetime", "60"])
        try:
            for _ in range(100):
                if os.path.exists(port_file):
                    break
                time.sleep(0.05)
            port = int(open(port_file).read())
            path = "/v1beta/models/m:streamGenerateContent?alt=sse"

            # Gemini: the turn follows the number of functionResponse parts.
            for n, expect in [(0, "run_shell_command"), (1, "write_file"), (2, None), (3, None)]:
                ctype, text = post(port, path, gemini_body(n))
                check(ctype.startswith("text/event-stream"), "gemini SSE content type")
                chunks = [json.loads(x) for x in sse_data(text)]
                check(len(chunks) == 1, "one gemini chunk")
                part = chunks[0]["candidates"][0]["content"]["parts"][0]
                if expect:
                    check(part["functionCall"]["name"] == expect, "gemini turn %d" % n)
                else:
                    check(part.get("text") == "done", "gemini text turn after %d results" % n)
            _, text = post(port, "/v1beta/models/m:generateContent", gemini_body(1))
            check(json.loads(text)["candidates"][0]["content"]["parts"][0]["functionCall"]["args"]
                  == {"file_path": "/p/x", "content": "é\n"}, "gemini non-streaming args")

            # OpenAI chat completions, streaming: tool call arguments arrive as a JSON string.
            msgs = [{"role": "user", "content": "go"}]
            _, text = post(port, "/v1/chat/completions", {"model": "x", "stream": True, "messages": msgs})
            data = sse_data(text)
            check(data[-1] == "[DONE]", "chat stream ends with [DONE]")
            chunks = [json.loads(x) for x in data[:-1]]
            call = chunks[0]["choices"][0]["delta"]["tool_calls"][0]
            check(call["function"]["name"] == "run_shell_command", "chat first turn")
            check(json.loads(call["function"]["arguments"]) == {"command": "echo ok"}, "chat args")
            check(chunks[-1]["choices"][0]["finish_reason"] == "tool_calls", "chat finish reason")
            msgs += [{"role": "assistant", "tool_calls": [call]},
                     {"role": "tool", "tool_call_id": call["id"], "content": "ok"},
                     {"role": "assistant", "tool_calls": [call]},
                     {"role": "tool", "tool_call_id": call["id"], "content": "Denied: why"}]
            _, text = post(port, "/v1/chat/completions", {"model": "x", "stream": False, "messages": msgs})
            check(json.loads(text)["choices"][0]["message"]["content"] == "done", "chat text turn")

            # OpenAI responses: named events, a function_call item first.
            _, text = post(port, "/v1/responses", {"model": "x", "stream": True, "input": [
                {"role": "user", "content": "go"},
                {"type": "function_call_output", "call_id": "c", "output": "ok"}]})
            events = [json.loads(x) for x in sse_data(text)]
            check([e["type"] for e in events][-1] == "response.completed", "responses completes")
            item = events[-1]["response"]["output"][0]
            check(item["type"] == "function_call" and item["name"] == "write_file", "responses turn")
        finally:
            srv.terminate()
            srv.wait(timeout=10)

        # The log holds every request; `result` prints tool results unescaped.
        with open(log) as f:
            recs = [json.loads(line) for line in f]
        check(len(recs) == 8, "eight requests logged, got %d" % len(recs))
        r = subprocess.run([sys.executable, MOCK, "result", log, "1"], capture_output=True,
                           text=True, timeout=10)
        check(r.returncode == 0 and r.stdout.strip() == 'Tool execution blocked: reason 1 \u2192 "q"',
              "result 1: %r" % r.stdout)
        r = subprocess.run([sys.executable, MOCK, "result", log, "7"], capture_output=True,
                           text=True, timeout=10)
        check(r.returncode == 1, "a result no request carries is an error")
    print("PASS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
