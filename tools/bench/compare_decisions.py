# Compares two toolgate binaries' decisions, byte for byte minus latency fields:
# `toolgate check --json --explain` over the decision corpus under the embedded
# default and the example policies, plus any (policy, calls.jsonl) pairs given.
# Usage: compare_decisions.py OLD NEW [POLICY CALLS.jsonl]...
import json, subprocess, sys, os
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
old, new = sys.argv[1], sys.argv[2]
cases = [json.loads(l) for l in open(os.path.join(ROOT, 'tests/corpus/corpus.jsonl')) if l.strip()]
policies = [None] + [os.path.join(ROOT, 'rules/examples', p) for p in ('default.json', 'strict.json', 'with-packs.json')]
extra = sys.argv[3:]  # (policy, calls.jsonl) pairs
def strip(o):
    if isinstance(o, dict):
        return {k: strip(v) for k, v in o.items() if 'latency' not in k and not k.endswith('_us') and not k.endswith('_ns') and k not in ('elapsed_ms','duration_ms','ts','time')}
    if isinstance(o, list):
        return [strip(x) for x in o]
    return o
def run(b, pol, call):
    args = [b, 'check', '--json', '--explain']
    if pol: args += ['--policy', pol]
    r = subprocess.run(args, input=json.dumps(call).encode(), capture_output=True, cwd='/tmp')
    try:
        out = strip(json.loads(r.stdout))
    except Exception:
        out = r.stdout.decode(errors='replace')
    return (r.returncode, out, r.stderr.decode(errors='replace'))
n = diff = 0
jobs = [(p, c['call']) for p in policies for c in cases]
for i in range(0, len(extra), 2):
    jobs += [(extra[i], json.loads(l)) for l in open(extra[i+1]) if l.strip()]
for pol, call in jobs:
    a, b = run(old, pol, call), run(new, pol, call)
    n += 1
    if a != b:
        diff += 1
        if diff <= 5: print('DIFF', pol, json.dumps(call)[:200], '\n old', str(a)[:600], '\n new', str(b)[:600])
print(f'{n} decisions compared, {diff} differ')
