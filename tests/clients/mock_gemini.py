#!/usr/bin/env python3
"""A scripted mock *model* server on 127.0.0.1 for the real-client tests.

It speaks the two wire formats the Gemini CLI and the GitHub Copilot CLI use
when pointed at a custom endpoint:

  * Gemini: POST .../models/MODEL:streamGenerateContent?alt=sse (SSE) and
    POST .../models/MODEL:generateContent (one JSON reply), plus
    :countTokens;
  * OpenAI-compatible: POST .../chat/completions (SSE when "stream" is true,
    one JSON reply otherwise), POST .../responses (SSE), GET .../models.

The script is a JSON file {"turns": [TURN, ...]} where a TURN is either
{"tool": NAME, "args": {...}} (the model calls a tool) or {"text": "..."}
(the model answers). Which turn a request gets is derived from the request
itself, not from a counter: it is the number of tool results already in the
conversation. A client that retries a request therefore gets the same answer
again and never shifts the script; a request that carries as many tool
results as there are tool turns, or more, gets the last (text) turn.

Every request is appended to the log file as one JSON line
{"seq", "method", "path", "turn", "body"} before it is answered, so a test can
check what the client sent back to the model (for example a deny reason in a
tool result).

Usage:
  mock_gemini.py serve --script FILE --log FILE --port-file FILE [--port N]
      The port actually bound is written to --port-file once the server
      listens. The server stops by itself after --lifetime seconds (300).
  mock_gemini.py result LOG N
      Prints the N-th (0-based) tool result the client sent back to the
      model, taken from the first logged request that carries it; exit 1
      when no request carries it.
"""

import argparse
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 32 * 1024 * 1024


class Mock:
    def __init__(self, script, log_path):
        self.turns = script["turns"]
        if not self.turns or "text" not in self.turns[-1]:
            raise ValueError("the script's last turn must be a text turn")
        self.log_path = log_path
        self.lock = threading.Lock()
        self.seq = 0

    def turn_for(self, tool_results):
        # The k-th tool turn is answered once k tool results are present.
        tool_turns = [t for t in self.turns if "tool" in t]
        if tool_results < len(tool_turns):
            return tool_results, tool_turns[tool_results]
        return len(self.turns) - 1, self.turns[-1]

    def log(self, method, path, turn, body):
        with self.lock:
            self.seq += 1
            rec = {"seq": self.seq, "method": method, "path": path,
                   "turn": turn, "body": body}
            with open(self.log_path, "a", encoding="utf-8") as f:
                f.write(json.dumps(rec) + "\n")


