#!/usr/bin/env bash
# Real-client test: Claude Code (`claude -p`) driven offline by the mock model server.
# The only setup is `toolgate install claude` in the project.
# 1. The scripted model makes Claude run an allowed command, then a denied one (a force push),
#    then answer. Asserts: the allowed command ran, and inside toolgate's sandbox (the hook
#    rewrote it into `toolgate run`; sandbox_probe.sh shows where it ran), the denied one did
#    not (the remote's main did not move), and toolgate's deny reason is in the tool result
#    Claude sent to the model.
# 4. Context on a post event: with the prompt-injection-guard pack, a Read whose result holds
#    "Ignore previous instructions ..." gets toolgate's warning (PostToolUse additionalContext)
#    into the request Claude sends to the model next.
# 2. Fail closed: installed with a policy file that no longer loads when Claude runs, even the
#    allowed command is refused, and the model is told so.
# usage: claude_test.sh [TOOLGATE] [SCRATCH_PARENT]
set -uo pipefail
. "$(dirname "$0")/lib.sh"
isolate_network "$0" "$@"

TOOLGATE=${1:-${TOOLGATE:-$clients_dir/../../build/tools/toolgate/toolgate}}
scratch_parent=${2:-${TMPDIR:-/tmp}}
skip_unless_installed

# The native binary that the package's install step would copy over bin/claude.exe; run
# directly so the test does not depend on install scripts having run.
claude=$clients_dir/node_modules/@anthropic-ai/claude-code-linux-x64/claude
[ -x "$claude" ] || claude=$clients_dir/node_modules/.bin/claude
[ -x "$claude" ] || fail "no claude binary under $clients_dir/node_modules"
TOOLGATE=$(abs_path "$TOOLGATE")
[ -x "$TOOLGATE" ] || fail "toolgate binary not found: $TOOLGATE"

make_work "$scratch_parent" claude
make_git_project
shell_tool=Bash shell_key=command
allowed_cmd='echo ok > allowed.txt'
denied_cmd='git push --force origin main'

# client_env: sets $cenv, Claude's environment: nothing from this machine (own HOME, no inherited variables), the mock
# as its API, and no update checks, telemetry, error reports or other non-essential traffic.
client_env() {
  cenv=(env -i "PATH=$(client_path)" "HOME=$home" "USER=${USER:-root}" "TERM=dumb" "LANG=C.UTF-8"
    "ANTHROPIC_BASE_URL=http://127.0.0.1:$mock_port" "ANTHROPIC_API_KEY=sk-ant-test-not-a-key"
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1 DISABLE_AUTOUPDATER=1 DISABLE_TELEMETRY=1
    DISABLE_ERROR_REPORTING=1 DISABLE_BUG_COMMAND=1 CLAUDE_CODE_DISABLE_TERMINAL_TITLE=1
    CLAUDE_CODE_IDE_SKIP_AUTO_INSTALL=1)
}

# install DIR ARGS...: the only setup, `toolgate install claude` run in the project DIR.
install() {
  local dir=$1
  shift
  client_env
  (cd "$dir" && "${cenv[@]}" "$TOOLGATE" install claude --scope project "$@") > "$work/install.out" 2>&1 ||
    { cat "$work/install.out"; fail "toolgate install claude $* failed"; }
  cat "$work/install.out"
}

# run_claude DIR: one headless session in DIR, bounded in time.
run_claude() {
  client_env
  (cd "$1" && timeout 90 "${cenv[@]}" "$claude" -p "Do the task." --output-format json \
    < /dev/null > "$work/client.out" 2> "$work/client.err")
  local status=$?
  [ $status -eq 0 ] || { show_run; fail "claude exited with $status"; }
}

# --- 1. allowed runs (inside the sandbox: the hook rewrote it), denied does not, the model
# gets the reason
probe_tag=$(basename "$work")
start_mock allow-deny "$(shell_script "$allowed_cmd && $(sandbox_probe_cmd "$probe_tag")" "$denied_cmd")"
install "$proj" --agent claude-dev
run_claude "$proj"

[ "$(cat "$proj/allowed.txt" 2>/dev/null)" = ok ] || { show_run; fail "the allowed command did not run"; }
why=$(check_sandbox_probe "$proj" "$probe_tag" "$(tool_result 0)") || { show_run; fail "Claude did not run the allowed command as the hook rewrote it: $why"; }
[ "$(git -C "$work/remote.git" rev-parse main)" = "$remote_head" ] ||
  { show_run; fail "the denied force push ran: the remote's main moved"; }

want=$(expected_deny "$proj" "$denied_cmd") || fail "toolgate check did not deny: $denied_cmd"
want=${want#toolgate: }
got=$(tool_result 1) || { show_run; fail "Claude never sent the denied call's result to the model"; }
case "$got" in
  *"$want"*) ;;
  *) show_run; fail "the deny reason is not in Claude's next request: want '$want', got '$got'" ;;
esac
first=$(tool_result 0)
case "$first" in
  *"blocked"*|*"hook error"*) show_run; fail "the allowed call was blocked: $first" ;;
esac
echo "ok: claude ran the allowed command in the $(sandbox_tier) sandbox, was refused the force push, and told the model: $got"

# --- 2. fail closed: the policy file breaks after install
proj2=$work/proj2
mkdir -p "$proj2"
copy_policy "$work/policy.json"
start_mock fail-closed "$(shell_script "$allowed_cmd")"
install "$proj2" --agent claude-dev --policy "$work/policy.json"
break_policy "$work/policy.json"
run_claude "$proj2"

[ ! -e "$proj2/allowed.txt" ] || { show_run; fail "a call ran although the policy does not load"; }
got=$(tool_result 0) || { show_run; fail "Claude never sent the refused call's result to the model"; }
case "$got" in
  *policy*) ;;
  *) show_run; fail "the model was not told that the policy failed: '$got'" ;;
esac
echo "ok: with an unloadable policy claude was refused even the allowed command: $got"

# --- 3. fail closed when the hook itself cannot run: the toolgate binary that install wrote
# into the hook command is gone. Claude runs a read-only command like this one without asking,
# so only the hook entry's own failure setting stands between it and the call.
proj3=$work/proj3
mkdir -p "$proj3" "$work/bin"
echo "readme-content" > "$proj3/README"
cp "$TOOLGATE" "$work/bin/toolgate"
saved=$TOOLGATE
TOOLGATE=$work/bin/toolgate
start_mock hook-missing "$(shell_script 'cat README')"
install "$proj3" --agent claude-dev
TOOLGATE=$saved
rm "$work/bin/toolgate"
run_claude "$proj3"

got=$(tool_result 0) || { show_run; fail "Claude never sent the call's result to the model"; }
case "$got" in
  *readme-content*) show_run; fail "the call ran although its hook could not run: '$got'" ;;
esac
echo "ok: with the hook's binary gone claude was refused the call: $got"

# --- 4. a PostToolUse hook adds context: the model is warned about text addressed to it
proj4=$work/proj4
mkdir -p "$proj4"
write_injected_notes "$proj4"
start_mock post-context "$(python3 -c 'import json,sys; print(json.dumps({"turns": [{"tool": "Read", "input": {"file_path": sys.argv[1]}}, {"text": "done"}]}))' "$proj4/notes.txt")"
install "$proj4" --agent claude-dev --policy "$clients_dir/../../rules/examples/with-packs.json"
run_claude "$proj4"
check_post_context Read
echo "ok: claude's PostToolUse hook told the model the Read result holds text addressed to it"
