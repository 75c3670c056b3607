#!/usr/bin/env bash
# hooks/examples/agent_loop.py through ctypes: the allowed tool calls ran, the
# denied ones did not, and the model was given the deny reason.
# Usage: agent_loop_test.sh LIBTOOLGATE.so SOURCE_ROOT TOOLGATE
set -u
lib=$1
root=$2
tg=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
expect() {  # NAME PYTHON-EXPRESSION over t (the transcript)
  if python3 -c "import json,sys; t=json.load(open(sys.argv[1])); sys.exit(0 if ($2) else 1)" "$tmp/t.json"; then :;
  else fail=1; echo "FAIL $1: $2"; fi
}

# In a sanitized build (meson sets TOOLGATE_SANITIZER_RUNTIME) the uninstrumented
# interpreter that loads the sanitized library gets the sanitizer runtime first,
# without leak checking (python keeps its own objects at exit by design).
agent_loop() {
  if [ -n "${TOOLGATE_SANITIZER_RUNTIME:-}" ]; then
    LD_PRELOAD=$TOOLGATE_SANITIZER_RUNTIME ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1 \
      python3 "$root/hooks/examples/agent_loop.py" "$@"
  else
    python3 "$root/hooks/examples/agent_loop.py" "$@"
  fi
}

out=$(agent_loop --lib "$lib" --workdir "$tmp/w" --log-dir "$tmp/log" \
      --transcript "$tmp/t.json" 2>&1); code=$?
[ $code -eq 0 ] || { echo "FAIL: agent_loop.py exited $code"; printf '%s\n' "$out"; exit 1; }
printf '%s\n' "$out"

# Allowed: the shell command ran and wrote its file in the project.
[ "$(cat "$tmp/w/project/notes.txt" 2>/dev/null)" = "hello from the agent" ] || { fail=1; echo "FAIL: notes.txt not written"; }
expect "first call allowed and ran" 't["calls"][0]["verdict"] == "allow" and t["calls"][0]["ran"]'
expect "its output went back to the model" '"hello from the agent" in t["calls"][0]["result"]'

# Denied: nothing reached ~/.ssh, neither through the shell nor through Write.
[ ! -e "$tmp/w/home/.ssh/authorized_keys" ] || { fail=1; echo "FAIL: the denied shell command ran"; }
[ ! -e "$tmp/w/home/.ssh/config" ] || { fail=1; echo "FAIL: the denied Write ran"; }
expect "shell write to ~/.ssh denied, not run" 't["calls"][1]["verdict"] == "deny" and not t["calls"][1]["ran"]'
expect "the model got the reason" '"blocked by policy" in t["calls"][1]["result"] and ".ssh/authorized_keys" in t["calls"][1]["result"]'
expect "Write to ~/.ssh denied, not run" 't["calls"][3]["verdict"] == "deny" and not t["calls"][3]["ran"]'

# The model corrected itself after the deny: the key went into the project.
[ -f "$tmp/w/project/deploy-key.pub" ] || { fail=1; echo "FAIL: the corrected Write did not run"; }
expect "corrected call allowed" 't["calls"][2]["verdict"] == "allow" and t["calls"][2]["ran"]'

# Ask is not a yes: nobody is there to answer.
expect "git push asks and does not run" 't["calls"][4]["verdict"] == "ask" and not t["calls"][4]["ran"]'

# Every decision was logged, before the tool ran.
lines=$(wc -l < "$tmp/log/decisions.jsonl" 2>/dev/null || echo 0)
[ "$lines" -eq 5 ] || { fail=1; echo "FAIL: $lines decision records, expected 5"; }
# ... in a chain the CLI verifies, with the embedding process as the peer.
"$tg" log verify "$tmp/log" > "$tmp/verify.out" 2>&1 || { fail=1; echo "FAIL: toolgate log verify:"; cat "$tmp/verify.out"; }
"$tg" log query --json "$tmp/log" > "$tmp/query.out" 2>&1
python3 - "$tmp/query.out" <<'PY' || { fail=1; echo "FAIL: logged records"; head -c 2000 "$tmp/query.out"; }
import json, sys
records = [json.loads(line) for line in open(sys.argv[1]) if line.strip()]
verdicts = [r.get("verdict") for r in records]
assert verdicts == ["allow", "deny", "allow", "deny", "ask"], verdicts
assert all(r["agent"]["via"] == "in-process" and r["agent"]["pid"] > 0 for r in records), records[0]["agent"]
PY

# Another policy, as a file: strict.json grants no shell and no file writes.
agent_loop --lib "$lib" --policy "$root/rules/examples/strict.json" \
  --workdir "$tmp/s" --transcript "$tmp/t.json" > /dev/null 2>&1 || { fail=1; echo "FAIL: strict run failed"; }
expect "strict policy: nothing ran" 'not any(c["ran"] for c in t["calls"]) and len(t["calls"]) == 5'
[ ! -e "$tmp/s/project/notes.txt" ] || { fail=1; echo "FAIL: a call ran under strict.json"; }

# A policy that does not load: the loop does not start, and says why.
out=$(agent_loop --lib "$lib" --policy /nonexistent/policy.json --workdir "$tmp/n" 2>&1)
code=$?
[ $code -eq 1 ] || { fail=1; echo "FAIL: broken policy: exit $code"; }
printf '%s' "$out" | grep -q 'cannot open toolgate: policy: /nonexistent/policy.json' ||
  { fail=1; echo "FAIL: broken policy message: $out"; }
exit $fail
