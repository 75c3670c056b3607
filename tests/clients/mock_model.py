#!/usr/bin/env python3
"""A scripted mock *model* server on 127.0.0.1 for driving real agent CLIs offline.

It speaks the model APIs the agent CLIs call (standard library only, one thread per
connection):
  POST .../messages            Anthropic Messages (streaming SSE or plain JSON)
  POST .../messages/count_tokens
  POST .../responses           OpenAI Responses (streaming SSE)
  POST .../chat/completions    OpenAI Chat Completions (streaming SSE or plain JSON)
  GET  .../models              an empty model list

Every request (method, path, selected headers, parsed body) is appended to the log file
as one JSON line, so a test can read what the agent sent back after each tool call.

The script is a JSON file {"turns": [TURN, ...]}. A TURN is either
  {"text": "final answer"}                                   a text-only answer, or
  {"tool": "NAME", "input": {...}, "kind": "function_call"}  one tool call
(kind is only for the Responses API: "function_call" (default), "local_shell_call"
with input {"command": [argv...]}, or "custom_tool_call" with input {"input": "text"}).
Which turn answers a request is decided from the request itself, not from a counter:
the number of tool results the conversation already holds. So retries, parallel side
requests and requests without tools (titles, summaries: they get a short text answer)
cannot shift the script. Past the last turn the answer is the text "done".

Usage:
  mock_model.py serve --script FILE --log FILE --port-file FILE [--max-seconds N]
  mock_model.py results LOG     print every tool result text the agent sent, one JSON
                                string per line, in order of first appearance
  mock_model.py result LOG N    print the N-th tool result (0-based) as the agent first sent
                                it, raw; exit 1 if no request carried it
"""

import argparse
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 64 * 1024 * 1024
LOGGED_HEADERS = ("user-agent", "anthropic-version", "anthropic-beta", "x-api-key",
                  "authorization", "content-type", "accept")


# ---------------------------------------------------------------------------
# Reading conversations: how many tool results a request carries, and their text.

