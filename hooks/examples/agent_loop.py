#!/usr/bin/env python3
"""A minimal agent loop whose tools are gated by toolgate, in-process, through ctypes.

Every tool call the "model" asks for goes through an onPreToolUse-style check
(libtoolgate's toolgate_evaluate_ex) before it runs. An allowed call runs; a
denied call does not, and the model gets the reason back as the tool's result
so it can correct itself; an "ask" call is not run either, since no human is
watching here. The model is a script: no network, no API key.

Usage:
  agent_loop.py [--lib PATH/libtoolgate.so] [--policy FILE] [--workdir DIR]
                [--log-dir DIR] [--transcript FILE.json]

--workdir (default: a temporary directory, removed at the end) gets project/ (the agent's
working directory) and home/ (what ~ means, for the policy and for the shell
the tools run). Without --policy the library's embedded default policy is used,
with the agent identity "claude-dev" (the developer profile).
"""
import argparse
import ctypes
import ctypes.util
import json
import os
import shutil
import subprocess
import sys
import tempfile

ALLOW, ASK, DENY = 0, 1, 2
VERDICT_NAMES = {ALLOW: "allow", ASK: "ask", DENY: "deny"}


class ToolgateError(Exception):
    pass


class Toolgate:
    """A toolgate engine opened through the C ABI (include/toolgate/toolgate.h)."""

    def __init__(self, lib_path=None, policy_path=None, home=None, log_dir=None):
        path = lib_path or ctypes.util.find_library("toolgate") or "libtoolgate.so.0"
        self._lib = lib = ctypes.CDLL(path)
        vp, cp, sz, uint, i = ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t, ctypes.c_uint, ctypes.c_int
        err = ctypes.POINTER(ctypes.c_void_p)  # char** error_out; the text is freed with toolgate_string_free
        self._signatures = {
            "toolgate_version": (uint, []),
            "toolgate_version_string": (cp, []),
            "toolgate_status_name": (cp, [i]),
            "toolgate_options_new": (vp, []),
            "toolgate_options_free": (None, [vp]),
            "toolgate_options_set_home": (i, [vp, cp, err]),
            "toolgate_options_set_log_dir": (i, [vp, cp, err]),
            "toolgate_open_file": (i, [cp, vp, ctypes.POINTER(vp), err]),
            "toolgate_open_default": (i, [vp, ctypes.POINTER(vp), err]),
            "toolgate_close": (None, [vp]),
            "toolgate_evaluate_ex": (i, [vp, cp, cp, sz, uint, ctypes.POINTER(vp)]),
            "toolgate_decision_json": (cp, [vp]),
            "toolgate_decision_message": (cp, [vp]),
            "toolgate_decision_free": (None, [vp]),
            "toolgate_string_free": (None, [vp]),
        }
        for name, (restype, argtypes) in self._signatures.items():
            fn = getattr(lib, name)
            fn.restype, fn.argtypes = restype, argtypes
        self._engine = None
        options = lib.toolgate_options_new()
        if not options:
            raise MemoryError("toolgate_options_new")
        try:
            if home is not None:
                self._call_status(lib.toolgate_options_set_home, options, os.fsencode(home))
            if log_dir is not None:
                self._call_status(lib.toolgate_options_set_log_dir, options, os.fsencode(log_dir))
            engine = ctypes.c_void_p()
            if policy_path is not None:
                self._call_status(lib.toolgate_open_file, os.fsencode(policy_path), options, ctypes.byref(engine))
            else:
                self._call_status(lib.toolgate_open_default, options, ctypes.byref(engine))
            self._engine = engine
        finally:
            lib.toolgate_options_free(options)

    def _call_status(self, fn, *args):
        error = ctypes.c_void_p()
        status = fn(*args, ctypes.byref(error))
        if status != 0:
            text = ctypes.string_at(error.value).decode() if error.value else ""
            self._lib.toolgate_string_free(error)
            raise ToolgateError(f"{self._lib.toolgate_status_name(status).decode()}: {text}")

    def check(self, hook_input, agent_id=None):
        """Judges one call (a dict in Claude Code's PreToolUse form, or canonical).

        Returns (verdict, message for the model, the decision as a dict)."""
        text = json.dumps(hook_input).encode()
        decision = ctypes.c_void_p()
        verdict = self._lib.toolgate_evaluate_ex(
            self._engine, agent_id.encode() if agent_id else None, text, len(text), 0, ctypes.byref(decision))
        try:
            if not decision.value:  # not even a decision could be allocated: still a deny
                return DENY, "toolgate: out of memory", {}
            message = self._lib.toolgate_decision_message(decision).decode()
            full = json.loads(self._lib.toolgate_decision_json(decision))
        finally:
            self._lib.toolgate_decision_free(decision)
        return verdict, message, full

    def close(self):
        if self._engine is not None:
            self._lib.toolgate_close(self._engine)
            self._engine = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# ---- the agent's tools -------------------------------------------------------

