#!/bin/bash
# The real Gemini CLI, headless, against a scripted mock model on 127.0.0.1, with
# `toolgate install gemini` as the only hook setup (see offline_case.sh for the calls the
# model makes and what is asserted). Three cases: project scope (.gemini/settings.json in
# a trusted folder), user scope (~/.gemini/settings.json, uninstalled again afterwards),
# and a policy that stops loading after install (every call must be blocked).
#
# usage: gemini_test.sh TOOLGATE [SCRATCH_PARENT]   (the source root: $TOOLGATE_SOURCE_ROOT, else
#                                                   this script's ../..; scratch: default $TMPDIR)
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
gemini=$here/node_modules/.bin/gemini
if [ ! -e "$gemini" ]; then
  echo "SKIP: $here/node_modules is missing; run: npm ci --prefix tests/clients"
  exit 77
fi

client=gemini
blocked_word=blocked   # "Tool execution blocked: <reason>"
model_sees_rewrite=""   # the conversation keeps the model's own command; the sandbox probe shows what ran
. "$here/offline_case.sh"
need_toolgate "${1:-${TOOLGATE:-}}"
src=$(cd "${TOOLGATE_SOURCE_ROOT:-$here/../..}" && pwd)
scratch_parent=${2:-${TMPDIR:-/tmp}}
scratch_parent=$(mkdir -p "$scratch_parent" && cd "$scratch_parent" && pwd) || fail "no scratch dir $2"
enter_private_netns "$0" "$TOOLGATE" "$scratch_parent"
make_work

# What talks to the mock (the auth type; the base URL is an env var) and keeps the CLI
# quiet (no usage statistics, telemetry or update checks). Not hook configuration.
client_home() {
  mkdir -p "$1/.gemini"
  cat > "$1/.gemini/settings.json" <<'JSON'
{
  "security": {"auth": {"selectedType": "gemini-api-key"}},
  "privacy": {"usageStatisticsEnabled": false},
  "telemetry": {"enabled": false},
  "general": {"enableAutoUpdate": false, "enableAutoUpdateNotification": false}
}
JSON
}

client_config() {
  if [ "$1" = user ]; then echo "$3/.gemini/settings.json"; else echo "$2/.gemini/settings.json"; fi
}

# Project hooks load only in a trusted folder (GEMINI_CLI_TRUST_WORKSPACE; --skip-trust is
# applied after the settings are read, so it would skip them). User hooks load with --skip-trust.
client_run() {
  local scope=$2 proj=$3 home=$4 port=$5
  local trust=(--skip-trust) trust_env=()
  [ "$scope" = project ] && trust=() trust_env=(GEMINI_CLI_TRUST_WORKSPACE=true)
  (cd "$proj" && env -i PATH="$(client_path)" HOME="$home" TERM=dumb \
    TOOLGATE_SOCKET="$hook_socket" \
    GOOGLE_GEMINI_BASE_URL="http://127.0.0.1:$port" GEMINI_API_KEY=mock-key-not-a-secret \
    GEMINI_CLI_NO_RELAUNCH=true NO_BROWSER=true "${trust_env[@]}" \
    timeout -k 5 40 "$gemini" -p "Set up the project." --yolo -m gemini-2.5-flash "${trust[@]}") \
    > "$6" 2> "$7" < /dev/null
}

run_case project project
run_case user user
run_case failclosed project broken-policy
run_case daemon project daemon
echo "PASS"