def _text_of(content):
    """Flattens a tool result's content (string, list of blocks, or object) to text."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(_text_of(c) for c in content)
    if isinstance(content, dict):
        for key in ("text", "output", "content"):
            if key in content:
                return _text_of(content[key])
        return json.dumps(content, sort_keys=True)
    return str(content)


def tool_results(body):
    """Every tool result in a request body (any of the three dialects), in order."""
    out = []
    if not isinstance(body, dict):
        return out
    # Anthropic: user messages with tool_result blocks.
    for msg in body.get("messages") or []:
        if not isinstance(msg, dict):
            continue
        if msg.get("role") == "tool":  # Chat Completions
            out.append(_text_of(msg.get("content")))
            continue
        content = msg.get("content")
        if isinstance(content, list):
            for block in content:
                if isinstance(block, dict) and block.get("type") == "tool_result":
                    out.append(_text_of(block.get("content")))
    # Responses: input items of the *_output types.
    items = body.get("input")
    if isinstance(items, list):
        for item in items:
            if isinstance(item, dict) and str(item.get("type", "")).endswith("_call_output"):
                out.append(_text_of(item.get("output")))
    return out


def has_tools(body):
    return isinstance(body, dict) and bool(body.get("tools"))


# ---------------------------------------------------------------------------
# Writing answers.

class Script:
    def __init__(self, path):
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
        self.turns = data.get("turns", [])
        if not isinstance(self.turns, list):
            raise ValueError(f"{path}: 'turns' must be a list")

    def turn_for(self, body):
        if not has_tools(body):
            return {"text": "ok"}
        n = len(tool_results(body))
        if n < len(self.turns):
            return self.turns[n]
        return {"text": "done"}


def sse(event, data, named=True):
    head = f"event: {event}\n" if named else ""
    return (head + "data: " + json.dumps(data) + "\n\n").encode()


def anthropic_blocks(turn, n):
    if "tool" in turn:
        return [{"type": "tool_use", "id": f"toolu_{n:04d}_{int(time.time() * 1000) % 100000}",
                 "name": turn["tool"], "input": turn.get("input", {})}], "tool_use"
    return [{"type": "text", "text": turn.get("text", "")}], "end_turn"


def anthropic_json(body, turn, n):
    blocks, stop = anthropic_blocks(turn, n)
    return {"id": f"msg_{n:04d}", "type": "message", "role": "assistant",
            "model": body.get("model", "mock"), "content": blocks, "stop_reason": stop,
            "stop_sequence": None, "usage": {"input_tokens": 10, "output_tokens": 5}}


def anthropic_sse(body, turn, n):
    blocks, stop = anthropic_blocks(turn, n)
    msg = anthropic_json(body, turn, n)
    msg.update(content=[], stop_reason=None)
    yield sse("message_start", {"type": "message_start", "message": msg})
    for i, block in enumerate(blocks):
        if block["type"] == "text":
            yield sse("content_block_start", {"type": "content_block_start", "index": i,
                                              "content_block": {"type": "text", "text": ""}})
            yield sse("content_block_delta", {"type": "content_block_delta", "index": i,
                                              "delta": {"type": "text_delta",
                                                        "text": block["text"]}})
        else:
            start = dict(block, input={})
            yield sse("content_block_start", {"type": "content_block_start", "index": i,
                                              "content_block": start})
            yield sse("content_block_delta", {"type": "content_block_delta", "index": i,
                                              "delta": {"type": "input_json_delta",
                                                        "partial_json": json.dumps(block["input"])}})
        yield sse("content_block_stop", {"type": "content_block_stop", "index": i})
    yield sse("message_delta", {"type": "message_delta",
                                "delta": {"stop_reason": stop, "stop_sequence": None},
                                "usage": {"output_tokens": 5}})
    yield sse("message_stop", {"type": "message_stop"})


def responses_item(turn, n):
    if "tool" not in turn:
        return {"type": "message", "id": f"msg_{n:04d}", "role": "assistant",
                "status": "completed",
                "content": [{"type": "output_text", "text": turn.get("text", ""),
                             "annotations": []}]}
    kind = turn.get("kind", "function_call")
    call_id = f"call_{n:04d}"
    if kind == "local_shell_call":
        return {"type": "local_shell_call", "id": f"lsh_{n:04d}", "call_id": call_id,
                "status": "completed",
                "action": dict({"type": "exec", "env": {}}, **turn.get("input", {}))}
    if kind == "custom_tool_call":
        return {"type": "custom_tool_call", "id": f"ctc_{n:04d}", "call_id": call_id,
                "status": "completed", "name": turn["tool"],
                "input": turn.get("input", {}).get("input", "")}
    return {"type": "function_call", "id": f"fc_{n:04d}", "call_id": call_id,
            "status": "completed", "name": turn["tool"],
            "arguments": json.dumps(turn.get("input", {}))}


def responses_sse(body, turn, n):
    rid = f"resp_{n:04d}_{int(time.time() * 1000) % 100000}"
    base = {"id": rid, "object": "response", "created_at": int(time.time()),
            "model": body.get("model", "mock"), "status": "in_progress", "output": []}
    yield sse("response.created", {"type": "response.created", "response": base})
    item = responses_item(turn, n)
    yield sse("response.output_item.added", {"type": "response.output_item.added",
                                             "output_index": 0, "item": item})
    if item["type"] == "message":
        yield sse("response.output_text.delta", {"type": "response.output_text.delta",
                                                 "item_id": item["id"], "output_index": 0,
                                                 "content_index": 0,
                                                 "delta": item["content"][0]["text"]})
    yield sse("response.output_item.done", {"type": "response.output_item.done",
                                            "output_index": 0, "item": item})
    done = dict(base, status="completed", output=[item],
                usage={"input_tokens": 10, "input_tokens_details": {"cached_tokens": 0},
                       "output_tokens": 5, "output_tokens_details": {"reasoning_tokens": 0},
                       "total_tokens": 15})
    yield sse("response.completed", {"type": "response.completed", "response": done})


def chat_message(turn, n):
    if "tool" in turn:
        return {"role": "assistant", "content": None,
                "tool_calls": [{"id": f"call_{n:04d}", "type": "function",
                                "function": {"name": turn["tool"],
                                             "arguments": json.dumps(turn.get("input", {}))}}]
                }, "tool_calls"
    return {"role": "assistant", "content": turn.get("text", "")}, "stop"


def chat_json(body, turn, n):
    msg, finish = chat_message(turn, n)
    return {"id": f"chatcmpl-{n}", "object": "chat.completion", "created": int(time.time()),
            "model": body.get("model", "mock"),
            "choices": [{"index": 0, "message": msg, "finish_reason": finish}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}}


def chat_sse(body, turn, n):
    msg, finish = chat_message(turn, n)
    head = {"id": f"chatcmpl-{n}", "object": "chat.completion.chunk",
            "created": int(time.time()), "model": body.get("model", "mock")}
    delta = {"role": "assistant"}
    if msg.get("tool_calls"):
        delta["tool_calls"] = [dict(tc, index=i) for i, tc in enumerate(msg["tool_calls"])]
    else:
        delta["content"] = msg["content"]
    yield sse("", dict(head, choices=[{"index": 0, "delta": delta, "finish_reason": None}]),
              named=False)
    yield sse("", dict(head, choices=[{"index": 0, "delta": {}, "finish_reason": finish}],
                       usage={"prompt_tokens": 10, "completion_tokens": 5,
                              "total_tokens": 15}), named=False)
    yield b"data: [DONE]\n\n"


# ---------------------------------------------------------------------------
# The server.

class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "mock-model/1"

    def log_message(self, fmt, *args):  # quiet: the request log is the record
        pass

    def _record(self, body):
        entry = {"time": time.time(), "method": self.command, "path": self.path,
                 "headers": {k: self.headers[k] for k in LOGGED_HEADERS if k in self.headers},
                 "body": body}
        with self.server.log_lock, open(self.server.log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(entry) + "\n")

    def _send_json(self, obj, status=200):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_sse(self, chunks):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for chunk in chunks:
            self.wfile.write(chunk)
            self.wfile.flush()

    def do_GET(self):
        self._record(None)
        path = self.path.split("?", 1)[0]
        if path.endswith("/models"):
            self._send_json({"object": "list", "data": [], "models": []})
        else:
            self._send_json({"error": {"type": "not_found", "message": path}}, 404)

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            self._send_json({"error": {"message": "body too large"}}, 413)
            return
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else {}
        except ValueError:
            body = {"unparsed": raw[:4096].decode("utf-8", "replace")}
        self._record(body)
        path = self.path.split("?", 1)[0]
        script = self.server.script
        turn = script.turn_for(body)
        n = len(tool_results(body))
        stream = isinstance(body, dict) and body.get("stream") is True
        if path.endswith("/messages/count_tokens"):
            self._send_json({"input_tokens": 10})
        elif path.endswith("/messages"):
            if stream:
                self._send_sse(anthropic_sse(body, turn, n))
            else:
                self._send_json(anthropic_json(body, turn, n))
        elif path.endswith("/responses"):
            self._send_sse(responses_sse(body, turn, n))
        elif path.endswith("/chat/completions"):
            if stream:
                self._send_sse(chat_sse(body, turn, n))
            else:
                self._send_json(chat_json(body, turn, n))
        else:
            self._send_json({"error": {"type": "not_found", "message": path}}, 404)


def serve(args):
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.script = Script(args.script)
    server.log_path = args.log
    server.log_lock = threading.Lock()
    open(args.log, "a").close()
    tmp = args.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.replace(tmp, args.port_file)
    # Bounded in time: the server stops by itself even if the test forgets it.
    timer = threading.Timer(args.max_seconds, server.shutdown)
    timer.daemon = True
    timer.start()
    server.serve_forever(poll_interval=0.2)
    return 0


def results(args):
    seen = set()
    with open(args.log, encoding="utf-8") as f:
        for line in f:
            entry = json.loads(line)
            for text in tool_results(entry.get("body")):
                if text not in seen:
                    seen.add(text)
                    print(json.dumps(text))
    return 0


def result(args):
    with open(args.log, encoding="utf-8") as f:
        for line in f:
            found = tool_results(json.loads(line).get("body"))
            if len(found) > args.index:
                sys.stdout.write(found[args.index])
                return 0
    sys.stderr.write(f"no request carried tool result #{args.index}\n")
    return 1


def main():
    p = argparse.ArgumentParser(description="scripted mock model server")
    sub = p.add_subparsers(dest="cmd", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--script", required=True)
    s.add_argument("--log", required=True)
    s.add_argument("--port-file", required=True)
    s.add_argument("--port", type=int, default=0)
    s.add_argument("--max-seconds", type=float, default=300)
    r = sub.add_parser("results")
    r.add_argument("log")
    one = sub.add_parser("result")
    one.add_argument("log")
    one.add_argument("index", type=int)
    args = p.parse_args()
    return {"serve": serve, "results": results, "result": result}[args.cmd](args)


if __name__ == "__main__":
    sys.exit(main())
