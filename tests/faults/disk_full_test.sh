#!/usr/bin/env bash
# Fault: the decision log's file system is full. On a 1 MiB tmpfs mounted in
# a private mount namespace (so nothing is left mounted whatever happens):
#   * through the daemon (`toolgate serve --log DIR` on the tmpfs) and the shim;
#   * in-process (`toolgate hook --no-daemon --log DIR` on the tmpfs);
# every call, even one the policy allows, is denied with a reason naming the
# audit log, never allowed unlogged; once space returns, calls are allowed
# and logged again, and `toolgate log verify` passes on every log.
# Usage: disk_full_test.sh TOOLGATE TOOLGATE_HOOK SOURCE_ROOT
if [ -z "${TG_FAULTS_MOUNT_NS:-}" ]; then
  if [ "$(id -u)" != 0 ] || ! command -v unshare >/dev/null; then
    echo "skip: needs root and unshare for a private tmpfs"
    exit 77
  fi
  TG_FAULTS_MOUNT_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
tg=$1
shim=$2
root=$3
. "$root/tests/faults/lib.sh"

disk="$tmp/disk"
mkdir -p "$disk"
mount -t tmpfs -o size=1m,mode=0700 toolgate-faults "$disk" || { echo "cannot mount a tmpfs"; exit 1; }
cleanup_hooks+=("umount -l '$disk' 2>/dev/null")
cp -r "$root/tests/faults/policy.json" "$root/tests/faults/packs" "$tmp/"
sock="$tmp/run/toolgate.sock"
err="$tmp/serve.err"

fill() {  # fills the tmpfs to the last byte
  dd if=/dev/zero of="$disk/filler" bs=4096 2>/dev/null
  dd if=/dev/zero of="$disk/filler2" bs=1 2>/dev/null
  expect_eq "the disk is full" 0 "$(df --output=avail -B1 "$disk" | tail -1 | tr -d ' ')"
}
free_space() { rm -f "$disk/filler" "$disk/filler2"; }

# decide ID [COMMAND] -> "verdict<TAB>message" from the daemon
decide() {
  client "$sock" "{\"v\":1,\"id\":\"$1\",\"op\":\"decide\",\"call\":{\"agent_id\":\"claude-dev\",\"call_id\":\"$1\",\"tool_name\":\"Bash\",\"cwd\":\"/home/dev/project\",\"tool_input\":{\"command\":\"${2:-git status}\"}}}" |
    python3 -c 'import json,sys
try:
    d = json.load(sys.stdin)["decision"]
    print(d["verdict"] + "\t" + d.get("message", "") + " " + json.dumps(d.get("error", "")))
except Exception as e: print("no answer\t" + str(e))'
}

# ---- through the daemon ------------------------------------------------------------
start_daemon "$sock" "$err" --policy "$tmp/policy.json" --log "$disk/log" || exit 1
expect_eq "before: allowed" allow "$(decide before-1 | cut -f1)"
fill
# The log file's last page may still hold a record or two: those calls are
# logged and may be allowed. Once a record does not fit, every call is denied.
allowed_ids="before-1"
first_deny=0
for i in $(seq 1 10); do
  r=$(decide "fill-$i")
  if [ "$(printf '%s' "$r" | cut -f1)" = allow ]; then allowed_ids="$allowed_ids fill-$i"; else first_deny=$i; break; fi
done
if [ "$first_deny" -gt 0 ]; then ok "disk full: denied from call $first_deny on"; else bad "disk full: 10 calls allowed"; fi
denied=0
for i in 1 2 3 4 5 6 7 8; do
  r=$(decide "full-$i")
  if [ "$(printf '%s' "$r" | cut -f1)" = deny ] && printf '%s' "$r" | grep -q "audit log"; then
    denied=$((denied + 1))
  else
    echo "  full-$i: $r"
  fi
