#!/bin/bash
# The real Gemini CLI, headless, against a scripted mock model on 127.0.0.1, with
# `toolgate install gemini` as the only hook setup. The mock makes the agent run an
# allowed shell command, then one that writes ~/.ssh/authorized_keys, then answer.
# Asserts: the allowed command ran, the denied one left no trace, and the deny reason
# is in the tool result the CLI sent back to the model. Three runs: project scope
# (.gemini/settings.json in a trusted folder), user scope (~/.gemini/settings.json, then
# uninstalled again), and a policy that no longer loads (both calls must be blocked).
#
# usage: gemini_test.sh TOOLGATE [SOURCE_ROOT]
set -u

TOOLGATE=${1:-${TOOLGATE:-}}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
gemini=$here/node_modules/.bin/gemini

if [ ! -e "$gemini" ]; then
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

work=$(mktemp -d "${TMPDIR:-/tmp}/tg-gemini.XXXXXX") || fail "mktemp"
mock_pid=""
cleanup() {
  if [ -n "$mock_pid" ]; then
    kill "$mock_pid" 2>/dev/null
    wait "$mock_pid" 2>/dev/null
  fi
  [ -z "${KEEP_WORK:-}" ] && rm -rf "$work"
}
trap cleanup EXIT

# One mock for both runs: it picks its answer from the request's own history.
cat > "$work/script.json" <<'EOF'
{"turns": [
  {"tool": "run_shell_command",
   "args": {"command": "echo ok > allowed.txt", "description": "write a file in the project"}},
  {"tool": "run_shell_command",
   "args": {"command": "mkdir -p ~/.ssh && echo ssh-ed25519 AAAAmock attacker >> ~/.ssh/authorized_keys",
            "description": "add a key"}},
  {"text": "Finished."}
]}
EOF
python3 "$here/mock_gemini.py" serve --script "$work/script.json" --log "$work/requests.jsonl" \
  --port-file "$work/port" --lifetime 150 &
mock_pid=$!
for _ in $(seq 100); do
  [ -s "$work/port" ] && break
  sleep 0.1
done
[ -s "$work/port" ] || fail "the mock model server did not start"
port=$(cat "$work/port")

denied_cmd='mkdir -p ~/.ssh && echo ssh-ed25519 AAAAmock attacker >> ~/.ssh/authorized_keys'

# expected_reason CWD: the reason toolgate gives the model for the denied call, straight
# from the engine (the hook maps Gemini's run_shell_command to the Bash tool).
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
# run_case NAME SCOPE [broken-policy]: a fresh HOME and project; install; one headless run;
# assertions. With broken-policy, install names a copy of the example policy which is then
# corrupted: the hook cannot judge anything, so both calls must be blocked (fail closed).
run_case() {
  local name=$1 scope=$2 broken=${3:-}
  local d=$work/$name
  local home=$d/home proj=$d/proj
  mkdir -p "$home/.gemini" "$proj"
  # What talks to the mock (auth type; the base URL is an env var) and keeps the CLI
  # quiet (no usage statistics, telemetry or update checks). Not hook configuration.
  cat > "$home/.gemini/settings.json" <<'EOF'
{
  "security": {"auth": {"selectedType": "gemini-api-key"}},
  "privacy": {"usageStatisticsEnabled": false},
  "telemetry": {"enabled": false},
  "general": {"enableAutoUpdate": false, "enableAutoUpdateNotification": false}
}
EOF
  cp "$home/.gemini/settings.json" "$d/settings.before"
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
  local dir=$proj
  [ "$scope" = user ] && dir=$home
  (cd "$proj" && HOME=$home "$TOOLGATE" install gemini --scope "$scope" --dir "$dir" --agent claude-dev "${policy[@]}") \
    > "$d/install.out" 2>&1 || { cat "$d/install.out" >&2; fail "$name: toolgate install gemini failed"; }
  local cfg=$dir/.gemini/settings.json
  grep -q "hook --client gemini" "$cfg" || fail "$name: $cfg has no toolgate hook"
  if [ "$scope" = user ]; then
    python3 -c 'import json, sys; d = json.load(open(sys.argv[1])); sys.exit(d["security"]["auth"]["selectedType"] != "gemini-api-key" or d["general"]["enableAutoUpdate"] is not False)' "$cfg" ||
      fail "$name: install lost the existing settings in $cfg"
  fi
  [ -n "$broken" ] && printf '{"toolgate_policy": 1, "profiles": ' > "$d/policy.json"

  # Project hooks load only in a trusted folder (GEMINI_CLI_TRUST_WORKSPACE; --skip-trust is
  # applied after the settings are read). User hooks load with --skip-trust.
  local trust=(--skip-trust) trust_env=()
  [ "$scope" = project ] && trust=() trust_env=(GEMINI_CLI_TRUST_WORKSPACE=true)
  local before=0
  [ -f "$work/requests.jsonl" ] && before=$(wc -l < "$work/requests.jsonl")
  (cd "$proj" && env -i PATH="/usr/local/bin:/usr/bin:/bin" HOME="$home" TERM=dumb \
    GOOGLE_GEMINI_BASE_URL="http://127.0.0.1:$port" GEMINI_API_KEY=mock-key-not-a-secret \
    GEMINI_CLI_NO_RELAUNCH=true NO_BROWSER=true "${trust_env[@]}" \
    timeout -k 5 50 "$gemini" -p "Set up the project." --yolo -m gemini-2.5-flash "${trust[@]}") \
    > "$d/stdout" 2> "$d/stderr" < /dev/null
  local rc=$?
  if [ $rc -ne 0 ]; then
    tail -n 30 "$d/stderr" >&2
    fail "$name: gemini exited with $rc"
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
    case $r0 in *blocked*) fail "$name: the allowed call was blocked: $r0" ;; esac
  fi
  case $r1 in
    *"$reason"*) ;;
    *) fail "$name: the deny reason did not reach the model; tool result: $r1; expected: $reason" ;;
  esac
  python3 "$here/mock_gemini.py" result "$d/requests.jsonl" 2 >/dev/null 2>&1 &&
    fail "$name: a third tool result appeared"
  echo "ok $name ($scope scope): the model got: $r1"

  # Uninstall takes exactly toolgate's entries out again.
  if [ "$scope" = user ]; then
    HOME=$home "$TOOLGATE" uninstall gemini --scope user --dir "$home" > "$d/uninstall.out" 2>&1 ||
      { cat "$d/uninstall.out" >&2; fail "$name: toolgate uninstall gemini failed"; }
    python3 -c 'import json, sys; a, b = (json.load(open(f)) for f in sys.argv[1:3]); a.pop("hooks", None) if a.get("hooks") == {} else None; sys.exit(a != b)' \
      "$cfg" "$d/settings.before" || fail "$name: after uninstall $cfg differs from the settings before install"
  fi
}

run_case project project
run_case user user
run_case failclosed project broken-policy
echo "PASS"
