#!/usr/bin/env bash
# Real-client test: OpenAI Codex CLI (`codex exec`) driven offline by the mock model server
# through a custom model provider speaking the Responses API.
# The only hook setup is `toolgate install codex` (user scope: $CODEX_HOME), which must also
# record Codex's hook trust, since Codex silently skips untrusted hooks. Codex runs with its own
# sandbox off (danger-full-access), so toolgate is the only gate.
# 1. The scripted model makes Codex run an allowed command, then a denied one (a force push),
#    then answer. Asserts: the allowed command ran, and inside toolgate's sandbox (the hook
#    rewrote it into `toolgate run`; sandbox_probe.sh shows where it ran), the denied one did
#    not (the remote's main did not move), and toolgate's deny reason is in the tool output
#    Codex sent to the model.
# 2. Fail closed: installed with a policy file that no longer loads when Codex runs, even the
#    allowed command is refused (Codex itself runs the call when a hook fails), and the model
#    is told so.
# 3. Context on a post event: with the prompt-injection-guard pack, a command whose output holds
#    "Ignore previous instructions ..." gets toolgate's warning (PostToolUse additionalContext)
#    into the request Codex sends to the model next.
# usage: codex_test.sh [TOOLGATE] [SCRATCH_PARENT]   (SCRATCH_PARENT must not be under /tmp)
set -uo pipefail
. "$(dirname "$0")/lib.sh"
isolate_network "$0" "$@"

TOOLGATE=${1:-${TOOLGATE:-$clients_dir/../../build/tools/toolgate/toolgate}}
scratch_parent=${2:-$clients_dir/../../build}
skip_unless_installed

codex=$clients_dir/node_modules/.bin/codex
[ -x "$codex" ] || fail "no codex under $clients_dir/node_modules"
TOOLGATE=$(abs_path "$TOOLGATE")
[ -x "$TOOLGATE" ] || fail "toolgate binary not found: $TOOLGATE"
PATH=$(client_path) command -v node > /dev/null || fail "node is not installed (codex's launcher is a node script)"

make_work "$scratch_parent" codex
make_git_project
shell_tool=exec_command shell_key=cmd
allowed_cmd='echo ok > allowed.txt'
denied_cmd='git push --force origin main'

# new_codex_home NAME: a fresh $codex_home whose config.toml names the running mock as the only
# model provider; toolgate install must merge its hooks' trust into this file.
new_codex_home() {
  codex_home=$work/$1
  mkdir -p "$codex_home"
  cat > "$codex_home/config.toml" <<EOF
# written by codex_test.sh: the mock model server as the only provider
model = "mock-model"
model_provider = "mock"
check_for_update_on_startup = false

[model_providers.mock]
name = "mock"
base_url = "http://127.0.0.1:$mock_port/v1"
env_key = "MOCK_MODEL_API_KEY"
wire_api = "responses"
request_max_retries = 0
stream_max_retries = 0

[analytics]
enabled = false

[otel]
exporter = "none"
EOF
  cenv=(env -i "PATH=$(client_path)" "HOME=$home" "USER=${USER:-root}" "TERM=dumb" "LANG=C.UTF-8"
    "CODEX_HOME=$codex_home" "MOCK_MODEL_API_KEY=test-not-a-key")
}

# install DIR ARGS...: the only hook setup, `toolgate install codex --scope user`.
install() {
  local dir=$1
  shift
  (cd "$dir" && "${cenv[@]}" "$TOOLGATE" install codex --scope user "$@") > "$work/install.out" 2>&1 ||
    { cat "$work/install.out"; fail "toolgate install codex $* failed"; }
  cat "$work/install.out"
}

# run_codex DIR: one `codex exec` session in DIR, bounded in time.
run_codex() {
  (cd "$1" && timeout 90 "${cenv[@]}" "$codex" exec --skip-git-repo-check \
    --sandbox danger-full-access --cd "$1" "Do the task." \
    < /dev/null > "$work/client.out" 2> "$work/client.err")
  local status=$?
  [ $status -eq 0 ] || { show_run; fail "codex exited with $status"; }
  grep -q 'hook: PreToolUse' "$work/client.err" ||
    { show_run; fail "Codex ran no PreToolUse hook (untrusted or not installed)"; }
}

# --- 1. allowed runs (inside the sandbox: the hook rewrote it), denied does not, the model
# gets the reason
probe_tag=$(basename "$work")
start_mock allow-deny "$(shell_script "$allowed_cmd && $(sandbox_probe_cmd "$probe_tag")" "$denied_cmd")"
new_codex_home codex-home
install "$proj" --agent claude-dev
run_codex "$proj"

[ "$(cat "$proj/allowed.txt" 2>/dev/null)" = ok ] || { show_run; fail "the allowed command did not run"; }
why=$(check_sandbox_probe "$proj" "$probe_tag" "$(tool_result 0)") || { show_run; fail "Codex did not run the allowed command as the hook rewrote it: $why"; }
[ "$(git -C "$work/remote.git" rev-parse main)" = "$remote_head" ] ||
  { show_run; fail "the denied force push ran: the remote's main moved"; }

want=$(expected_deny "$proj" "$denied_cmd") || fail "toolgate check did not deny: $denied_cmd"
want=${want#toolgate: }
got=$(tool_result 1) || { show_run; fail "Codex never sent the denied call's result to the model"; }
case "$got" in
  *"$want"*) ;;
  *) show_run; fail "the deny reason is not in Codex's next request: want '$want', got '$got'" ;;
esac
first=$(tool_result 0)
case "$first" in
  *"blocked"*) show_run; fail "the allowed call was blocked: $first" ;;
esac
echo "ok: codex ran the allowed command in the $(sandbox_tier) sandbox, was refused the force push, and told the model: $got"

# --- 2. fail closed: the policy file breaks after install
proj2=$work/proj2
mkdir -p "$proj2"
copy_policy "$work/policy.json"
start_mock fail-closed "$(shell_script "$allowed_cmd")"
new_codex_home codex-home2
install "$proj2" --agent claude-dev --policy "$work/policy.json"
break_policy "$work/policy.json"
run_codex "$proj2"

[ ! -e "$proj2/allowed.txt" ] || { show_run; fail "a call ran although the policy does not load"; }
got=$(tool_result 0) || { show_run; fail "Codex never sent the refused call's result to the model"; }
case "$got" in
  *policy*) ;;
  *) show_run; fail "the model was not told that the policy failed: '$got'" ;;
esac
echo "ok: with an unloadable policy codex was refused even the allowed command: $got"

# --- 3. a PostToolUse hook adds context: the model is warned about text addressed to it
proj3=$work/proj3
mkdir -p "$proj3"
write_injected_notes "$proj3"
start_mock post-context "$(shell_script 'cat notes.txt')"
new_codex_home codex-home3
install "$proj3" --agent claude-dev --policy "$clients_dir/../../rules/examples/with-packs.json"
run_codex "$proj3"
check_post_context Bash
echo "ok: codex's PostToolUse hook told the model the command's output holds text addressed to it"
