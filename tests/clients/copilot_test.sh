#!/bin/bash
# The real GitHub Copilot CLI, in prompt mode and offline (COPILOT_OFFLINE with a BYOK
# OpenAI-compatible provider: the mock model on 127.0.0.1, no GitHub account), with
# `toolgate install copilot` as the only hook setup. The mock makes the agent run an
# allowed shell command, then one that writes ~/.ssh/authorized_keys, then answer.
# Asserts: the allowed command ran, the denied one left no trace, and the deny reason
# is in the tool result the CLI sent back to the model. Three runs: project scope
# (.github/hooks/toolgate.json, folder trusted with --trust-folder), user scope
# (~/.copilot/hooks/toolgate.json, which needs no trust step; then uninstalled again), and
# a policy that no longer loads (both calls must be blocked).
#
# usage: copilot_test.sh TOOLGATE [SOURCE_ROOT]
set -u

TOOLGATE=${1:-${TOOLGATE:-}}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
copilot=$here/node_modules/.bin/copilot
native=$here/node_modules/@github/copilot-linux-x64/copilot

if [ ! -e "$copilot" ]; then
  echo "SKIP: $here/node_modules is missing; run: npm ci --prefix tests/clients"
  exit 77
fi

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

[ -n "$TOOLGATE" ] && [ -x "$TOOLGATE" ] || fail "usage: $0 TOOLGATE (the toolgate binary)"
TOOLGATE=$(cd "$(dirname "$TOOLGATE")" && pwd)/$(basename "$TOOLGATE")
src=$(cd "${2:-$here/../..}" && pwd)
[ -x "$native" ] || fail "$native is missing: the pinned Copilot CLI has no linux-x64 binary here"

# Run in a network namespace of our own when the system allows it: only loopback
# exists there, so the CLI provably cannot reach anything but the mock.
# TG_CLIENT_NETNS=off runs without it.
if [ -z "${TG_CLIENT_NETNS:-}" ] && command -v unshare >/dev/null && command -v ip >/dev/null &&
  unshare -rn true 2>/dev/null; then
  export TG_CLIENT_NETNS=inside
  exec unshare -rn bash -c 'ip link set lo up && exec bash "$0" "$@"' "$0" "$TOOLGATE" "$src"
fi
if [ "${TG_CLIENT_NETNS:-}" = inside ]; then
  echo "running in a private network namespace (loopback only)"
else
  echo "running in the host's network namespace (TG_CLIENT_NETNS=off, or no unprivileged user namespaces)"
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/tg-copilot.XXXXXX") || fail "mktemp"
mock_pid=""
cleanup() {
  if [ -n "$mock_pid" ]; then
    kill "$mock_pid" 2>/dev/null
    wait "$mock_pid" 2>/dev/null
  fi
  [ -z "${KEEP_WORK:-}" ] && rm -rf "$work"
}
trap cleanup EXIT

# The native binary unpacks its runtime (about 235 MB) on first use; do it once, into the
# scratch dir, so both runs share it and nothing is written outside $work.
pkgcache=$work/pkgcache
COPILOT_SEA_EXTRACT_ONLY=1 COPILOT_PKG_CACHE_HOME=$pkgcache timeout -k 5 60 "$native" > "$work/extract.log" 2>&1 ||
  { cat "$work/extract.log" >&2; fail "the Copilot CLI could not unpack its runtime"; }

# One mock for both runs: it picks its answer from the request's own history.
cat > "$work/script.json" <<'EOF'
{"turns": [
  {"tool": "bash",
   "args": {"command": "echo ok > allowed.txt", "description": "write a file in the project"}},
  {"tool": "bash",
   "args": {"command": "mkdir -p ~/.ssh && echo ssh-ed25519 AAAAmock attacker >> ~/.ssh/authorized_keys",
            "description": "add a key"}},
  {"text": "Finished."}
]}
EOF
python3 "$here/mock_gemini.py" serve --script "$work/script.json" --log "$work/requests.jsonl" \
  --port-file "$work/port" --model gpt-4.1 --lifetime 150 &
mock_pid=$!
for _ in $(seq 100); do
  [ -s "$work/port" ] && break
  sleep 0.1
done
[ -s "$work/port" ] || fail "the mock model server did not start"
port=$(cat "$work/port")

denied_cmd='mkdir -p ~/.ssh && echo ssh-ed25519 AAAAmock attacker >> ~/.ssh/authorized_keys'

# expected_reason CWD: the reason toolgate gives the model for the denied call, straight
# from the engine (the hook maps Copilot's bash tool to the Bash tool).
expected_reason() {
  python3 - "$TOOLGATE" "$1" "$denied_cmd" <<'EOF'
import json, subprocess, sys
tg, cwd, cmd = sys.argv[1:4]
call = {"tool_name": "Bash", "cwd": cwd, "tool_input": {"command": cmd}}
p = subprocess.run([tg, "check", "--agent", "claude-dev", "--json"],
                   input=json.dumps(call), capture_output=True, text=True, timeout=20)
d = json.loads(p.stdout)
if d.get("verdict") != "deny" or not d.get("message"):
    sys.exit("the engine does not deny the test's denied command: " + p.stdout)
print(d["message"])
EOF
}

