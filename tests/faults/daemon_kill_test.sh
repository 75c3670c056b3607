#!/usr/bin/env bash
# Fault: the daemon is killed (SIGKILL) while it judges a call, or stops
# answering (SIGSTOP). The waiting shim — the static toolgate-hook and the full
# `toolgate hook` — answers deny with a reason that names what failed, within
# its --timeout-ms; the daemon's log still verifies; a restarted daemon on the
# same socket and log serves again and continues the chain.
# Usage: daemon_kill_test.sh TOOLGATE TOOLGATE_HOOK SOURCE_ROOT
tg=$1
shim=$2
root=$3
. "$root/tests/faults/lib.sh"

cp -r "$root/tests/faults/policy.json" "$root/tests/faults/packs" "$tmp/"
sock="$tmp/run/toolgate.sock"
err="$tmp/serve.err"
timeout_ms=3000

claude_input SlowTool '{}' toolu_slow > "$tmp/slow.json"
claude_input Bash '{"command":"git status"}' toolu_git > "$tmp/git.json"

# run_shim NAME BINARY... < input: sets out, code, elapsed (ms)
run_shim() {
  local t0
  shift
  t0=$(now_ms)
  out=$("$@" --client claude --socket "$sock" --agent claude-dev --timeout-ms "$timeout_ms" 2>"$tmp/shim.err")
  code=$?
  elapsed=$(($(now_ms) - t0))
}

for which in toolgate-hook "toolgate hook"; do
  if [ "$which" = toolgate-hook ]; then cmd=("$shim"); else cmd=("$tg" hook); fi
  start_daemon "$sock" "$err" --policy "$tmp/policy.json" --log "$tmp/log" || exit 1
  run_shim "$which" "${cmd[@]}" < "$tmp/git.json"
  expect_eq "$which: the daemon allows git status" allow "$(hook_verdict "$out" "$code")"

  # ---- SIGKILL while the daemon judges the call -------------------------------
  # The slow rule spins for up to 8 s, so the daemon is inside the request when
  # it is killed 300 ms in; the shim must not wait for its own timeout.
  ( run_shim "$which" "${cmd[@]}" < "$tmp/slow.json"
    printf '%s\n%s\n%s\n' "$code" "$elapsed" "$out" > "$tmp/killed.out" ) &
  waiter=$!
  pids+=("$waiter")
  sleep 0.3
  t_kill=$(now_ms)
  kill -KILL "$daemon"
  wait "$daemon" 2>/dev/null
  wait "$waiter"
  waited=$(($(now_ms) - t_kill))
  code=$(sed -n 1p "$tmp/killed.out")
  elapsed=$(sed -n 2p "$tmp/killed.out")
  out=$(sed -n '3,$p' "$tmp/killed.out")
  expect_eq "$which: killed daemon -> deny" deny "$(hook_verdict "$out" "$code")"
  expect_match "$which: the reason names the daemon" "toolgate daemon closed the connection before answering" \
    "$(hook_reason "$out")"
  if [ "$waited" -lt "$timeout_ms" ]; then ok "$which: answered ${waited} ms after the kill (call took ${elapsed} ms, timeout ${timeout_ms} ms)"
  else bad "$which: answered ${waited} ms after the kill, timeout ${timeout_ms} ms"; fi
  echo "figure: $which answers $waited ms after SIGKILL" >> "$tmp/figures"

  # The killed daemon's log: every record it wrote verifies.
  "$tg" log verify "$tmp/log" > "$tmp/verify.out" 2>&1
  v=$?
  if [ "$v" -eq 0 ] || [ "$v" -eq 2 ]; then ok "$which: the killed daemon's log verifies (exit $v)"
  else bad "$which: log verify after SIGKILL: exit $v: $(cat "$tmp/verify.out")"; fi

  # ---- a stale socket: nobody listens, so the hook judges in-process ------------
  if [ -S "$sock" ]; then ok "$which: the killed daemon left its socket file"; else bad "$which: no stale socket"; fi
  run_shim "$which" "${cmd[@]}" < "$tmp/git.json"
  expect_eq "$which: stale socket -> judged in-process (allow)" allow "$(hook_verdict "$out" "$code")"

  # ---- a restarted daemon on the same socket and log serves again ---------------
  start_daemon "$sock" "$err" --policy "$tmp/policy.json" --log "$tmp/log" || exit 1
  ok "$which: restarted on the same socket"
  run_shim "$which" "${cmd[@]}" < "$tmp/git.json"
  expect_eq "$which: the restarted daemon allows git status" allow "$(hook_verdict "$out" "$code")"
  before=$(grep -c '"call_id":"toolu_git"' "$tmp/log/decisions.jsonl")

  # ---- a daemon that stops answering (SIGSTOP): deny at the shim's timeout ------
  kill -STOP "$daemon"
  timeout_ms=700
  run_shim "$which" "${cmd[@]}" < "$tmp/git.json"
  kill -CONT "$daemon"
  expect_eq "$which: silent daemon -> deny" deny "$(hook_verdict "$out" "$code")"
  expect_match "$which: the reason names the timeout" "did not (answer|accept the connection) within 700 ms" \
    "$(hook_reason "$out")"
  if [ "$elapsed" -ge 650 ] && [ "$elapsed" -lt 2700 ]; then ok "$which: denied after ${elapsed} ms (timeout 700 ms)"
  else bad "$which: silent daemon answered after ${elapsed} ms, timeout 700 ms"; fi
  echo "figure: $which answers a silent daemon after $elapsed ms (timeout 700 ms)" >> "$tmp/figures"
  timeout_ms=3000

  # The continued daemon judges the timed-out request too (the shim has gone:
  # its answer is lost, its record is not) and keeps serving.
  run_shim "$which" "${cmd[@]}" < "$tmp/git.json"
  expect_eq "$which: after SIGCONT the daemon serves" allow "$(hook_verdict "$out" "$code")"
  stop_daemon
expect_eq "$which: graceful stop" 0 "$stop_code"
  "$tg" log verify "$tmp/log" > "$tmp/verify.out" 2>&1
  expect_eq "$which: the log verifies across kill and restart" 0 "$?"
  after=$(grep -c '"call_id":"toolu_git"' "$tmp/log/decisions.jsonl")
  expect_eq "$which: both later git calls are in the log" 2 "$((after - before))"
  grep -q '"type":"recovery"' "$tmp/log/decisions.jsonl" && echo "(a torn tail was recovered)"
done

cat "$tmp/figures"
finish daemon_kill