def gemini_candidate(turn):
    if "tool" in turn:
        part = {"functionCall": {"name": turn["tool"], "args": turn["args"]}}
    else:
        part = {"text": turn["text"]}
    return {"candidates": [{"content": {"parts": [part], "role": "model"},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 10,
                              "candidatesTokenCount": 5,
                              "totalTokenCount": 15},
            "modelVersion": "mock"}


def chat_chunks(turn, model):
    cid = "chatcmpl-" + uuid.uuid4().hex[:12]
    base = {"id": cid, "object": "chat.completion.chunk",
            "created": int(time.time()), "model": model}
    if "tool" in turn:
        delta = {"role": "assistant", "content": None, "tool_calls": [{
            "index": 0, "id": "call_" + uuid.uuid4().hex[:12],
            "type": "function",
            "function": {"name": turn["tool"],
                         "arguments": json.dumps(turn["args"])}}]}
        finish = "tool_calls"
    else:
        delta = {"role": "assistant", "content": turn["text"]}
        finish = "stop"
    yield dict(base, choices=[{"index": 0, "delta": delta,
                               "finish_reason": None}])
    yield dict(base, choices=[{"index": 0, "delta": {},
                               "finish_reason": finish}],
               usage={"prompt_tokens": 10, "completion_tokens": 5,
                      "total_tokens": 15})


def chat_message(turn, model):
    if "tool" in turn:
        msg = {"role": "assistant", "content": None, "tool_calls": [{
            "id": "call_" + uuid.uuid4().hex[:12], "type": "function",
            "function": {"name": turn["tool"],
                         "arguments": json.dumps(turn["args"])}}]}
        finish = "tool_calls"
    else:
        msg = {"role": "assistant", "content": turn["text"]}
        finish = "stop"
    return {"id": "chatcmpl-" + uuid.uuid4().hex[:12],
            "object": "chat.completion", "created": int(time.time()),
            "model": model,
            "choices": [{"index": 0, "message": msg, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5,
                      "total_tokens": 15}}


def responses_events(turn, model):
    rid = "resp_" + uuid.uuid4().hex[:12]
    if "tool" in turn:
        item = {"type": "function_call", "id": "fc_" + uuid.uuid4().hex[:12],
                "call_id": "call_" + uuid.uuid4().hex[:12],
                "name": turn["tool"], "arguments": json.dumps(turn["args"]),
                "status": "completed"}
    else:
        item = {"type": "message", "id": "msg_" + uuid.uuid4().hex[:12],
                "role": "assistant", "status": "completed",
                "content": [{"type": "output_text", "text": turn["text"],
                             "annotations": []}]}
    resp = {"id": rid, "object": "response", "created_at": int(time.time()),
            "model": model, "status": "in_progress", "output": []}
    yield "response.created", {"type": "response.created", "response": resp}
    yield "response.output_item.added", {
        "type": "response.output_item.added", "output_index": 0,
        "item": item}
    yield "response.output_item.done", {
        "type": "response.output_item.done", "output_index": 0, "item": item}
    done = dict(resp, status="completed", output=[item],
                usage={"input_tokens": 10, "output_tokens": 5,
                       "total_tokens": 15})
    yield "response.completed", {"type": "response.completed",
                                 "response": done}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-model/1"

    def log_message(self, fmt, *args):  # keep the test output clean
        pass

    def read_body(self):
        n = int(self.headers.get("Content-Length") or 0)
        if n < 0 or n > MAX_BODY:
            raise ValueError("body too large")
        raw = self.rfile.read(n) if n else b""
        if not raw:
            return {}
        try:
            return json.loads(raw)
        except ValueError:
            return {"_raw": raw.decode("utf-8", "replace")}

    def send_json(self, obj, status=200):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def send_sse(self, events):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        for name, obj in events:
            line = ""
            if name:
                line += "event: " + name + "\n"
            line += "data: " + (obj if isinstance(obj, str)
                                else json.dumps(obj)) + "\n\n"
            self.wfile.write(line.encode())
            self.wfile.flush()
        self.close_connection = True

    def do_GET(self):
        mock = self.server.mock
        mock.log("GET", self.path, None, None)
        if self.path.rstrip("/").endswith("/models"):
            self.send_json({"object": "list", "data": [
                {"id": self.server.model, "object": "model",
                 "created": 0, "owned_by": "mock"}]})
        else:
            self.send_json({"error": {"code": 404, "message": "not found"}},
                           404)

    def do_POST(self):
        mock = self.server.mock
        try:
            body = self.read_body()
        except ValueError as e:
            self.send_json({"error": {"code": 413, "message": str(e)}}, 413)
            return
        path = self.path.split("?", 1)[0]
        model = body.get("model") or self.server.model
        if path.endswith(":countTokens"):
            mock.log("POST", self.path, None, body)
            self.send_json({"totalTokens": 10})
        elif path.endswith(":streamGenerateContent") or \
                path.endswith(":generateContent"):
            idx, turn = mock.turn_for(len(tool_results(body)))
            mock.log("POST", self.path, idx, body)
            if path.endswith(":streamGenerateContent"):
                self.send_sse([(None, gemini_candidate(turn))])
            else:
                self.send_json(gemini_candidate(turn))
        elif path.endswith("/chat/completions"):
            idx, turn = mock.turn_for(len(tool_results(body)))
            mock.log("POST", self.path, idx, body)
            if body.get("stream"):
                events = [(None, c) for c in chat_chunks(turn, model)]
                self.send_sse(events + [(None, "[DONE]")])
            else:
                self.send_json(chat_message(turn, model))
        elif path.endswith("/responses"):
            idx, turn = mock.turn_for(len(tool_results(body)))
            mock.log("POST", self.path, idx, body)
            self.send_sse(list(responses_events(turn, model)))
        else:
            mock.log("POST", self.path, None, body)
            self.send_json({"error": {"code": 404, "message": "not found"}},
                           404)


def text_of(value):
    """The strings inside a tool result, one per line, unescaped, so a test
    can look for a reason text in it verbatim."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict):
        return "\n".join(text_of(v) for v in value.values())
    if isinstance(value, list):
        return "\n".join(text_of(v) for v in value)
    return "" if value is None else json.dumps(value)


def tool_results(body):
    """The tool results a request carries, in order, as text."""
    out = []
    for content in body.get("contents") or []:          # Gemini
        for part in content.get("parts") or []:
            if isinstance(part, dict) and "functionResponse" in part:
                out.append(text_of(part["functionResponse"].get("response")))
    for m in body.get("messages") or []:                # OpenAI chat
        if isinstance(m, dict) and m.get("role") == "tool":
            out.append(text_of(m.get("content")))
    items = body.get("input")                           # OpenAI responses
    if isinstance(items, list):
        for it in items:
            if isinstance(it, dict) and it.get("type") == "function_call_output":
                out.append(text_of(it.get("output")))
    return out


def cmd_result(args):
    with open(args.log, encoding="utf-8") as f:
        for line in f:
            body = json.loads(line).get("body") or {}
            results = tool_results(body)
            if len(results) > args.n:
                print(results[args.n])
                return 0
    print("no request carries tool result %d" % args.n, file=sys.stderr)
    return 1


def cmd_serve(args):
    with open(args.script, encoding="utf-8") as f:
        mock = Mock(json.load(f), args.log)
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    srv.mock = mock
    srv.model = args.model
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(srv.server_address[1]))
    os.replace(tmp, args.port_file)
    # Bounded in time: a test that forgets to stop us cannot leave us behind.
    timer = threading.Timer(args.lifetime, srv.shutdown)
    timer.daemon = True
    timer.start()
    srv.serve_forever()
    return 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    sp = sub.add_parser("serve")
    sp.add_argument("--script", required=True)
    sp.add_argument("--log", required=True)
    sp.add_argument("--port-file", required=True)
    sp.add_argument("--port", type=int, default=0)
    sp.add_argument("--model", default="mock-model")
    sp.add_argument("--lifetime", type=float, default=300.0)
    rp = sub.add_parser("result")
    rp.add_argument("log")
    rp.add_argument("n", type=int)
    args = ap.parse_args()
    return cmd_serve(args) if args.cmd == "serve" else cmd_result(args)


if __name__ == "__main__":
    sys.exit(main())