done
expect_eq "disk full: 8 of 8 calls denied naming the audit log" 8 "$denied"
decide full-x | cut -f2 | head -c 300; echo
out=$("$shim" --client claude --socket "$sock" --agent claude-dev < <(claude_input Bash '{"command":"git status"}' full-shim) 2>/dev/null)
code=$?
expect_eq "disk full: the shim answers deny" deny "$(hook_verdict "$out" "$code")"
expect_match "disk full: the shim's reason names the audit log" "audit log" "$(hook_reason "$out")"
if grep -q "No space left on device" "$err"; then ok "disk full: the daemon logs ENOSPC"
else bad "disk full: ENOSPC not in the daemon's log: $(tail -3 "$err")"; fi
if kill -0 "$daemon" 2>/dev/null; then ok "disk full: the daemon is still running"; else bad "the daemon died"; fi

free_space
expect_eq "space back: allowed again" allow "$(decide after-1 | cut -f1)"
expect_eq "space back: a deny is logged too" deny "$(decide after-2 'cat ~/.ssh/id_rsa' | cut -f1)"
out=$("$shim" --client claude --socket "$sock" --agent claude-dev < <(claude_input Bash '{"command":"git status"}' after-shim) 2>/dev/null)
expect_eq "space back: the shim is allowed" allow "$(hook_verdict "$out" $?)"
stop_daemon
expect_eq "daemon stops cleanly" 0 "$stop_code"
"$tg" log verify "$disk/log" > "$tmp/verify.out" 2>&1
expect_eq "daemon log verifies after the disk filled and emptied" 0 "$?"
ids=$(python3 - "$disk/log/decisions.jsonl" <<'PY'
import json, sys
print(" ".join(json.loads(l)["call"]["call_id"] for l in open(sys.argv[1]) if '"type":"decision"' in l))
PY
)
expect_eq "the log holds exactly the decisions answered from a written record" \
  "$allowed_ids after-1 after-2 after-shim" "$ids"

# ---- in-process: toolgate hook --no-daemon --log ------------------------------------
hook_log="$disk/hooklog"
mkdir -p "$hook_log"
hook() {  # TOOL_USE_ID -> sets out, code
  out=$("$tg" hook --no-daemon --client claude --agent claude-dev --policy "$tmp/policy.json" --log "$hook_log" \
    < <(claude_input Bash '{"command":"git status"}' "$1") 2>>"$tmp/hook.err")
  code=$?
}
hook h-before
expect_eq "in-process, before: allowed" allow "$(hook_verdict "$out" "$code")"
fill
hook_allowed="h-before"
for i in $(seq 1 10); do
  hook "h-fill-$i"
  [ "$(hook_verdict "$out" "$code")" = allow ] || break
  hook_allowed="$hook_allowed h-fill-$i"
done
for i in 1 2 3; do
  hook "h-full-$i"
  expect_eq "in-process, disk full ($i): denied" deny "$(hook_verdict "$out" "$code")"
done
expect_match "in-process, disk full: the reason names the audit log" "audit log" "$(hook_reason "$out")"
hook_reason "$out" | head -c 300; echo
# The fast shim without a daemon runs the full hook: the same answer.
out=$("$shim" --client claude --socket "$tmp/none.sock" --agent claude-dev --policy "$tmp/policy.json" --log "$hook_log" \
  < <(claude_input Bash '{"command":"git status"}' h-full-shim) 2>/dev/null)
expect_eq "in-process via toolgate-hook, disk full: denied" deny "$(hook_verdict "$out" $?)"
free_space
hook h-after
expect_eq "in-process, space back: allowed" allow "$(hook_verdict "$out" "$code")"
"$tg" log verify "$hook_log" > "$tmp/verify.out" 2>&1
expect_eq "in-process log verifies" 0 "$?"
ids=$(python3 - "$hook_log/decisions.jsonl" <<'PY'
import json, sys
print(" ".join(json.loads(l)["call"]["call_id"] for l in open(sys.argv[1]) if '"type":"decision"' in l))
PY
)
expect_eq "the in-process log holds exactly the allowed calls" "$hook_allowed h-after" "$ids"
finish disk_full