class Tools:
    """What the agent can do. Every call goes through the gate first."""

    def __init__(self, gate, agent_id, project, home):
        self.gate, self.agent_id, self.project, self.home = gate, agent_id, project, home
        self.session = "agent-loop-demo"
        self.count = 0

    def run_shell(self, command):
        env = dict(os.environ, HOME=self.home)  # the shell's ~ is the policy's ~
        done = subprocess.run(["bash", "-c", command], cwd=self.project, env=env, capture_output=True, text=True,
                              timeout=30)
        return f"exit {done.returncode}\n{done.stdout}{done.stderr}"

    def write_file(self, file_path, content):
        path = os.path.join(self.project, file_path)
        with open(path, "w", encoding="utf-8") as f:
            f.write(content)
        return f"wrote {len(content.encode())} bytes to {path}"

    def call(self, name, args):
        """onPreToolUse: ask toolgate, then run the tool only on allow."""
        self.count += 1
        hook_input = {
            "hook_event_name": "PreToolUse",
            "session_id": self.session,
            "cwd": self.project,
            "tool_name": name,
            "tool_input": args,
            "tool_use_id": f"call-{self.count}",
        }
        verdict, message, decision = self.gate.check(hook_input, self.agent_id)
        record = {"tool": name, "input": args, "verdict": VERDICT_NAMES.get(verdict, "deny"), "message": message,
                  "ran": False}
        if verdict == ALLOW:
            if name == "Bash":
                record["result"] = self.run_shell(args["command"])
            elif name == "Write":
                record["result"] = self.write_file(args["file_path"], args["content"])
            else:
                record["result"] = f"unknown tool {name}"
            record["ran"] = record["result"] != f"unknown tool {name}"
        else:
            # What the model sees instead of the tool's output: the reason, so it can adapt.
            record["result"] = message
        return record


# ---- a scripted "model" ------------------------------------------------------

def scripted_model(home):
    """Yields tool calls; receives each result. Reacts to a refusal like a model would."""
    result = yield ("Bash", {"command": "echo 'hello from the agent' > notes.txt && cat notes.txt"})
    result = yield ("Bash", {"command": "echo 'ssh-ed25519 AAAA attacker' >> ~/.ssh/authorized_keys"})
    if result["verdict"] != "allow":
        # The reason came back: keep the key inside the project instead.
        result = yield ("Write", {"file_path": "deploy-key.pub", "content": "ssh-ed25519 AAAA attacker\n"})
    result = yield ("Write", {"file_path": os.path.join(home, ".ssh", "config"), "content": "Host *\n"})
    result = yield ("Bash", {"command": "git push origin main"})
    del result


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lib", help="path to libtoolgate.so (default: the system's)")
    parser.add_argument("--policy", help="policy file (default: the library's embedded default)")
    parser.add_argument("--agent", default="claude-dev", help="agent identity the loop vouches for")
    parser.add_argument("--workdir", help="directory for project/ and home/ (default: a new temporary one)")
    parser.add_argument("--log-dir", help="write every decision to a decision log in this directory")
    parser.add_argument("--transcript", help="write the tool calls and results as JSON here")
    args = parser.parse_args()

    created = args.workdir is None
    workdir = os.path.realpath(args.workdir or tempfile.mkdtemp(prefix="toolgate-agent-"))
    try:
        return run(args, workdir)
    finally:
        if created:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args, workdir):
    project, home = os.path.join(workdir, "project"), os.path.join(workdir, "home")
    os.makedirs(project, exist_ok=True)
    os.makedirs(os.path.join(home, ".ssh"), exist_ok=True)

    try:
        gate = Toolgate(args.lib, args.policy, home=home, log_dir=args.log_dir)
    except (OSError, ToolgateError) as e:
        print(f"agent_loop: cannot open toolgate: {e}", file=sys.stderr)
        return 1
    transcript = []
    with gate:
        tools = Tools(gate, args.agent, project, home)
        model = scripted_model(home)
        request = next(model)
        for _ in range(20):  # bounded, like any agent loop should be
            record = tools.call(*request)
            transcript.append(record)
            status = "ran" if record["ran"] else "NOT run"
            print(f"{record['verdict']:5} {record['tool']} {json.dumps(record['input'])} -> {status}")
            print(f"      model sees: {' | '.join(record['result'].strip().splitlines())[:200]}")
            try:
                request = model.send(record)
            except StopIteration:
                break
    if args.transcript:
        with open(args.transcript, "w", encoding="utf-8") as f:
            json.dump({"workdir": workdir, "calls": transcript}, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
