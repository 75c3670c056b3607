# Proof that an allowed shell call ran inside toolgate's sandbox, not merely that it ran
# (sourced by lib.sh and offline_case.sh, not run).
#
# The developer profile (agent claude-dev) says shell commands run sandboxed, so the hook
# answers allow with the command rewritten to `toolgate run … -- /bin/bash -c '<original>'`.
# A client that ignored the rewrite would still run the command, so the command itself looks
# at where it runs and leaves the answer in the project:
#   - it writes /tmp/tg-probe-TAG and copies it into probe.txt: the policy grants /tmp, and
#     the namespace tier gives the sandbox a /tmp of its own, so the write succeeds but the
#     file must not appear on the host;
#   - it appends $TOOLGATE_SANDBOX, which only `toolgate run` sets (to the tier it built),
#     and its own PID, which is 1 in the sandbox's PID namespace;
#   - it prints probe.txt, so the tool result the client sends the model carries it too.
# Every part is allowed by the policy (the project and /tmp are write-granted), so the hook
# answers allow and the proof rests on the sandbox alone.

# sandbox_probe_cmd TAG: the probe command (TAG: unique per run, so runs never see each
# other's /tmp files).
sandbox_probe_cmd() {
  echo "echo sandboxed > /tmp/tg-probe-$1 && cat /tmp/tg-probe-$1 > probe.txt && echo \"\$TOOLGATE_SANDBOX \$\$\" >> probe.txt && cat probe.txt"
}

# sandbox_tier: the tier `toolgate run --tier auto` builds on this host (from `toolgate doctor`).
sandbox_tier() {
  "$TOOLGATE" doctor 2>/dev/null | sed -n 's/^tier auto picks: *//p'
}

# check_sandbox_probe PROJ TAG RESULT: prints nothing and returns 0 when the probe ran in the
# sandbox and RESULT (the tool result the model got for it) holds its output; else prints why
# and returns 1. Removes a /tmp/tg-probe-TAG that leaked to the host.
check_sandbox_probe() {
  local proj=$1 tag=$2 result=$3 tier got leaked="" inside=""
  tier=$(sandbox_tier)
  got=$(cat "$proj/probe.txt" 2>/dev/null)
  if [ -e "/tmp/tg-probe-$tag" ]; then
    leaked=1
    rm -f "/tmp/tg-probe-$tag"
  fi
  case $tier in
    namespace)
      [ "$got" = "$(printf 'sandboxed\nnamespace 1')" ] && [ -z "$leaked" ] && inside=1
      ;;
    process)  # no private /tmp and no PID namespace in this tier: the tier's name is the proof
      case $got in "$(printf 'sandboxed\nprocess ')"*) inside=1 ;; esac
      ;;
    *)
      echo "no sandbox tier works on this host (toolgate doctor: '$tier')"
      return 1
      ;;
  esac
  if [ -z "$inside" ]; then
    echo "the allowed shell command did not run in toolgate's $tier sandbox:" \
      "probe.txt holds '${got//$'\n'/\\n}' (want 'sandboxed\\n$tier ...')" \
      "${leaked:+and /tmp/tg-probe-$tag appeared on the host}"
    return 1
  fi
  case $result in
    *sandboxed*"$tier "*) return 0 ;;
  esac
  echo "the model did not get the probe's output from the $tier sandbox: '$result'"
  return 1
}
