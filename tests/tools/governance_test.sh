#!/usr/bin/env bash
# End-to-end checks of session governance through `toolgate serve`: task
# phases set with `toolgate phase`, temporary grants with `toolgate grant`
# (created, used, listed, revoked, expired), the decision log's "session"
# records, and refusals (unknown phase, bad grant, a peer of another uid).
# Usage: governance_test.sh TOOLGATE
set -u
tg=$1
source "$(dirname "$0")/daemon_test_lib.sh"

cat > "$tmp/policy.json" <<'JSON'
{
  "toolgate_policy": 1,
  "settings": {"resolve_symlinks": false},
  "default_profile": "writer",
  "profiles": {
    "writer": {
      "default": "deny",
      "tools": {"allow": ["Read", "Write"]},
      "fs": {"read": ["/srv/**"], "deny": ["/srv/secret/**"]},
      "phases": {"research": {}, "writing": {"fs": {"write": ["/srv/blog/**"]}}}
    }
  }
}
JSON
sock="$tmp/run/toolgate.sock"

write_call() {  # SESSION PATH -> verdict
  client "{\"v\":1,\"id\":1,\"op\":\"decide\",\"call\":{\"session_id\":\"$1\",\"tool_name\":\"Write\",\"cwd\":\"/srv\",\"tool_input\":{\"file_path\":\"$2\",\"content\":\"x\"}}}" |
    python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["decision"]["verdict"])'
}

# The socket's group is nogroup (mode 0660), so that the check below can
# connect as uid/gid 65534 without loosening the mode: the daemon restores a
# loosened mode within a second, which raced a `chmod 666` here.
group_args=()
if [ "$(id -u)" = 0 ] && getent group nogroup >/dev/null; then group_args=(--group nogroup); fi
"$tg" serve --policy "$tmp/policy.json" --socket "$sock" --log "$tmp/log" "${group_args[@]}" 2>>"$tmp/serve.err" &
daemon=$!
wait_for_daemon || exit 1

# ---- phases -------------------------------------------------------------------
expect_eq "no phase: blog write" deny "$(write_call s1 /srv/blog/a.md)"
"$tg" phase set --session s1 --socket "$sock" writing >/dev/null; expect_eq "phase set exit" 0 $?
expect_eq "phase get" writing "$("$tg" phase get --session s1 --socket "$sock")"
expect_eq "writing: blog write" allow "$(write_call s1 /srv/blog/a.md)"
expect_eq "writing: other session" deny "$(write_call s2 /srv/blog/a.md)"
# The call's own "phase" is replaced by the session's: an agent cannot pick one.
v=$(client '{"v":1,"id":1,"op":"decide","call":{"session_id":"s2","phase":"writing","tool_name":"Write","cwd":"/srv","tool_input":{"file_path":"/srv/blog/a.md","content":"x"}}}' |
    python3 -c 'import json,sys; print(json.loads(sys.stdin.read())["decision"]["verdict"])')
expect_eq "a call cannot choose its phase" deny "$v"
"$tg" phase set --session s1 --socket "$sock" chat 2>"$tmp/err"; expect_eq "unknown phase exit" 64 $?
grep -q "no profile of the policy declares phase 'chat'" "$tmp/err" && ok || bad "unknown phase message: $(cat "$tmp/err")"
"$tg" phase set --session s1 --socket "$sock" research >/dev/null
expect_eq "research: blog write" deny "$(write_call s1 /srv/blog/a.md)"

