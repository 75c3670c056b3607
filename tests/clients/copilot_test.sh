#!/bin/bash
# The real GitHub Copilot CLI, in prompt mode and offline (COPILOT_OFFLINE with a BYOK
# OpenAI-compatible provider: the mock model on 127.0.0.1; no GitHub account), with
# `toolgate install copilot` as the only hook setup (see offline_case.sh for the calls the
# model makes and what is asserted). Three cases: project scope (.github/hooks/toolgate.json,
# folder trusted with --trust-folder), user scope (~/.copilot/hooks/toolgate.json, which
# needs no trust step; uninstalled again afterwards), and a policy that stops loading after
# install (every call must be blocked).
#
# usage: copilot_test.sh TOOLGATE [SCRATCH_PARENT]  (the source root: $TOOLGATE_SOURCE_ROOT, else
#                                                   this script's ../..; scratch: default $TMPDIR)
set -u

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
copilot=$here/node_modules/.bin/copilot
native=$here/node_modules/@github/copilot-linux-x64/copilot
if [ ! -e "$copilot" ]; then
  echo "SKIP: $here/node_modules is missing; run: npm ci --prefix tests/clients"
  exit 77
fi

client=copilot
blocked_word=Denied   # "Denied by preToolUse hook: <reason>"
model_sees_rewrite=1   # modifiedArgs replace the call in the conversation too
. "$here/offline_case.sh"
need_toolgate "${1:-${TOOLGATE:-}}"
[ -x "$native" ] || fail "$native is missing: the pinned Copilot CLI has no linux-x64 binary here"
src=$(cd "${TOOLGATE_SOURCE_ROOT:-$here/../..}" && pwd)
scratch_parent=${2:-${TMPDIR:-/tmp}}
scratch_parent=$(mkdir -p "$scratch_parent" && cd "$scratch_parent" && pwd) || fail "no scratch dir $2"
enter_private_netns "$0" "$TOOLGATE" "$scratch_parent"
make_work

# The native binary unpacks its runtime (about 235 MB) on first use; do it once, into the
# scratch dir, so the cases share it and nothing is written outside $work.
pkgcache=$work/pkgcache
COPILOT_SEA_EXTRACT_ONLY=1 COPILOT_PKG_CACHE_HOME=$pkgcache timeout -k 5 60 "$native" > "$work/extract.log" 2>&1 ||
  { cat "$work/extract.log" >&2; fail "the Copilot CLI could not unpack its runtime"; }

client_home() { :; }   # everything that talks to the mock is an env var

client_config() {
  if [ "$1" = user ]; then echo "$3/.copilot/hooks/toolgate.json"; else echo "$2/.github/hooks/toolgate.json"; fi
}

# Project hooks load only in a trusted folder; --trust-folder trusts it for this one run.
client_run() {
  local scope=$2 proj=$3 home=$4 port=$5
  local trust=()
  [ "$scope" = project ] && trust=(--trust-folder)
  (cd "$proj" && env -i PATH="$(client_path)" HOME="$home" TERM=dumb NO_COLOR=1 \
    TOOLGATE_SOCKET="$hook_socket" \
    COPILOT_PKG_CACHE_HOME="$pkgcache" COPILOT_OFFLINE=true COPILOT_AUTO_UPDATE=false \
    COPILOT_PROVIDER_BASE_URL="http://127.0.0.1:$port/v1" COPILOT_PROVIDER_API_KEY=mock-key-not-a-secret \
    COPILOT_MODEL=gpt-4.1 \
    timeout -k 5 40 "$copilot" -p "Set up the project." --allow-all-tools --no-auto-update \
    --disable-client-telemetry "${trust[@]}") > "$6" 2> "$7" < /dev/null
}

run_case project project
run_case user user
run_case failclosed project broken-policy
run_case daemon project daemon
echo "PASS"