# run_case NAME SCOPE [broken-policy]: a fresh HOME and project; install; one prompt-mode run;
# assertions. With broken-policy, install names a copy of the example policy which is then
# corrupted: the hook cannot judge anything, so both calls must be blocked (fail closed).
run_case() {
  local name=$1 scope=$2 broken=${3:-}
  local d=$work/$name
  local home=$d/home proj=$d/proj
  mkdir -p "$home" "$proj"
  git -C "$proj" init -q
  local reason policy=()
  if [ -n "$broken" ]; then
    cp "$src/rules/examples/default.json" "$d/policy.json" || fail "$name: no example policy under $src"
    policy=(--policy "$d/policy.json")
    reason="the policy failed to load"
  else
    reason=$(expected_reason "$proj") || fail "$name: toolgate check did not deny the denied command"
  fi

  # The only hook setup.
  local dir=$proj cfg=$proj/.github/hooks/toolgate.json
  [ "$scope" = user ] && dir=$home cfg=$home/.copilot/hooks/toolgate.json
  (cd "$proj" && HOME=$home "$TOOLGATE" install copilot --scope "$scope" --dir "$dir" --agent claude-dev "${policy[@]}") \
    > "$d/install.out" 2>&1 || { cat "$d/install.out" >&2; fail "$name: toolgate install copilot failed"; }
  grep -q "hook --client copilot" "$cfg" || fail "$name: $cfg has no toolgate hook"
  [ -n "$broken" ] && printf '{"toolgate_policy": 1, "profiles": ' > "$d/policy.json"

  # Project hooks load only in a trusted folder; --trust-folder trusts it for this one run.
  local trust=()
  [ "$scope" = project ] && trust=(--trust-folder)
  local before=0
  [ -f "$work/requests.jsonl" ] && before=$(wc -l < "$work/requests.jsonl")
  (cd "$proj" && env -i PATH="/usr/local/bin:/usr/bin:/bin" HOME="$home" TERM=dumb NO_COLOR=1 \
    COPILOT_PKG_CACHE_HOME="$pkgcache" COPILOT_OFFLINE=true COPILOT_AUTO_UPDATE=false \
    COPILOT_PROVIDER_BASE_URL="http://127.0.0.1:$port/v1" COPILOT_PROVIDER_API_KEY=mock-key-not-a-secret \
    COPILOT_MODEL=gpt-4.1 \
    timeout -k 5 50 "$copilot" -p "Set up the project." --allow-all-tools --no-auto-update \
    --disable-client-telemetry "${trust[@]}") > "$d/stdout" 2> "$d/stderr" < /dev/null
  local rc=$?
  if [ $rc -ne 0 ]; then
    tail -n 30 "$d/stdout" "$d/stderr" >&2
    fail "$name: copilot exited with $rc"
  fi

  # This run's requests only.
  tail -n "+$((before + 1))" "$work/requests.jsonl" > "$d/requests.jsonl"
  [ ! -e "$home/.ssh/authorized_keys" ] || fail "$name: the denied command ran: $home/.ssh/authorized_keys exists"
  local r0 r1
  r0=$(python3 "$here/mock_gemini.py" result "$d/requests.jsonl" 0) || fail "$name: no tool result for the first call"
  r1=$(python3 "$here/mock_gemini.py" result "$d/requests.jsonl" 1) || fail "$name: no tool result for the second call"
  if [ -n "$broken" ]; then
    [ ! -e "$proj/allowed.txt" ] || fail "$name: a call ran although the policy could not be loaded"
    case $r0 in *"$reason"*) ;; *) fail "$name: the first call's result does not say why: $r0" ;; esac
  else
    [ "$(cat "$proj/allowed.txt" 2>/dev/null)" = ok ] || fail "$name: the allowed command did not run"
    case $r0 in *Denied*) fail "$name: the allowed call was denied: $r0" ;; esac
  fi
  case $r1 in
    *"$reason"*) ;;
    *) fail "$name: the deny reason did not reach the model; tool result: $r1; expected: $reason" ;;
  esac
  python3 "$here/mock_gemini.py" result "$d/requests.jsonl" 2 >/dev/null 2>&1 &&
    fail "$name: a third tool result appeared"
  echo "ok $name ($scope scope): the model got: $r1"

  # Uninstall takes toolgate's hook file out again (it held nothing else).
  if [ "$scope" = user ]; then
    HOME=$home "$TOOLGATE" uninstall copilot --scope user --dir "$home" > "$d/uninstall.out" 2>&1 ||
      { cat "$d/uninstall.out" >&2; fail "$name: toolgate uninstall copilot failed"; }
    if [ -e "$cfg" ] && grep -q "hook --client copilot" "$cfg"; then
      fail "$name: after uninstall $cfg still runs toolgate"
    fi
  fi
}

run_case project project
run_case user user
run_case failclosed project broken-policy
echo "PASS"