# ---- temporary grants -----------------------------------------------------------
# 6 s: long enough for the checks below on a loaded machine (the sanitized build runs
# every command 2-3 times slower), short enough to wait out.
granted_at=$(date +%s%N)
out=$("$tg" grant --session s1 --socket "$sock" --for 6s --json fs.write:/srv/drafts/**); expect_eq "grant exit" 0 $?
id=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
expect_eq "grant: drafts write" allow "$(write_call s1 /srv/drafts/x.md)"
expect_eq "grant: policy deny still wins" deny "$(write_call s1 /srv/secret/x)"
# shellcheck disable=SC2016
client '{"v":1,"id":1,"op":"decide","call":{"session_id":"s1","tool_name":"Write","cwd":"/srv","tool_input":{"file_path":"/srv/drafts/y.md","content":"x"}}}' |
  grep -q "\"temporary:$id\"" && ok || bad "the decision names the temporary grant"
"$tg" grant list --session s1 --socket "$sock" | grep -q "$id  fs.write:/srv/drafts/\*\*" && ok || bad "grant list"
"$tg" grant --session s1 --socket "$sock" --for 25h tool:X 2>/dev/null; expect_eq "25h refused" 64 $?
"$tg" grant --session s1 --socket "$sock" --for 1m disk:/x 2>/dev/null; expect_eq "bad kind refused" 64 $?
"$tg" grant --session s1 --socket "$sock" --for soon tool:X 2>/dev/null; expect_eq "bad duration" 64 $?
# Expiry: after 6 s the grant is gone; the expiry is logged at the next request.
left_ms=$(( 6300 - ($(date +%s%N) - granted_at) / 1000000 ))
[ "$left_ms" -gt 0 ] && sleep "$(printf '%d.%03d' $((left_ms / 1000)) $((left_ms % 1000)))"
expect_eq "expired: drafts write" deny "$(write_call s1 /srv/drafts/x.md)"
expect_eq "expired: list empty" "" "$("$tg" grant list --session s1 --socket "$sock")"
out=$("$tg" grant --session s1 --socket "$sock" --for 10m --json tool:Edit)
id2=$(echo "$out" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
"$tg" grant revoke --session s1 --socket "$sock" "$id2" >/dev/null; expect_eq "revoke exit" 0 $?
"$tg" grant revoke --session s1 --socket "$sock" "$id2" 2>/dev/null; expect_eq "revoke again" 64 $?

# ---- a peer of another uid may read but not change ---------------------------------
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null && [ ${#group_args[@]} -gt 0 ]; then
  chmod 755 "$tmp" "$tmp/run"
  setpriv --reuid=65534 --regid=65534 --clear-groups "$tg" phase set --session s1 --socket "$sock" writing 2>/dev/null
  expect_eq "other uid: phase set forbidden" 77 $?
  setpriv --reuid=65534 --regid=65534 --clear-groups "$tg" grant --session s1 --socket "$sock" --for 1m tool:X 2>/dev/null
  expect_eq "other uid: grant forbidden" 77 $?
  expect_eq "other uid: phase get" research "$(setpriv --reuid=65534 --regid=65534 --clear-groups "$tg" phase get --session s1 --socket "$sock")"
fi

# ---- the log: session records, decisions carrying the phase, a verifying chain ----------
kill -TERM "$daemon"; wait "$daemon"; daemon=""
"$tg" log verify "$tmp/log" >/dev/null 2>&1; expect_eq "log verifies" 0 $?
python3 - "$tmp/log" > "$tmp/summary" <<'PY'
import glob, json, sys
events, phases = [], set()
for f in sorted(glob.glob(sys.argv[1] + "/*.jsonl")):
    for line in open(f):
        r = json.loads(line)
        if r["type"] == "session":
            events.append(r["event"])
        elif r["type"] == "decision":
            phases.add(r["call"]["phase"])
print(" ".join(sorted(set(events))))
print(" ".join(sorted(phases)))
PY
expect_eq "session events logged" "grant_created grant_expired grant_revoked phase_set" "$(sed -n 1p "$tmp/summary")"
expect_eq "phases in decision records" " research writing" "$(sed -n 2p "$tmp/summary")"

# ---- credentials scoped to phases (toolgate run --phase) -------------------------
cat > "$tmp/fin.json" <<'JSON'
{"toolgate_policy": 1, "profiles": {"finance": {"default": "deny",
  "phases": {"bill-processing": {}, "chat": {}},
  "sandbox": {"tier": "process", "credentials": {"BANK_TOKEN": {"from_env": "BANK_TOKEN", "phases": ["bill-processing"]},
                                                 "PLAIN": {"from_env": "PLAIN"}}}}}}
JSON
run_notes() { BANK_TOKEN=x PLAIN=y timeout 20 "$tg" run --policy "$tmp/fin.json" --profile finance --verbose "$@" -- /bin/true 2>&1 | grep '^toolgate run: credential'; }
notes=$(run_notes --phase bill-processing)
if echo "$notes" | grep -q "credential PLAIN is set"; then  # the process tier could be set up here
  echo "$notes" | grep -q "credential BANK_TOKEN is set" && ok || bad "bill-processing: BANK_TOKEN not injected: $notes"
  run_notes --phase chat | grep -q "credential BANK_TOKEN is not set" && ok || bad "chat: BANK_TOKEN injected"
  run_notes | grep -q "credential BANK_TOKEN is not set" && ok || bad "no phase: BANK_TOKEN injected"
fi
timeout 20 "$tg" run --policy "$tmp/fin.json" --profile finance --phase payroll -- /bin/true 2>/dev/null
expect_eq "run in an undeclared phase" 78 $?

echo "governance: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
